import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { createInterface } from "node:readline";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { type ResolvedDataFiles, resolveDataFiles } from "./data-files.js";
import { SamplerError } from "./errors.js";

/** A run of consecutive rows: `rows[k]` is dataset row `start + k`. */
export interface RowBatch {
  start: number;
  rows: Record<string, unknown>[];
}

/**
 * A dataset read as a stream of row batches in dataset order, with bounded memory (one Parquet row group or
 * `batchRows` JSON lines at a time). Row numbers (`start + k`) are the dataset index the lengths and the logits
 * datasets store.
 */
export interface DatasetSource {
  readonly name: string;
  /** For folders and Hub repos: the split, config and files chosen (see `resolveDataFiles`). */
  readonly dataFiles?: DataFilesInfo;
  /** Column names (Parquet schema; JSON: the keys of the first record). */
  columns(): Promise<string[]>;
  /** Row count when known without a scan (Parquet metadata), else undefined. */
  numRows(): Promise<number | undefined>;
  /** Rows in order; `columns` projects (Parquet reads only those columns). */
  batches(options?: { columns?: readonly string[]; batchRows?: number }): AsyncIterable<RowBatch>;
}

/**
 * Where Hub datasets come from: the CLI implements it with `@logitpack/hub-stream` (list the repo's data files,
 * download them into the cache, then `openLocalDataset` on the files). Injected so this package reads local files
 * on its own and tests need no network.
 */
export interface HubDatasetProvider {
  open(repoId: string, options: { split?: string; config?: string; revision?: string }): Promise<DatasetSource>;
}

export const DEFAULT_BATCH_ROWS = 1024;

/** Local Parquet file, read row group by row group (text columns as UTF-8 strings). */
export class ParquetFileSource implements DatasetSource {
  readonly name: string;
  #meta: Promise<Awaited<ReturnType<typeof parquetMetadataAsync>>> | undefined;

  constructor(readonly file: string) {
    this.name = file;
  }

  /** The file's Parquet metadata (read once). */
  metadata(): Promise<Awaited<ReturnType<typeof parquetMetadataAsync>>> {
    this.#meta ??= asyncBufferFromFile(this.file).then((buf) =>
      parquetMetadataAsync(buf).catch((error: unknown) =>
        Promise.reject(parquetError(this.file, buf.byteLength, error)),
      ),
    );
    return this.#meta;
  }

  async columns(): Promise<string[]> {
    const md = await this.metadata();
    if (Number(md.num_rows) === 0) {
      throw emptyError(this.file);
    }
    return parquetSchema(md).children.map((c) => c.element.name);
  }

  async numRows(): Promise<number> {
    return Number((await this.metadata()).num_rows);
  }

  async *batches(options: { columns?: readonly string[]; batchRows?: number } = {}): AsyncIterable<RowBatch> {
    const file = await asyncBufferFromFile(this.file);
    const metadata = await this.metadata();
    const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
    let rowStart = 0;
    for (const rg of metadata.row_groups) {
      const rowEnd = rowStart + Number(rg.num_rows);
      let rows: Record<string, unknown>[];
      try {
        rows = (await parquetReadObjects({
          file,
          metadata,
          compressors,
          utf8: true,
          rowStart,
          rowEnd,
          ...(options.columns ? { columns: [...options.columns] } : {}),
        })) as Record<string, unknown>[];
      } catch (error) {
        throw new SamplerError(
          "INVALID_ROW",
          `cannot read rows ${rowStart}-${rowEnd}: ${(error as Error).message}`,
          {
            file: this.file,
          },
          { cause: error },
        );
      }
      for (let k = 0; k < rows.length; k += batchRows) {
        yield { start: rowStart + k, rows: rows.slice(k, k + batchRows) };
      }
      rowStart = rowEnd;
    }
  }
}

/** Local JSON Lines file, one object per line, streamed. */
export class JsonlFileSource implements DatasetSource {
  readonly name: string;

  constructor(readonly file: string) {
    this.name = file;
  }

  async columns(): Promise<string[]> {
    for await (const b of this.batches({ batchRows: 1 })) {
      return Object.keys(b.rows[0] ?? {});
    }
    throw emptyError(this.file);
  }

  async numRows(): Promise<undefined> {
    return undefined;
  }

  async *batches(options: { columns?: readonly string[]; batchRows?: number } = {}): AsyncIterable<RowBatch> {
    const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
    const lines = createInterface({ input: createReadStream(this.file, { encoding: "utf8" }), crlfDelay: Infinity });
    let rows: Record<string, unknown>[] = [];
    let start = 0;
    let row = 0;
    let line = 0;
    try {
      for await (const text of lines) {
        line++;
        if (text.trim() === "") {
          continue;
        }
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (error) {
          throw new SamplerError("INVALID_ROW", `line ${line} is not JSON: ${(error as Error).message}`, {
            file: this.file,
            row,
          });
        }
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
          throw new SamplerError("INVALID_ROW", `line ${line} is not a JSON object`, { file: this.file, row });
        }
        rows.push(project(value as Record<string, unknown>, options.columns));
        row++;
        if (rows.length >= batchRows) {
          yield { start, rows };
          start = row;
          rows = [];
        }
      }
    } finally {
      lines.close();
    }
    if (rows.length > 0) {
      yield { start, rows };
    }
  }
}

/**
 * Local JSON file: an array of objects, or an object with one array of objects (`{"data": [...]}`). JSON cannot be
 * streamed record by record, so the file is parsed whole: use JSONL or Parquet for large datasets.
 */
export class JsonFileSource implements DatasetSource {
  readonly name: string;
  #rows: Record<string, unknown>[] | undefined;

  constructor(readonly file: string) {
    this.name = file;
  }

  /** All rows (the file is parsed whole once). */
  load(): Record<string, unknown>[] {
    return this.#load();
  }

  #load(): Record<string, unknown>[] {
    if (this.#rows) {
      return this.#rows;
    }
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(this.file, "utf8"));
    } catch (error) {
      throw new SamplerError("INVALID_ROW", `not valid JSON: ${(error as Error).message}`, { file: this.file });
    }
    if (!Array.isArray(value) && typeof value === "object" && value !== null) {
      const arrays = Object.values(value).filter(Array.isArray);
      if (arrays.length === 1) {
        value = arrays[0];
      }
    }
    if (!Array.isArray(value) || !value.every((r) => typeof r === "object" && r !== null && !Array.isArray(r))) {
      throw new SamplerError("INVALID_ROW", "expected an array of objects (or an object holding one)", {
        file: this.file,
      });
    }
    this.#rows = value as Record<string, unknown>[];
    return this.#rows;
  }

  async columns(): Promise<string[]> {
    const first = this.#load()[0];
    if (first === undefined) {
      throw emptyError(this.file);
    }
    return Object.keys(first);
  }

  async numRows(): Promise<number> {
    return this.#load().length;
  }

  async *batches(options: { columns?: readonly string[]; batchRows?: number } = {}): AsyncIterable<RowBatch> {
    const rows = this.#load();
    const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
    for (let k = 0; k < rows.length; k += batchRows) {
      yield { start: k, rows: rows.slice(k, k + batchRows).map((r) => project(r, options.columns)) };
    }
  }
}

/** Several sources read one after another as one dataset (a folder of shards); row numbers continue across them. */
export class ConcatSource implements DatasetSource {
  readonly name: string;

  constructor(
    readonly parts: readonly DatasetSource[],
    name?: string,
  ) {
    this.name = name ?? parts.map((p) => p.name).join(", ");
  }

  async columns(): Promise<string[]> {
    return this.parts[0] ? this.parts[0].columns() : [];
  }

  async numRows(): Promise<number | undefined> {
    let n = 0;
    // (JSONL parts have no cheap count: undefined)
    for (const p of this.parts) {
      const k = await p.numRows();
      if (k === undefined) {
        return undefined;
      }
      n += k;
    }
    return n;
  }

  async *batches(options: { columns?: readonly string[]; batchRows?: number } = {}): AsyncIterable<RowBatch> {
    let offset = 0;
    for (const p of this.parts) {
      let next = offset;
      for await (const b of p.batches(options)) {
        yield { start: offset + b.start, rows: b.rows };
        next = offset + b.start + b.rows.length;
      }
      offset = next;
    }
  }
}

function emptyError(file: string): SamplerError {
  return new SamplerError("EMPTY_DATASET", "empty: no rows", { file });
}

/** A Parquet file whose footer cannot be read: say which file and what is wrong with it, in words. */
function parquetError(file: string, size: number, error: unknown): SamplerError {
  const why = (error as Error).message ?? String(error);
  const what =
    size === 0
      ? "empty: 0 bytes, no rows"
      : size < 12 || /footer|PAR1|too short|metadata length/i.test(why)
        ? `not a complete Parquet file (${size} bytes; a Parquet file ends with its footer and the marker PAR1, which are missing or damaged: truncated or damaged copy?)`
        : `a damaged Parquet footer (${size} bytes): ${why}`;
  return new SamplerError(size === 0 ? "EMPTY_DATASET" : "CORRUPT_FILE", what, { file }, { cause: error });
}

const EXTENSIONS: Record<string, (file: string) => DatasetSource> = {
  ".parquet": (f) => new ParquetFileSource(f),
  ".jsonl": (f) => new JsonlFileSource(f),
  ".ndjson": (f) => new JsonlFileSource(f),
  ".json": (f) => new JsonFileSource(f),
};

/**
 * A local file or folder. A folder follows the Hub's conventions (`resolveDataFiles`): its README's `configs`
 * (`config` picks one), else split names in file and folder names, else every data file; the `split` (default
 * `train`) only, never mixed with others; metadata files such as `dataset_infos.json` are not data. The returned
 * source says which files and split it chose (`dataFiles`).
 */
export function openLocalDataset(
  path: string,
  options: { split?: string; config?: string; flag?: string } = {},
): DatasetSource {
  const flag = options.flag ?? "--dataset";
  if (!existsSync(path)) {
    throw new SamplerError("SOURCE_NOT_FOUND", `no such file or folder: ${path}`, { flag });
  }
  if (statSync(path).isFile()) {
    return openFile(path, flag);
  }
  const rel = listFiles(path).map((f) => relative(path, f).split(sep).join("/"));
  const readmePath = join(path, "README.md");
  const readme = existsSync(readmePath) ? readFileSync(readmePath, "utf8") : undefined;
  const resolved = resolveDataFiles(rel, readme, {
    flag,
    name: path,
    ...(options.split !== undefined ? { split: options.split } : {}),
    ...(options.config !== undefined ? { config: options.config } : {}),
  });
  const files = resolved.files.map((f) => join(path, ...f.split("/")));
  const source =
    files.length === 1
      ? openFile(files[0] as string, flag)
      : new ConcatSource(
          files.map((f) => openFile(f, flag)),
          path,
        );
  return withDataFiles(source, resolved);
}

/** What a folder or Hub dataset resolved to (which split, config and files), for the start-of-run report. */
export interface DataFilesInfo {
  split: string;
  config?: string;
  /** Relative paths, in reading order. */
  files: readonly string[];
  /** Every split the dataset has. */
  splits: readonly string[];
  how: ResolvedDataFiles["how"];
}

/** `source` with `dataFiles` set. */
export function withDataFiles(source: DatasetSource, resolved: ResolvedDataFiles): DatasetSource {
  const info: DataFilesInfo = {
    split: resolved.split,
    ...(resolved.config !== undefined ? { config: resolved.config } : {}),
    files: resolved.files,
    splits: resolved.splits,
    how: resolved.how,
  };
  Object.defineProperty(source, "dataFiles", { value: info, enumerable: false });
  return source;
}

/**
 * A dataset by `--dataset` value: a local path, else a Hub repo id through `hub` (throws `UNSUPPORTED_SOURCE`
 * when no provider is given, `SOURCE_NOT_FOUND` for a path-looking value that does not exist).
 */
export async function openDataset(
  spec: string,
  options: { split?: string; config?: string; revision?: string; hub?: HubDatasetProvider; flag?: string } = {},
): Promise<DatasetSource> {
  const flag = options.flag ?? "--dataset";
  if (existsSync(spec)) {
    return openLocalDataset(spec, {
      flag,
      ...(options.split !== undefined ? { split: options.split } : {}),
      ...(options.config !== undefined ? { config: options.config } : {}),
    });
  }
  // "./data.jsonl" or "/x/y.parquet" are paths even though they match owner/name's characters
  const pathLike = /^[./]/.test(spec) || /\.(jsonl?|parquet)$/i.test(spec);
  const repoLike = !pathLike && /^[\w.-]+\/[\w.-]+$/.test(spec);
  if (!repoLike) {
    throw new SamplerError("SOURCE_NOT_FOUND", `no such file or folder, and not a Hub repo id: ${spec}`, { flag });
  }
  if (options.hub === undefined) {
    throw new SamplerError(
      "UNSUPPORTED_SOURCE",
      `"${spec}" is not a local path; reading Hub datasets needs a Hub provider (the CLI passes @logitpack/hub-stream)`,
      { flag },
    );
  }
  const open: { split?: string; config?: string; revision?: string } = {};
  if (options.split !== undefined) {
    open.split = options.split;
  }
  if (options.config !== undefined) {
    open.config = options.config;
  }
  if (options.revision !== undefined) {
    open.revision = options.revision;
  }
  return options.hub.open(spec, open);
}

/** Opens a list of local files (e.g. downloaded Hub shards) as one dataset, in the order given. */
export function openLocalFiles(files: readonly string[], name?: string): DatasetSource {
  const parts = files.map((f) => openFile(f, "--dataset"));
  return parts.length === 1 ? (parts[0] as DatasetSource) : new ConcatSource(parts, name);
}

function openFile(file: string, flag: string): DatasetSource {
  const make = EXTENSIONS[extname(file).toLowerCase()];
  if (make === undefined) {
    throw new SamplerError("UNSUPPORTED_SOURCE", `${file}: not .parquet, .jsonl, .ndjson or .json`, { flag });
  }
  return make(file);
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith(".")) {
      continue;
    }
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      out.push(...listFiles(p));
    } else if (e.isFile()) {
      out.push(p);
    }
  }
  return out;
}

/** `row` reduced to `columns` (all of it when undefined). */
export function project(row: Record<string, unknown>, columns: readonly string[] | undefined): Record<string, unknown> {
  if (columns === undefined) {
    return row;
  }
  const out: Record<string, unknown> = {};
  for (const c of columns) {
    if (Object.hasOwn(row, c)) {
      out[c] = row[c];
    }
  }
  return out;
}
