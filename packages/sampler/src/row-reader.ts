import { open } from "node:fs/promises";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { SamplerError } from "./errors.js";
import {
  ConcatSource,
  type DatasetSource,
  JsonFileSource,
  JsonlFileSource,
  ParquetFileSource,
  project,
} from "./sources.js";

/**
 * Random access to rows by dataset index: what the extraction loop needs to fetch a batch of a length-sorted plan.
 * Rows come back in the order asked.
 */
export interface RowReader {
  readonly numRows: number;
  read(indices: ArrayLike<number>): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export interface RowReaderOptions {
  /** Columns to read (default all). */
  columns?: readonly string[];
  /** Decoded Parquet row groups kept in memory (LRU), default 8. */
  cacheRowGroups?: number;
}

/**
 * Opens random access on a local source: Parquet reads (and caches) only the row groups a request touches; JSONL
 * builds a line-offset index in one pass, then reads lines in place; JSON is in memory; folders combine these.
 * Other sources (e.g. a custom Hub provider's) throw `UNSUPPORTED_SOURCE`: open their local files instead.
 */
export async function openRowReader(source: DatasetSource, options: RowReaderOptions = {}): Promise<RowReader> {
  if (source instanceof ParquetFileSource) {
    return ParquetRowReader.open(source, options);
  }
  if (source instanceof JsonlFileSource) {
    return JsonlRowReader.open(source, options);
  }
  if (source instanceof JsonFileSource) {
    const rows = source.load();
    return {
      numRows: rows.length,
      read: async (indices) => Array.from(indices, (i) => project(at(rows, i, source.name), options.columns)),
      close: async () => {},
    };
  }
  if (source instanceof ConcatSource) {
    const parts: RowReader[] = [];
    for (const p of source.parts) {
      parts.push(await openRowReader(p, options));
    }
    return new ConcatRowReader(parts);
  }
  throw new SamplerError("UNSUPPORTED_SOURCE", `no random access for ${source.name}; open its local files instead`);
}

function at(rows: Record<string, unknown>[], i: number, name: string): Record<string, unknown> {
  const row = rows[i];
  if (row === undefined) {
    throw new SamplerError("INVALID_ROW", `row ${i} is out of range (${rows.length} rows)`, { file: name });
  }
  return row;
}

class ParquetRowReader implements RowReader {
  readonly #cache = new Map<number, Promise<Record<string, unknown>[]>>();

  private constructor(
    readonly numRows: number,
    readonly source: ParquetFileSource,
    readonly file: Awaited<ReturnType<typeof asyncBufferFromFile>>,
    readonly metadata: Awaited<ReturnType<ParquetFileSource["metadata"]>>,
    readonly starts: number[],
    readonly options: RowReaderOptions,
  ) {}

  static async open(source: ParquetFileSource, options: RowReaderOptions): Promise<ParquetRowReader> {
    const metadata = await source.metadata();
    const starts: number[] = [0];
    for (const rg of metadata.row_groups) {
      starts.push((starts.at(-1) as number) + Number(rg.num_rows));
    }
    return new ParquetRowReader(
      starts.at(-1) as number,
      source,
      await asyncBufferFromFile(source.file),
      metadata,
      starts,
      options,
    );
  }

  #group(g: number): Promise<Record<string, unknown>[]> {
    const hit = this.#cache.get(g);
    if (hit !== undefined) {
      this.#cache.delete(g);
      this.#cache.set(g, hit);
      return hit;
    }
    const rows = parquetReadObjects({
      file: this.file,
      metadata: this.metadata,
      compressors,
      utf8: true,
      rowStart: this.starts[g] as number,
      rowEnd: this.starts[g + 1] as number,
      ...(this.options.columns ? { columns: [...this.options.columns] } : {}),
    }) as Promise<Record<string, unknown>[]>;
    this.#cache.set(g, rows);
    const limit = Math.max(1, this.options.cacheRowGroups ?? 8);
    while (this.#cache.size > limit) {
      const oldest = this.#cache.keys().next().value as number;
      this.#cache.delete(oldest);
    }
    return rows;
  }

  async read(indices: ArrayLike<number>): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = new Array(indices.length);
    const byGroup = new Map<number, number[]>();
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k] as number;
      if (!(i >= 0 && i < this.numRows)) {
        throw new SamplerError("INVALID_ROW", `row ${i} is out of range (${this.numRows} rows)`, {
          file: this.source.file,
        });
      }
      const g = upperBound(this.starts, i) - 1;
      let list = byGroup.get(g);
      if (list === undefined) {
        list = [];
        byGroup.set(g, list);
      }
      list.push(k);
    }
    for (const [g, ks] of byGroup) {
      const rows = await this.#group(g);
      for (const k of ks) {
        out[k] = rows[(indices[k] as number) - (this.starts[g] as number)] as Record<string, unknown>;
      }
    }
    return out;
  }

  async close(): Promise<void> {
    this.#cache.clear();
  }
}

class JsonlRowReader implements RowReader {
  private constructor(
    readonly source: JsonlFileSource,
    readonly handle: Awaited<ReturnType<typeof open>>,
    readonly starts: Float64Array,
    readonly ends: Float64Array,
    readonly options: RowReaderOptions,
  ) {}

  get numRows(): number {
    return this.starts.length;
  }

  /** One pass over the bytes: start/end of every non-blank line (blank lines are skipped, as the stream does). */
  static async open(source: JsonlFileSource, options: RowReaderOptions): Promise<JsonlRowReader> {
    const handle = await open(source.file, "r");
    const starts: number[] = [];
    const ends: number[] = [];
    const buf = new Uint8Array(1 << 20);
    let pos = 0;
    let lineStart = 0;
    let blank = true;
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) {
        break;
      }
      for (let j = 0; j < bytesRead; j++) {
        const b = buf[j] as number;
        if (b === 0x0a) {
          if (!blank) {
            starts.push(lineStart);
            ends.push(pos + j);
          }
          lineStart = pos + j + 1;
          blank = true;
        } else if (blank && !(b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0b || b === 0x0c)) {
          blank = false;
        }
      }
      pos += bytesRead;
    }
    if (!blank) {
      starts.push(lineStart);
      ends.push(pos);
    }
    return new JsonlRowReader(source, handle, Float64Array.from(starts), Float64Array.from(ends), options);
  }

  async read(indices: ArrayLike<number>): Promise<Record<string, unknown>[]> {
    const decoder = new TextDecoder();
    const out: Record<string, unknown>[] = [];
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k] as number;
      if (!(i >= 0 && i < this.numRows)) {
        throw new SamplerError("INVALID_ROW", `row ${i} is out of range (${this.numRows} rows)`, {
          file: this.source.file,
        });
      }
      const start = this.starts[i] as number;
      const len = (this.ends[i] as number) - start;
      const buf = new Uint8Array(len);
      await this.handle.read(buf, 0, len, start);
      let value: unknown;
      try {
        value = JSON.parse(decoder.decode(buf));
      } catch (error) {
        throw new SamplerError("INVALID_ROW", `not JSON: ${(error as Error).message}`, {
          file: this.source.file,
          row: i,
        });
      }
      out.push(project(value as Record<string, unknown>, this.options.columns));
    }
    return out;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

class ConcatRowReader implements RowReader {
  readonly numRows: number;
  readonly #starts: number[];

  constructor(readonly parts: RowReader[]) {
    this.#starts = [0];
    for (const p of parts) {
      this.#starts.push((this.#starts.at(-1) as number) + p.numRows);
    }
    this.numRows = this.#starts.at(-1) as number;
  }

  async read(indices: ArrayLike<number>): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = new Array(indices.length);
    const byPart = new Map<number, number[]>();
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k] as number;
      if (!(i >= 0 && i < this.numRows)) {
        throw new SamplerError("INVALID_ROW", `row ${i} is out of range (${this.numRows} rows)`);
      }
      const p = upperBound(this.#starts, i) - 1;
      let list = byPart.get(p);
      if (list === undefined) {
        list = [];
        byPart.set(p, list);
      }
      list.push(k);
    }
    for (const [p, ks] of byPart) {
      const base = this.#starts[p] as number;
      const rows = await (this.parts[p] as RowReader).read(ks.map((k) => (indices[k] as number) - base));
      ks.forEach((k, j) => {
        out[k] = rows[j] as Record<string, unknown>;
      });
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.close()));
  }
}

/** First position whose value is > x (values ascending). */
function upperBound(values: readonly number[], x: number): number {
  let a = 0;
  let b = values.length;
  while (a < b) {
    const m = (a + b) >>> 1;
    if ((values[m] as number) <= x) {
      a = m + 1;
    } else {
      b = m;
    }
  }
  return a;
}
