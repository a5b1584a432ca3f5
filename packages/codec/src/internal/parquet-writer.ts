import { crc32 } from "node:zlib";
import type { ColumnType } from "../layout.js";
import { ByteWriter } from "./byte-writer.js";
import { codecId, compress, type WriteCompression } from "./compression.js";
import { writeDeltaBinaryPacked } from "./delta.js";
import { RunWriter } from "./levels.js";
import { CompactWriter, T } from "./thrift-writer.js";

/** Parquet enums used by the writer. */
const Type = { INT32: 1, FLOAT: 4, DOUBLE: 5, BYTE_ARRAY: 6 } as const;
const Rep = { OPTIONAL: 1, REPEATED: 2 } as const;
const Converted = { LIST: 3, UINT_8: 11, UINT_16: 12 } as const;
const Enc = { PLAIN: 0, RLE: 3, DELTA_BINARY_PACKED: 5, BYTE_STREAM_SPLIT: 9 } as const;
const PageType = { DATA_PAGE: 0 } as const;

export type IntEncoding = "delta" | "plain";
/** Encoding of float columns: "auto" measures both per column chunk and keeps the smaller after compression. */
export type FloatEncoding = "auto" | "byte_stream_split" | "plain";

export interface WriterOptions {
  compression: WriteCompression;
  level: number;
  /** Target uncompressed bytes per data page (pages end on row boundaries). */
  pageBytes: number;
  /** Encoding of the uint8/uint16 list columns. */
  intEncoding: IntEncoding;
  /** A column chunk is stored uncompressed unless compression saves at least this fraction. */
  minSaving: number;
  /** Encoding of the float/double columns (default "auto"). */
  floatEncoding?: FloatEncoding;
}

/** The data of one column for one row group: concatenated values and, for lists and binary, per-row lengths. */
export interface ColumnData {
  values: Int32Array | Uint16Array | Uint8Array | Float32Array | Float64Array;
  /** Per-row element (list) or byte (binary) counts. Absent for int32 columns (one value per row). */
  lengths?: Int32Array;
}

interface ChunkMeta {
  name: string;
  type: number;
  path: string[];
  encodings: number[];
  codec: number;
  numValues: number;
  uncompressed: number;
  compressed: number;
  offset: number;
  stats?: { min: number; max: number };
}

interface RowGroupMeta {
  chunks: ChunkMeta[];
  numRows: number;
  totalBytes: number;
  offset: number;
  compressed: number;
}

const isList = (t: ColumnType): boolean => t.startsWith("list<");

function physicalType(t: ColumnType): number {
  switch (t) {
    case "int32":
    case "list<uint16>":
    case "list<uint8>":
      return Type.INT32;
    case "float32":
    case "list<float32>":
      return Type.FLOAT;
    case "float64":
    case "list<float64>":
      return Type.DOUBLE;
    case "binary":
      return Type.BYTE_ARRAY;
  }
}

function valueBytes(t: ColumnType): number {
  return t === "list<float64>" || t === "float64" ? 8 : t === "binary" ? 1 : 4;
}

/**
 * A Parquet writer specialised for logit layouts: flat int32 and binary columns plus 3-level lists of
 * uint8/uint16/float/double, as pyarrow lays them out (OPTIONAL list, REPEATED `list`, OPTIONAL `element`).
 * Levels are written as RLE runs derived from row lengths; uint columns use DELTA_BINARY_PACKED by default.
 * Every column chunk picks its codec: compressed when that saves `minSaving`, else stored raw (decoding raw
 * pages costs nothing, and random ids do not compress).
 */
export class ParquetFileWriter {
  private readonly rowGroups: RowGroupMeta[] = [];
  private offset = 0;
  private readonly page = new ByteWriter(1 << 20);
  private readonly header = new ByteWriter(256);
  /** Float encoding measured per column (name -> [encoding]) once a row group had enough values to tell. */
  private readonly floatChoice = new Map<string, number[]>();

  constructor(
    private readonly columns: readonly { name: string; type: ColumnType; stats?: boolean }[],
    private readonly options: WriterOptions,
  ) {}

  /** Bytes of the file header ("PAR1"). */
  start(): Uint8Array {
    this.offset = 4;
    return new Uint8Array([0x50, 0x41, 0x52, 0x31]);
  }

  /** Encode one row group; returns its bytes (to be appended to the file in order). */
  rowGroup(numRows: number, data: readonly ColumnData[]): Uint8Array {
    const out = new ByteWriter(1 << 20);
    const start = this.offset;
    const chunks: ChunkMeta[] = [];
    let totalBytes = 0;
    for (let c = 0; c < this.columns.length; c++) {
      const spec = this.columns[c] as (typeof this.columns)[number];
      const meta = this.chunk(spec, numRows, data[c] as ColumnData, out, start + out.offset);
      chunks.push(meta);
      totalBytes += meta.uncompressed;
    }
    this.offset += out.offset;
    this.rowGroups.push({ chunks, numRows, totalBytes, offset: start, compressed: out.offset });
    return out.view0();
  }

  private chunk(
    spec: { name: string; type: ColumnType; stats?: boolean },
    numRows: number,
    data: ColumnData,
    out: ByteWriter,
    fileOffset: number,
  ): ChunkMeta {
    const { type } = spec;
    const list = isList(type);
    const useDelta =
      list && (type === "list<uint16>" || type === "list<uint8>") && this.options.intEncoding === "delta";
    const lengths = data.lengths;
    // Page boundaries on row boundaries, ~pageBytes of values each.
    const perValue = valueBytes(type);
    const bounds: number[] = [0];
    if (lengths) {
      let acc = 0;
      for (let r = 0; r < numRows; r++) {
        acc += (lengths[r] as number) * perValue + 1;
        if (acc >= this.options.pageBytes && r + 1 < numRows) {
          bounds.push(r + 1);
          acc = 0;
        }
      }
    }
    bounds.push(numRows);

    const isFloat = physicalType(type) === Type.FLOAT || physicalType(type) === Type.DOUBLE;
    const floatEncoding = this.options.floatEncoding ?? "auto";
    const candidates: number[] = useDelta
      ? [Enc.DELTA_BINARY_PACKED]
      : !isFloat || floatEncoding === "plain"
        ? [Enc.PLAIN]
        : floatEncoding === "byte_stream_split"
          ? [Enc.BYTE_STREAM_SPLIT]
          : (this.floatChoice.get(spec.name) ?? [Enc.BYTE_STREAM_SPLIT, Enc.PLAIN]);
    let best: { raw: Uint8Array[]; bodies: Uint8Array[]; codec: number; encoding: number; size: number } | undefined;
    let levelCounts: number[] = [];
    for (const encoding of candidates) {
      const built = this.pages(type, data, bounds, encoding);
      const packed = this.compressPages(built.raw);
      if (!best || packed.size < best.size) {
        best = { raw: built.raw, ...packed, encoding };
        levelCounts = built.levelCounts;
      }
    }
    const { raw, bodies, codec, encoding } = best as NonNullable<typeof best>;
    if (candidates.length > 1) {
      // measured on the first row group with enough values; later row groups of the file reuse the choice
      const values = data.values.length;
      if (values >= 4096) {
        this.floatChoice.set(spec.name, [encoding]);
      }
    }
    let uncompressed = 0;
    let compressed = 0;
    let numValues = 0;
    for (let p = 0; p < bodies.length; p++) {
      const body = bodies[p] as Uint8Array;
      const rawLen = (raw[p] as Uint8Array).length;
      const h = this.header;
      h.reset();
      const w = new CompactWriter(h);
      w.i32(1, PageType.DATA_PAGE);
      w.i32(2, rawLen);
      w.i32(3, body.length);
      w.i32(4, crc32(body) | 0);
      w.struct(5);
      w.i32(1, levelCounts[p] as number);
      w.i32(2, encoding);
      w.i32(3, Enc.RLE);
      w.i32(4, Enc.RLE);
      w.end();
      w.end();
      out.write(h.view0());
      out.write(body);
      uncompressed += h.offset + rawLen;
      compressed += h.offset + body.length;
      numValues += levelCounts[p] as number;
    }
    const meta: ChunkMeta = {
      name: spec.name,
      type: physicalType(type),
      path: list ? [spec.name, "list", "element"] : [spec.name],
      encodings: [Enc.RLE, encoding],
      codec,
      numValues,
      uncompressed,
      compressed,
      offset: fileOffset,
    };
    if (spec.stats && type === "int32" && numRows > 0) {
      let min = 0x7fffffff;
      let max = -0x80000000;
      for (let r = 0; r < numRows; r++) {
        const v = data.values[r] as number;
        min = Math.min(v, min);
        max = Math.max(v, max);
      }
      meta.stats = { min, max };
    }
    return meta;
  }

  /** The uncompressed pages of one column chunk (levels + values) with `encoding`. */
  private pages(
    type: ColumnType,
    data: ColumnData,
    bounds: readonly number[],
    encoding: number,
  ): { raw: Uint8Array[]; levelCounts: number[] } {
    const raw: Uint8Array[] = [];
    const levelCounts: number[] = [];
    const list = isList(type);
    const lengths = data.lengths;
    let valueStart = 0;
    for (let p = 0; p + 1 < bounds.length; p++) {
      const r0 = bounds[p] as number;
      const r1 = bounds[p + 1] as number;
      const page = this.page;
      page.reset();
      let numLevels = 0;
      let valueEnd = valueStart;
      if (list && lengths) {
        // repetition levels (bit width 1): 0 starts a row, 1 continues it
        const repAt = page.offset;
        page.u32(0);
        const rep = new RunWriter(page, 1);
        for (let r = r0; r < r1; r++) {
          const n = lengths[r] as number;
          rep.push(0, 1);
          rep.push(1, n - 1);
          numLevels += n > 0 ? n : 1;
          valueEnd += n;
        }
        rep.flush();
        page.view.setUint32(repAt, page.offset - repAt - 4, true);
        // definition levels (bit width 2): 3 = value, 1 = empty list
        const defAt = page.offset;
        page.u32(0);
        const def = new RunWriter(page, 2);
        for (let r = r0; r < r1; r++) {
          const n = lengths[r] as number;
          if (n > 0) {
            def.push(3, n);
          } else {
            def.push(1, 1);
          }
        }
        def.flush();
        page.view.setUint32(defAt, page.offset - defAt - 4, true);
      } else {
        // flat OPTIONAL column: definition levels (bit width 1), all 1
        numLevels = r1 - r0;
        const defAt = page.offset;
        page.u32(0);
        const def = new RunWriter(page, 1);
        def.push(1, numLevels);
        def.flush();
        page.view.setUint32(defAt, page.offset - defAt - 4, true);
        valueEnd = type === "binary" ? valueStart : valueStart + numLevels;
        if (type === "binary" && lengths) {
          for (let r = r0; r < r1; r++) {
            valueEnd += lengths[r] as number;
          }
        }
      }
      this.values(page, type, data, valueStart, valueEnd, r0, r1, encoding);
      raw.push(page.copy());
      levelCounts.push(numLevels);
      valueStart = valueEnd;
    }

    return { raw, levelCounts };
  }

  /** Compress pages; keep compression only where it pays (`minSaving`). */
  private compressPages(raw: Uint8Array[]): { bodies: Uint8Array[]; codec: number; size: number } {
    const { compression, level, minSaving } = this.options;
    const rawSize = raw.reduce((s, b) => s + b.length, 0);
    if (compression !== "none") {
      const packed = raw.map((b) => compress(compression, b, level));
      const packedSize = packed.reduce((s, b) => s + b.length, 0);
      if (packedSize <= rawSize * (1 - minSaving)) {
        return { bodies: packed, codec: codecId(compression), size: packedSize };
      }
    }
    return { bodies: raw, codec: codecId("none"), size: rawSize };
  }

  private values(
    page: ByteWriter,
    type: ColumnType,
    data: ColumnData,
    v0: number,
    v1: number,
    r0: number,
    r1: number,
    encoding: number,
  ): void {
    const values = data.values;
    const n = v1 - v0;
    if (encoding === Enc.BYTE_STREAM_SPLIT) {
      const src = bytesOf(values as Float32Array | Float64Array, v0, v1);
      const width = (values as Float32Array | Float64Array).BYTES_PER_ELEMENT;
      page.ensure(src.length);
      const out = page.bytes;
      const o = page.offset;
      for (let b = 0; b < width; b++) {
        const base = o + b * n;
        for (let i = 0; i < n; i++) {
          out[base + i] = src[i * width + b] as number;
        }
      }
      page.offset += src.length;
      return;
    }
    if (encoding === Enc.DELTA_BINARY_PACKED) {
      writeDeltaBinaryPacked(page, values, v0, v1);
      return;
    }
    switch (type) {
      case "int32":
      case "list<uint16>":
      case "list<uint8>": {
        page.ensure(n * 4);
        const view = page.view;
        let o = page.offset;
        for (let i = v0; i < v1; i++) {
          view.setInt32(o, values[i] as number, true);
          o += 4;
        }
        page.offset = o;
        return;
      }
      case "float32":
      case "list<float32>":
        page.write(bytesOf(values as Float32Array, v0, v1));
        return;
      case "float64":
      case "list<float64>":
        page.write(bytesOf(values as Float64Array, v0, v1));
        return;
      case "binary": {
        const lengths = data.lengths as Int32Array;
        const bytes = values as Uint8Array;
        let at = v0;
        for (let r = r0; r < r1; r++) {
          const len = lengths[r] as number;
          page.u32(len);
          page.write(bytes.subarray(at, at + len));
          at += len;
        }
        return;
      }
    }
  }

  /** The footer: FileMetaData, its length and "PAR1". */
  finish(keyValue: Record<string, string>, createdBy: string): Uint8Array {
    const out = new ByteWriter(4096);
    const w = new CompactWriter(out);
    const numRows = this.rowGroups.reduce((s, g) => s + g.numRows, 0);
    w.i32(1, 2);
    // schema
    const elements = 1 + this.columns.reduce((s, c) => s + (isList(c.type) ? 3 : 1), 0);
    w.list(2, T.STRUCT, elements);
    w.element();
    w.string(4, "schema");
    w.i32(5, this.columns.length);
    w.end();
    for (const c of this.columns) {
      this.schemaElements(w, c.name, c.type);
    }
    w.i64(3, numRows);
    w.list(4, T.STRUCT, this.rowGroups.length);
    for (let g = 0; g < this.rowGroups.length; g++) {
      const rg = this.rowGroups[g] as RowGroupMeta;
      w.element();
      w.list(1, T.STRUCT, rg.chunks.length);
      for (const ch of rg.chunks) {
        w.element();
        w.i64(2, ch.offset);
        w.struct(3);
        w.i32(1, ch.type);
        w.list(2, T.I32, ch.encodings.length);
        for (const e of ch.encodings) {
          w.listI32(e);
        }
        w.list(3, T.BINARY, ch.path.length);
        for (const p of ch.path) {
          w.listString(p);
        }
        w.i32(4, ch.codec);
        w.i64(5, ch.numValues);
        w.i64(6, ch.uncompressed);
        w.i64(7, ch.compressed);
        w.i64(9, ch.offset);
        if (ch.stats) {
          w.struct(12);
          const max = int32Bytes(ch.stats.max);
          const min = int32Bytes(ch.stats.min);
          w.binary(1, max);
          w.binary(2, min);
          w.i64(3, 0);
          w.binary(5, max);
          w.binary(6, min);
          w.end();
        }
        w.end();
        w.end();
      }
      w.i64(2, rg.totalBytes);
      w.i64(3, rg.numRows);
      w.i64(5, rg.offset);
      w.i64(6, rg.compressed);
      w.i32(7, g);
      w.end();
    }
    const kv = Object.entries(keyValue);
    if (kv.length > 0) {
      w.list(5, T.STRUCT, kv.length);
      for (const [key, value] of kv) {
        w.element();
        w.string(1, key);
        w.string(2, value);
        w.end();
      }
    }
    w.string(6, createdBy);
    w.end();
    const metaLen = out.offset;
    out.u32(metaLen);
    out.write(new Uint8Array([0x50, 0x41, 0x52, 0x31]));
    return out.copy();
  }

  private schemaElements(w: CompactWriter, name: string, type: ColumnType): void {
    if (!isList(type)) {
      w.element();
      w.i32(1, physicalType(type));
      w.i32(3, Rep.OPTIONAL);
      w.string(4, name);
      w.end();
      return;
    }
    w.element();
    w.i32(3, Rep.OPTIONAL);
    w.string(4, name);
    w.i32(5, 1);
    w.i32(6, Converted.LIST);
    w.struct(10);
    w.struct(3);
    w.end();
    w.end();
    w.end();
    w.element();
    w.i32(3, Rep.REPEATED);
    w.string(4, "list");
    w.i32(5, 1);
    w.end();
    w.element();
    w.i32(1, physicalType(type));
    w.i32(3, Rep.OPTIONAL);
    w.string(4, "element");
    const bits = type === "list<uint16>" ? 16 : type === "list<uint8>" ? 8 : 0;
    if (bits > 0) {
      w.i32(6, bits === 16 ? Converted.UINT_16 : Converted.UINT_8);
      w.struct(10);
      w.struct(10);
      w.i8(1, bits);
      w.bool(2, false);
      w.end();
      w.end();
    }
    w.end();
  }
}

function int32Bytes(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

function bytesOf(a: Float32Array | Float64Array, v0: number, v1: number): Uint8Array {
  const k = a.BYTES_PER_ELEMENT;
  return new Uint8Array(a.buffer, a.byteOffset + v0 * k, (v1 - v0) * k);
}
