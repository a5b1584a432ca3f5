import type { EncodedRow, RowValues } from "./encode.js";
import { CodecError } from "./errors.js";
import type { WriteCompression } from "./internal/compression.js";
import { type ColumnData, type FloatEncoding, type IntEncoding, ParquetFileWriter } from "./internal/parquet-writer.js";
import { ensureZstd } from "./internal/zstd.js";
import { type ColumnSpec, type ColumnType, columnsOf, LAYOUT_VERSION, META_KEYS } from "./layout.js";
import { packedHighLength } from "./pack.js";
import type { ExtractionSettings } from "./types.js";

/** Where the writer's bytes go, in order. */
export interface ByteSink {
  write(chunk: Uint8Array): void | Promise<void>;
  close?(): void | Promise<void>;
}

export interface LogitWriterOptions {
  /** Default "nucleus" (the seed layout). */
  layout?: "nucleus" | "importance";
  /** Extraction settings recorded in the file's metadata (`logitpack.settings`, JSON). */
  settings?: ExtractionSettings;
  /** Default "zstd". */
  compression?: WriteCompression;
  /** zstd level, default 3. */
  compressionLevel?: number;
  /**
   * Target uncompressed bytes per row group, default 8 MiB. A row group is the unit of a random read: reading
   * one sample fetches and decodes its row group's columns, so small groups make random access cheap (a few MB
   * per sample, over HTTP too) while large ones amortise per-group overhead; 8 MiB is ~25-100 typical samples.
   */
  rowGroupBytes?: number;
  /** Upper bound on rows per row group, default 1024. */
  rowGroupRows?: number;
  /** Encoding of uint8/uint16 list columns: "delta" (DELTA_BINARY_PACKED, default: smaller, faster) or "plain". */
  intEncoding?: IntEncoding;
  /**
   * Encoding of the float/double columns: "auto" (default) encodes each column chunk both ways and keeps the smaller
   * after compression (BYTE_STREAM_SPLIT usually wins under zstd), "byte_stream_split" or "plain".
   */
  floatEncoding?: FloatEncoding;
  /** Extra key-value metadata. */
  keyValueMetadata?: Record<string, string>;
}

export const DEFAULT_ROW_GROUP_BYTES = 8 << 20;
const VERSION = "0.1.0";

type Growable = Int32Array | Uint16Array | Uint8Array | Float32Array | Float64Array;

class ColumnBuffer {
  values: Growable;
  length = 0;
  lengths = new Int32Array(64);
  rows = 0;

  constructor(readonly spec: ColumnSpec) {
    this.values = allocFor(spec.type, 1 << 12);
  }

  pushScalar(v: number): void {
    this.grow(1);
    this.values[this.length++] = v;
    this.rows++;
  }

  pushList(v: RowValues): void {
    this.grow(v.length);
    this.values.set(v, this.length);
    this.length += v.length;
    if (this.rows >= this.lengths.length) {
      const next = new Int32Array(this.lengths.length * 2);
      next.set(this.lengths);
      this.lengths = next;
    }
    this.lengths[this.rows++] = v.length;
  }

  private grow(extra: number): void {
    if (this.length + extra <= this.values.length) {
      return;
    }
    let size = this.values.length * 2;
    while (size < this.length + extra) {
      size *= 2;
    }
    const next = allocFor(this.spec.type, size);
    next.set(this.values.subarray(0, this.length) as never);
    this.values = next;
  }

  data(): ColumnData {
    const values = this.values.subarray(0, this.length);
    return this.spec.type === "int32" ? { values } : { values, lengths: this.lengths.subarray(0, this.rows) };
  }

  reset(): void {
    this.length = 0;
    this.rows = 0;
  }
}

function allocFor(type: ColumnType, n: number): Growable {
  switch (type) {
    case "int32":
      return new Int32Array(n);
    case "list<uint16>":
      return new Uint16Array(n);
    case "list<uint8>":
    case "binary":
      return new Uint8Array(n);
    case "list<float32>":
    case "float32":
      return new Float32Array(n);
    case "list<float64>":
    case "float64":
      return new Float64Array(n);
  }
}

type ArrayCtor = typeof Int32Array | typeof Uint16Array | typeof Uint8Array | typeof Float32Array | typeof Float64Array;

const ARRAY_OF: Record<ColumnType, ArrayCtor> = {
  int32: Int32Array,
  "list<uint16>": Uint16Array,
  "list<uint8>": Uint8Array,
  binary: Uint8Array,
  "list<float32>": Float32Array,
  float32: Float32Array,
  "list<float64>": Float64Array,
  float64: Float64Array,
};

/**
 * Streams rows into a Parquet file of the seed layout (or the importance layout): rows are buffered until a row
 * group is full (`rowGroupBytes`), encoded and handed to the sink; memory stays bounded by one row group.
 */
export class LogitWriter {
  private readonly specs: readonly ColumnSpec[];
  private readonly buffers: ColumnBuffer[];
  private readonly pq: ParquetFileWriter;
  private pendingBytes = 0;
  private pendingRows = 0;
  private closed = false;
  private started = false;
  /** Rows written so far (including buffered ones). */
  rows = 0;
  /** Bytes handed to the sink so far. */
  bytes = 0;

  private constructor(
    private readonly sink: ByteSink,
    private readonly options: LogitWriterOptions,
  ) {
    const layout = options.layout ?? "nucleus";
    this.specs = columnsOf(layout);
    this.buffers = this.specs.map((s) => new ColumnBuffer(s));
    this.pq = new ParquetFileWriter(
      this.specs.map((s) => ({ ...s, stats: s.name === "index" })),
      {
        compression: options.compression ?? "zstd",
        level: options.compressionLevel ?? 3,
        pageBytes: 1 << 20,
        intEncoding: options.intEncoding ?? "delta",
        minSaving: 0.05,
        floatEncoding: options.floatEncoding ?? "auto",
      },
    );
  }

  static async create(sink: ByteSink, options: LogitWriterOptions = {}): Promise<LogitWriter> {
    if ((options.compression ?? "zstd") === "zstd") {
      await ensureZstd();
    }
    return new LogitWriter(sink, options);
  }

  get layout(): "nucleus" | "importance" {
    return this.options.layout ?? "nucleus";
  }

  /** Add one row; writes a row group to the sink when one is full. */
  async write(row: EncodedRow): Promise<void> {
    if (this.closed) {
      throw new Error("LogitWriter is closed");
    }
    this.check(row);
    let bytes = 8;
    for (let c = 0; c < this.specs.length; c++) {
      const spec = this.specs[c] as ColumnSpec;
      const buf = this.buffers[c] as ColumnBuffer;
      if (spec.name === "index") {
        buf.pushScalar(row.index);
      } else if (spec.name === "num_tokens") {
        buf.pushScalar(row.numTokens);
      } else {
        const v = row.columns[spec.name] as RowValues;
        buf.pushList(v);
        bytes += v.byteLength;
      }
    }
    this.rows++;
    this.pendingRows++;
    this.pendingBytes += bytes;
    if (
      this.pendingBytes >= (this.options.rowGroupBytes ?? DEFAULT_ROW_GROUP_BYTES) ||
      this.pendingRows >= (this.options.rowGroupRows ?? 1024)
    ) {
      await this.flush();
    }
  }

  /** End the current row group now (if it has rows). */
  async flush(): Promise<void> {
    if (!this.started) {
      this.started = true;
      await this.emit(this.pq.start());
    }
    if (this.pendingRows === 0) {
      return;
    }
    const bytes = this.pq.rowGroup(
      this.pendingRows,
      this.buffers.map((b) => b.data()),
    );
    for (const b of this.buffers) {
      b.reset();
    }
    this.pendingRows = 0;
    this.pendingBytes = 0;
    await this.emit(bytes);
  }

  /** Flush, write the footer and close the sink. Returns rows and bytes written. */
  async close(): Promise<{ rows: number; bytes: number }> {
    if (this.closed) {
      return { rows: this.rows, bytes: this.bytes };
    }
    await this.flush();
    const kv: Record<string, string> = {
      [META_KEYS.layout]: this.layout,
      [META_KEYS.layoutVersion]: String(LAYOUT_VERSION),
      [META_KEYS.settings]: JSON.stringify({ mode: this.layout, ...(this.options.settings ?? {}) }),
      [META_KEYS.writer]: `@logitpack/codec ${VERSION}`,
      ...(this.options.keyValueMetadata ?? {}),
    };
    await this.emit(this.pq.finish(kv, `@logitpack/codec version ${VERSION}`));
    this.closed = true;
    await this.sink.close?.();
    return { rows: this.rows, bytes: this.bytes };
  }

  private async emit(bytes: Uint8Array): Promise<void> {
    this.bytes += bytes.length;
    await this.sink.write(bytes);
  }

  private check(row: EncodedRow): void {
    const ctx = (column: string) => ({ column });
    if (row.layout !== this.layout) {
      throw new CodecError("SCHEMA_MISMATCH", `a ${row.layout} row cannot go into a ${this.layout} file`);
    }
    if (!Number.isInteger(row.index) || row.index < -0x80000000 || row.index > 0x7fffffff) {
      throw new CodecError("INVALID_VALUE", `index ${row.index} is not an int32`, ctx("index"));
    }
    for (const spec of this.specs) {
      if (spec.name === "index" || spec.name === "num_tokens") {
        continue;
      }
      const v = row.columns[spec.name];
      const want = ARRAY_OF[spec.type];
      if (!(v instanceof want)) {
        throw new CodecError(
          "SCHEMA_MISMATCH",
          `row for index ${row.index}: expected a ${want.name}, got ${v ? v.constructor.name : "nothing"}`,
          ctx(spec.name),
        );
      }
      const perPosition =
        spec.name.endsWith("_min") ||
        spec.name.endsWith("_max") ||
        spec.name.startsWith("logsumexp") ||
        spec.name.endsWith("_counts");
      if (perPosition && v.length !== row.numTokens) {
        throw new CodecError(
          "INCONSISTENT_ROW",
          `row for index ${row.index}: ${v.length} values for ${row.numTokens} positions`,
          ctx(spec.name),
        );
      }
      if (spec.name.endsWith("_indices_high")) {
        const low = row.columns[spec.name.replace("_high", "_low")] as RowValues;
        if (v.length !== packedHighLength(low.length)) {
          throw new CodecError(
            "INCONSISTENT_ROW",
            `row for index ${row.index}: ${v.length} bytes of high bits for ${low.length} ids`,
            ctx(spec.name),
          );
        }
      }
    }
  }
}

/** A sink that keeps the bytes in memory. */
export function memorySink(): ByteSink & { bytes(): Uint8Array } {
  const chunks: Uint8Array[] = [];
  let total = 0;
  return {
    write(chunk: Uint8Array) {
      chunks.push(chunk.slice());
      total += chunk.length;
    },
    bytes() {
      const out = new Uint8Array(total);
      let o = 0;
      for (const c of chunks) {
        out.set(c, o);
        o += c.length;
      }
      return out;
    },
  };
}

/** Encode rows into a whole Parquet file in memory. */
export async function encodeLogitFile(
  rows: Iterable<EncodedRow>,
  options: LogitWriterOptions = {},
): Promise<Uint8Array> {
  const sink = memorySink();
  const writer = await LogitWriter.create(sink, options);
  for (const row of rows) {
    await writer.write(row);
  }
  await writer.close();
  return sink.bytes();
}
