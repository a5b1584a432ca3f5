import type { ColumnChunk, RowGroup } from "hyparquet";
import {
  type BatchColumns,
  batchTokens,
  decodeImportanceBatch,
  decodeNucleusBatch,
  decodeNucleusU8Batch,
  MAX_ID_LIMIT,
  sampleAt,
  sliceBatch,
} from "./decode.js";
import { CodecError } from "./errors.js";
import type { CodecName, Decompressor } from "./internal/compression.js";
import {
  type ByteSource,
  type DecodedColumn,
  decodeChunk,
  fetchChunks,
  type LeafInfo,
  openParquet,
  type ParquetFile,
  type ValueKind,
} from "./internal/parquet-reader.js";
import { ensureZstd } from "./internal/zstd.js";
import { columnsOf, detectLayout, LAYOUT_VERSION, META_KEYS } from "./layout.js";
import { memorySource } from "./source.js";
import type { ExtractionSettings, FileInfo, LayoutName, LogitBatch, LogitSample } from "./types.js";

export interface OpenOptions {
  /** Name used in error messages (a path or URL); defaults to the source's `url` if it has one. */
  name?: string;
  /** Decompressors for codecs the codec does not bundle (LZ4...), or faster ones. */
  decompressors?: Partial<Record<CodecName, Decompressor>>;
  /**
   * Check the CRC32 of every page that carries one (our writer's pages do; pyarrow's with `write_page_checksum`),
   * so a damaged page is a `CORRUPT_FILE` error instead of wrong values. Default true.
   */
  verifyChecksums?: boolean;
}

export interface RowRange {
  /** First row (default 0). */
  rowStart?: number;
  /** End row, exclusive (default: all rows). */
  rowEnd?: number;
}

/** One problem `LogitFile.verify` found. */
export interface VerifyProblem {
  /** The row group that failed to decode (none of its rows are usable). */
  rowGroup: number;
  /** Its rows, [first, end). */
  rows: [number, number];
  /** The offending row (file row number) and column, when the error names them. */
  row?: number;
  column?: string;
  code: CodecError["code"];
  /** One line, naming file, row and column where known. */
  message: string;
}

export interface VerifyReport {
  file: string | undefined;
  /** Rows and tokens that decoded cleanly. */
  rows: number;
  tokens: number;
  rowGroups: number;
  problems: VerifyProblem[];
}

/** A raw column projection of some rows: decoded values and row offsets per requested column. */
export interface ColumnBatch {
  firstRow: number;
  numRows: number;
  columns: Record<string, DecodedColumn>;
}

/** Open a logit dataset file (any of the three layouts) for streaming, random access and projection. */
export async function openLogitFile(
  source: ByteSource | Uint8Array | ArrayBuffer,
  options: OpenOptions = {},
): Promise<LogitFile> {
  const src = source instanceof Uint8Array || source instanceof ArrayBuffer ? memorySource(source) : tailCached(source);
  const name = options.name ?? (src as { url?: string }).url;
  await ensureZstd();
  try {
    return new LogitFile(src, await openParquet(src, name), options, name);
  } catch (error) {
    throw asCodecError(error, name);
  }
}

/**
 * Keep the bytes of the footer fetch (the file's tail, or the whole of a small file) and serve later slices that fall
 * inside them from memory: over HTTP a small shard then costs one request, not two.
 */
function tailCached(source: ByteSource): ByteSource {
  let tail: { start: number; bytes: ArrayBuffer } | undefined;
  return {
    ...source,
    byteLength: source.byteLength,
    async slice(start: number, end = source.byteLength): Promise<ArrayBuffer> {
      if (tail && start >= tail.start && end <= tail.start + tail.bytes.byteLength) {
        return tail.bytes.slice(start - tail.start, end - tail.start);
      }
      const bytes = await source.slice(start, end);
      if (end === source.byteLength && (!tail || start < tail.start)) {
        tail = { start, bytes };
      }
      return bytes;
    },
  };
}

/** Anything unexpected while interpreting file contents is a corrupt file (the original error is the cause). */
function asCodecError(error: unknown, file: string | undefined): CodecError {
  if (error instanceof CodecError) {
    return error;
  }
  return new CodecError("CORRUPT_FILE", `malformed metadata: ${(error as Error).message}`, { file }, { cause: error });
}

const decoder = new TextDecoder();

/** Row groups above this many compressed bytes are read column by column (see `readLargeGroup`). */
const LARGE_GROUP_BYTES = 32 << 20;

export class LogitFile {
  readonly info: FileInfo;
  private readonly kinds: Map<string, ValueKind>;

  /** @internal use `openLogitFile` */
  constructor(
    private readonly source: ByteSource,
    private readonly pq: ParquetFile,
    private readonly options: OpenOptions,
    readonly name: string | undefined,
  ) {
    const kv: Record<string, string> = {};
    for (const { key, value } of pq.metadata.key_value_metadata ?? []) {
      const v: unknown = value;
      if (typeof key !== "string" || !(v === undefined || typeof v === "string" || v instanceof Uint8Array)) {
        throw new CodecError("CORRUPT_FILE", "key-value metadata that is not text", { file: name });
      }
      kv[key] = v === undefined ? "" : typeof v === "string" ? v : decoder.decode(v);
    }
    const types = new Map<string, string>();
    for (const [colName, leaf] of pq.leaves) {
      types.set(colName, leaf.logical);
    }
    const layout = detectLayout(types, kv[META_KEYS.layout], name);
    let settings: ExtractionSettings = {};
    if (kv[META_KEYS.settings]) {
      try {
        settings = JSON.parse(kv[META_KEYS.settings] as string) as ExtractionSettings;
      } catch (error) {
        throw new CodecError(
          "CORRUPT_FILE",
          `metadata ${META_KEYS.settings} is not JSON`,
          { file: name },
          { cause: error },
        );
      }
    }
    const version = kv[META_KEYS.layoutVersion] ? Number(kv[META_KEYS.layoutVersion]) : 1;
    if (!(version >= 1 && version <= LAYOUT_VERSION)) {
      throw new CodecError(
        "UNSUPPORTED",
        `layout version ${kv[META_KEYS.layoutVersion]} (this reader knows 1..${LAYOUT_VERSION})`,
        {
          file: name,
        },
      );
    }
    this.info = {
      layout,
      layoutVersion: version,
      numRows: pq.numRows,
      numRowGroups: pq.metadata.row_groups.length,
      rowGroupRows: pq.metadata.row_groups.map((g) => Number(g.num_rows)),
      settings,
      keyValueMetadata: kv,
      columns: [...pq.leaves.keys()],
      createdBy: pq.metadata.created_by,
      idLimit: idLimitOf(settings, name),
    };
    this.kinds = valueKinds(layout, pq.leaves);
  }

  get numRows(): number {
    return this.pq.numRows;
  }

  get layout(): LayoutName {
    return this.info.layout;
  }

  /** Decode some columns of row group `g` (projection). */
  async readGroupColumns(g: number, names?: readonly string[]): Promise<ColumnBatch> {
    return this.readGroup(g, names ?? [...this.kinds.keys()]);
  }

  /** Row group `g` fully decoded and validated. */
  async readBatch(g: number): Promise<LogitBatch> {
    return this.toBatch(await this.readGroup(g, [...this.kinds.keys()]));
  }

  /**
   * Stream batches (one per row group, trimmed to the range), fetching the next row group while the current one is
   * decoded and consumed. Memory stays bounded by two row groups.
   */
  async *batches(range: RowRange = {}): AsyncGenerator<LogitBatch> {
    const { start, end } = this.range(range);
    const names = [...this.kinds.keys()];
    const groups = this.groupsFor(start, end);
    const prefetch = (i: number): Promise<Uint8Array[]> | undefined => {
      const g = groups[i];
      if (g === undefined || this.isLarge(this.group(g))) {
        return undefined;
      }
      const p = this.fetchGroup(this.group(g), names);
      p.catch(() => undefined);
      return p;
    };
    let next = prefetch(0);
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] as number;
      const rg = this.group(g);
      let batch: LogitBatch;
      try {
        let cols: ColumnBatch;
        if (next) {
          const bytes = await next;
          next = prefetch(i + 1);
          cols = this.decodeGroup(g, rg, names, bytes);
        } else {
          cols = await this.readLargeGroup(g, rg, names);
          next = prefetch(i + 1);
        }
        batch = this.toBatch(cols);
      } catch (error) {
        throw asCodecError(error, this.name);
      }
      const first = this.pq.groupStarts[g] as number;
      const r0 = Math.max(0, start - first);
      const r1 = Math.min(batch.numRows, end - first);
      yield r0 === 0 && r1 === batch.numRows ? batch : sliceBatch(batch, r0, r1);
    }
  }

  /** Stream a projection of columns (e.g. just `index`) over a row range. */
  async *columns(names: readonly string[], range: RowRange = {}): AsyncGenerator<ColumnBatch> {
    for (const n of names) {
      if (!this.kinds.has(n)) {
        throw new CodecError("OUT_OF_RANGE", `no column ${n} (columns: ${this.info.columns.join(", ")})`, {
          file: this.name,
          column: n,
        });
      }
    }
    const { start, end } = this.range(range);
    for (const g of this.groupsFor(start, end)) {
      yield await this.readGroup(g, names);
    }
  }

  /**
   * Decode every row of every row group and report every problem found, not only the first: one entry per row group
   * that fails (decoding stops at the first problem inside a row group; the next row group is still read). For
   * `verify` and resume: a shard is good when `problems` is empty. Never throws for damaged contents.
   */
  async verify(): Promise<VerifyReport> {
    const problems: VerifyProblem[] = [];
    let tokens = 0;
    let rows = 0;
    const groups = this.pq.metadata.row_groups.length;
    for (let g = 0; g < groups; g++) {
      const firstRow = this.pq.groupStarts[g] as number;
      const numRows = Number((this.pq.metadata.row_groups[g] as RowGroup).num_rows);
      try {
        const batch = await this.readBatch(g);
        tokens += batchTokens(batch);
        rows += batch.numRows;
      } catch (error) {
        const e = asCodecError(error, this.name);
        problems.push({
          rowGroup: g,
          rows: [firstRow, firstRow + numRows],
          code: e.code,
          message: e.message,
          ...(e.row !== undefined ? { row: e.row } : {}),
          ...(e.column !== undefined ? { column: e.column } : {}),
        });
      }
    }
    return { file: this.name, rows, tokens, rowGroups: groups, problems };
  }

  /** The dataset index of every row, reading only the `index` column (what resume needs). */
  async readIndices(): Promise<Int32Array> {
    const out = new Int32Array(this.numRows);
    if (!this.kinds.has("index")) {
      return out.map((_, i) => i);
    }
    // every row group's index chunk is tiny: fetch them concurrently (bounded), which matters over HTTP
    const groups = this.groupsFor(0, this.numRows);
    let next = 0;
    const worker = async () => {
      while (next < groups.length) {
        const g = groups[next++] as number;
        const b = await this.readGroupColumns(g, ["index"]);
        out.set((b.columns["index"] as DecodedColumn).values as Int32Array, b.firstRow);
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, groups.length) }, worker));
    return out;
  }

  /** Rows `[rowStart, rowEnd)` as samples (views into their batches). */
  async readRows(rowStart: number, rowEnd: number): Promise<LogitSample[]> {
    const out: LogitSample[] = [];
    for await (const b of this.batches({ rowStart, rowEnd })) {
      for (let r = 0; r < b.numRows; r++) {
        out.push(sampleAt(b, r));
      }
    }
    return out;
  }

  /** One row as a sample (reads only its row group). */
  async sample(row: number): Promise<LogitSample> {
    if (!(row >= 0 && row < this.numRows) || row !== Math.floor(row)) {
      throw new CodecError("OUT_OF_RANGE", `row ${row} is outside 0..${this.numRows - 1}`, { file: this.name });
    }
    const [s] = await this.readRows(row, row + 1);
    return s as LogitSample;
  }

  /**
   * The row holding dataset index `index`, or undefined. Row groups whose `index` statistics exclude it are
   * skipped, so a lookup reads one row group's `index` column plus that row group.
   */
  async findIndex(index: number): Promise<LogitSample | undefined> {
    const groups = this.pq.metadata.row_groups;
    for (let g = 0; g < groups.length; g++) {
      const leaf = this.pq.leaves.get("index");
      const stats = leaf ? (groups[g] as RowGroup).columns[leaf.chunkIndex]?.meta_data?.statistics : undefined;
      const min = stats?.min_value ?? stats?.min;
      const max = stats?.max_value ?? stats?.max;
      if (typeof min === "number" && typeof max === "number" && (index < min || index > max)) {
        continue;
      }
      const cols = await this.readGroupColumns(g, ["index"]);
      const values = (cols.columns["index"] as DecodedColumn).values as Int32Array;
      const r = values.indexOf(index);
      if (r >= 0) {
        return this.sample(cols.firstRow + r);
      }
    }
    return undefined;
  }

  private range(range: RowRange): { start: number; end: number } {
    const start = range.rowStart ?? 0;
    const end = range.rowEnd ?? this.numRows;
    if (!(start >= 0 && end <= this.numRows && start <= end)) {
      throw new CodecError("OUT_OF_RANGE", `rows [${start}, ${end}) are outside [0, ${this.numRows})`, {
        file: this.name,
      });
    }
    return { start, end };
  }

  private groupsFor(start: number, end: number): number[] {
    const out: number[] = [];
    const starts = this.pq.groupStarts;
    for (let g = 0; g < starts.length; g++) {
      const g0 = starts[g] as number;
      const g1 = g0 + Number((this.pq.metadata.row_groups[g] as RowGroup).num_rows);
      if (g1 > start && g0 < end) {
        out.push(g);
      }
    }
    return out;
  }

  private group(g: number): RowGroup {
    const rg = this.pq.metadata.row_groups[g];
    if (!rg) {
      throw new CodecError("OUT_OF_RANGE", `row group ${g} of ${this.pq.metadata.row_groups.length}`, {
        file: this.name,
      });
    }
    return rg;
  }

  private chunkFor(rg: RowGroup, name: string): { chunk: ColumnChunk; leaf: LeafInfo } {
    const leaf = this.pq.leaves.get(name) as LeafInfo;
    return { chunk: rg.columns[leaf.chunkIndex] as ColumnChunk, leaf };
  }

  private async fetchGroup(rg: RowGroup, names: readonly string[]): Promise<Uint8Array[]> {
    try {
      return await fetchChunks(
        this.source,
        names.map((n) => this.chunkFor(rg, n).chunk),
      );
    } catch (error) {
      throw error instanceof CodecError ? error.withContext({ file: this.name }) : error;
    }
  }

  /** Fetch and decode columns of row group `g`: in one request, or column by column for a large row group. */
  private async readGroup(g: number, names: readonly string[]): Promise<ColumnBatch> {
    const rg = this.group(g);
    return this.isLarge(rg)
      ? this.readLargeGroup(g, rg, names)
      : this.decodeGroup(g, rg, names, await this.fetchGroup(rg, names));
  }

  /** A row group too large to hold compressed in memory at once (pyarrow's default: the whole shard). */
  private isLarge(rg: RowGroup): boolean {
    const bytes =
      Number(rg.total_compressed_size ?? 0) ||
      rg.columns.reduce((s, c) => s + Number(c.meta_data?.total_compressed_size ?? 0), 0);
    return bytes > LARGE_GROUP_BYTES;
  }

  /**
   * A large row group, column by column: the next column chunk is read while the current one is decoded, so I/O
   * overlaps decoding and at most two compressed column chunks are held (not the whole row group).
   */
  private async readLargeGroup(g: number, rg: RowGroup, names: readonly string[]): Promise<ColumnBatch> {
    const numRows = Number(rg.num_rows);
    const firstRow = this.pq.groupStarts[g] as number;
    const columns: Record<string, DecodedColumn> = {};
    const fetchOne = (k: number): Promise<Uint8Array[]> | undefined => {
      const name = names[k];
      if (name === undefined) {
        return undefined;
      }
      const p = this.fetchGroup(rg, [name]);
      p.catch(() => undefined);
      return p;
    };
    let next = fetchOne(0);
    for (let k = 0; k < names.length; k++) {
      const [bytes] = await (next as Promise<Uint8Array[]>);
      next = fetchOne(k + 1);
      const name = names[k] as string;
      columns[name] = this.decodeColumn(g, rg, name, bytes as Uint8Array, firstRow, numRows);
    }
    return { firstRow, numRows, columns };
  }

  private decodeGroup(g: number, rg: RowGroup, names: readonly string[], bytes: Uint8Array[]): ColumnBatch {
    const numRows = Number(rg.num_rows);
    const firstRow = this.pq.groupStarts[g] as number;
    const columns: Record<string, DecodedColumn> = {};
    names.forEach((name, k) => {
      columns[name] = this.decodeColumn(g, rg, name, bytes[k] as Uint8Array, firstRow, numRows);
    });
    return { firstRow, numRows, columns };
  }

  private decodeColumn(
    g: number,
    rg: RowGroup,
    name: string,
    bytes: Uint8Array,
    firstRow: number,
    numRows: number,
  ): DecodedColumn {
    const { chunk, leaf } = this.chunkFor(rg, name);
    try {
      return decodeChunk(bytes, chunk, leaf, numRows, this.kinds.get(name) as ValueKind, {
        decompressors: this.options.decompressors,
        file: this.name,
        verifyChecksums: this.options.verifyChecksums,
      });
    } catch (error) {
      if (error instanceof CodecError) {
        const row = error.row !== undefined ? firstRow + error.row : undefined;
        throw new CodecError(
          error.code,
          `${error.message.replace(/^\[codec\] (row \d+: )?/, "")} (row group ${g}, rows ${firstRow}..${firstRow + numRows - 1})`,
          { file: this.name, row, column: name },
          { cause: error.cause },
        );
      }
      throw new CodecError(
        "CORRUPT_FILE",
        (error as Error).message,
        { file: this.name, column: name },
        { cause: error },
      );
    }
  }

  private toBatch(cols: ColumnBatch): LogitBatch {
    const c: BatchColumns = cols.columns;
    switch (this.info.layout) {
      case "nucleus":
        return decodeNucleusBatch(c, cols.numRows, cols.firstRow, this.name, this.info.idLimit);
      case "nucleus-u8":
        return decodeNucleusU8Batch(c, cols.numRows, cols.firstRow, this.name, this.info.idLimit);
      case "importance": {
        const t = Number(this.info.settings.temperature ?? 1);
        return decodeImportanceBatch(
          c,
          cols.numRows,
          cols.firstRow,
          Number.isFinite(t) && t > 0 ? t : 1,
          this.name,
          this.info.idLimit,
        );
      }
    }
  }
}

/** Ids are checked against the teacher's logits width when the settings record it (`logitsWidth`), else 2^18. */
function idLimitOf(settings: ExtractionSettings, file: string | undefined): number {
  const w = settings.logitsWidth;
  if (w === undefined) {
    return MAX_ID_LIMIT;
  }
  if (!(typeof w === "number" && Number.isInteger(w) && w >= 1 && w <= MAX_ID_LIMIT)) {
    throw new CodecError(
      "INVALID_VALUE",
      `settings logitsWidth ${JSON.stringify(w)} (expected an integer in [1, ${MAX_ID_LIMIT}])`,
      { file, column: META_KEYS.settings },
    );
  }
  return w;
}

function valueKinds(layout: LayoutName, leaves: Map<string, LeafInfo>): Map<string, ValueKind> {
  const kinds = new Map<string, ValueKind>();
  const wanted = new Set(columnsOf(layout).map((c) => c.name));
  if (layout === "nucleus-u8") {
    for (const optional of ["index", "top_counts", "top_min", "top_max", "sampled_min", "sampled_max", "logsumexp"]) {
      wanted.add(optional);
    }
  }
  for (const name of wanted) {
    const leaf = leaves.get(name);
    if (!leaf) {
      continue;
    }
    const t = leaf.logical;
    let kind: ValueKind;
    if (t === "binary") {
      kind = "bytes";
    } else if (name.endsWith("_indices_low") || !t.startsWith("list<")) {
      kind = t.includes("float") ? "f64" : "i32";
    } else if (t === "list<uint16>") {
      kind = "u16";
    } else if (t === "list<uint8>") {
      kind = "u8";
    } else if (t === "list<float32>") {
      kind = name === "logsumexp" || name === "logsumexp_t" ? "f64" : "f32";
    } else if (t === "list<float64>") {
      kind = "f64";
    } else {
      throw new CodecError("SCHEMA_MISMATCH", `unexpected type ${t}`, { column: name });
    }
    kinds.set(name, kind);
  }
  return kinds;
}

export { batchTokens };
