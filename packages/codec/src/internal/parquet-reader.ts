import { crc32 } from "node:zlib";
import type { ColumnChunk, FileMetaData, PageHeader, SchemaElement } from "hyparquet";
import { parquetMetadataAsync } from "hyparquet";
import { parquetHeader } from "hyparquet/src/column.js";
import { deltaByteArray, deltaLengthByteArray } from "hyparquet/src/delta.js";
import { CodecError } from "../errors.js";
import { CODEC_NAMES, type CodecName, type Decompressor, decompress } from "./compression.js";
import { readDeltaBinaryPacked } from "./delta.js";
import { dictF32, dictF64, dictI32, dictU8, dictU16 } from "./dict.js";
import { type Cursor, readRleHybrid, repLevelsToRowStarts } from "./levels.js";

/** A random-access byte source (hyparquet's AsyncBuffer): a local file, an HTTP URL, memory. */
export interface ByteSource {
  readonly byteLength: number;
  slice(start: number, end?: number): ArrayBuffer | Promise<ArrayBuffer>;
}

/** What a decoded column's values are stored as. */
export type ValueKind = "i32" | "u16" | "u8" | "f32" | "f64" | "bytes";

export type DecodedValues = Int32Array | Uint16Array | Uint8Array | Float32Array | Float64Array;

/** One column of one row group. */
export interface DecodedColumn {
  /** Values of every row, concatenated (bytes for binary columns). */
  values: DecodedValues;
  /** For lists and binary: where each row starts in `values`, length `numRows + 1`. */
  rowOffsets?: Int32Array;
}

/** Where a leaf column sits in the schema and what it is. */
export interface LeafInfo {
  name: string;
  /** Index of the leaf among the file's leaf columns (= column chunk index). */
  chunkIndex: number;
  physical: string;
  /** Logical type as our layouts name them ("int32", "list<uint16>", "binary", ...). */
  logical: string;
  maxDef: number;
  maxRep: number;
  /** Definition level meaning "list present but empty" (lists only). */
  emptyDef: number;
  /** Definition level from which a list slot exists (element may still be null below maxDef). */
  slotDef: number;
}

export interface ParquetFile {
  metadata: FileMetaData;
  leaves: Map<string, LeafInfo>;
  /** First row of each row group. */
  groupStarts: number[];
  numRows: number;
}

/** Read the footer and describe the top-level columns. */
export async function openParquet(source: ByteSource, file?: string): Promise<ParquetFile> {
  if (source.byteLength < 12) {
    throw new CodecError("CORRUPT_FILE", `${source.byteLength} bytes is too short for a Parquet file`, { file });
  }
  let metadata: FileMetaData;
  try {
    // geoparquet: false also avoids hyparquet 1.31.5 looping forever on a negative num_children
    metadata = await parquetMetadataAsync(source, { initialFetchSize: 1 << 16, geoparquet: false });
  } catch (error) {
    if (error instanceof CodecError) {
      throw error.withContext({ file });
    }
    throw new CodecError(
      "CORRUPT_FILE",
      `unreadable Parquet footer: ${(error as Error).message}`,
      { file },
      {
        cause: error,
      },
    );
  }
  const leaves = describeLeaves(metadata.schema, file);
  const groupStarts: number[] = [];
  let numRows = 0;
  for (const rg of metadata.row_groups) {
    groupStarts.push(numRows);
    numRows += Number(rg.num_rows);
    if (rg.columns.length !== countLeaves(metadata.schema)) {
      throw new CodecError("CORRUPT_FILE", "a row group has a different number of column chunks than the schema", {
        file,
      });
    }
  }
  if (numRows !== Number(metadata.num_rows)) {
    throw new CodecError(
      "CORRUPT_FILE",
      `row groups hold ${numRows} rows, the footer declares ${Number(metadata.num_rows)}`,
      { file },
    );
  }
  return { metadata, leaves, groupStarts, numRows };
}

function countLeaves(schema: SchemaElement[]): number {
  let n = 0;
  for (let i = 1; i < schema.length; i++) {
    if (!(schema[i] as SchemaElement).num_children) {
      n++;
    }
  }
  return n;
}

function leafLogical(e: SchemaElement): string {
  const lt = e.logical_type as { type?: string; bitWidth?: number; isSigned?: boolean } | undefined;
  switch (e.type) {
    case "INT32": {
      const unsigned = e.converted_type?.startsWith("UINT_") || (lt?.type === "INTEGER" && lt.isSigned === false);
      const bits =
        lt?.type === "INTEGER"
          ? lt.bitWidth
          : e.converted_type === "UINT_8" || e.converted_type === "INT_8"
            ? 8
            : e.converted_type === "UINT_16" || e.converted_type === "INT_16"
              ? 16
              : 32;
      return `${unsigned ? "uint" : "int"}${bits}`;
    }
    case "INT64":
      return "int64";
    case "FLOAT":
      return "float32";
    case "DOUBLE":
      return "float64";
    case "BYTE_ARRAY":
      return e.converted_type === "UTF8" || lt?.type === "STRING" ? "string" : "binary";
    default:
      return String(e.type).toLowerCase();
  }
}

const defInc = (e: SchemaElement): number => (e.repetition_type === "REQUIRED" ? 0 : 1);

/** Walk the flat schema list; describe flat columns and (2- or 3-level) lists of primitives. */
function describeLeaves(schema: SchemaElement[], file?: string): Map<string, LeafInfo> {
  const leaves = new Map<string, LeafInfo>();
  for (const e of schema) {
    const n = e.num_children;
    if (n !== undefined && !(n >= 0 && n < schema.length)) {
      throw new CodecError("CORRUPT_FILE", `schema element ${e.name} has ${n} children`, { file });
    }
  }
  const root = schema[0] as SchemaElement;
  let i = 1;
  let chunkIndex = 0;
  const nChildren = root.num_children ?? 0;
  for (let f = 0; f < nChildren; f++) {
    const top = schema[i] as SchemaElement;
    if (!top) {
      throw new CodecError("CORRUPT_FILE", "schema ends early", { file });
    }
    if (!top.num_children) {
      const repeated = top.repetition_type === "REPEATED";
      leaves.set(top.name, {
        name: top.name,
        chunkIndex: chunkIndex++,
        physical: String(top.type),
        logical: repeated ? `list<${leafLogical(top)}>` : leafLogical(top),
        maxDef: defInc(top),
        maxRep: repeated ? 1 : 0,
        emptyDef: 0,
        slotDef: 1,
      });
      i++;
      continue;
    }
    // a group: support LIST groups of one primitive (3-level or 2-level); skip anything else
    const mid = schema[i + 1] as SchemaElement;
    const isList3 = top.num_children === 1 && mid?.repetition_type === "REPEATED" && mid.num_children === 1;
    const isList2 = top.num_children === 1 && mid?.repetition_type === "REPEATED" && !mid.num_children;
    if (isList3) {
      const leaf = schema[i + 2] as SchemaElement;
      if (leaf && !leaf.num_children) {
        const outerDef = defInc(top);
        leaves.set(top.name, {
          name: top.name,
          chunkIndex: chunkIndex++,
          physical: String(leaf.type),
          logical: `list<${leafLogical(leaf)}>`,
          maxDef: outerDef + 1 + defInc(leaf),
          maxRep: 1,
          emptyDef: outerDef,
          slotDef: outerDef + 1,
        });
        i += 3;
        continue;
      }
    }
    if (isList2) {
      const outerDef = defInc(top);
      leaves.set(top.name, {
        name: top.name,
        chunkIndex: chunkIndex++,
        physical: String(mid.type),
        logical: `list<${leafLogical(mid)}>`,
        maxDef: outerDef + 1,
        maxRep: 1,
        emptyDef: outerDef,
        slotDef: outerDef + 1,
      });
      i += 2;
      continue;
    }
    // Unknown nested column: skip its subtree, counting its leaves.
    let pending = 1;
    while (pending > 0) {
      const e = schema[i++] as SchemaElement;
      if (!e) {
        throw new CodecError("CORRUPT_FILE", "schema ends early", { file });
      }
      pending--;
      if (e.num_children) {
        pending += e.num_children;
      } else {
        chunkIndex++;
      }
    }
  }
  return leaves;
}

/**
 * Limits for untrusted input (a corrupt or hostile footer must not make us allocate gigabytes). Real logit files
 * are far below them: a row group is a few MB, pages ~1 MB.
 */
export const MAX_CHUNK_VALUES = 1 << 27; // 134M entries per column chunk (512 MB as int32)
export const MAX_PAGE_BYTES = 1 << 28; // 256 MiB per decompressed page

export interface ReadOptions {
  decompressors?: Partial<Record<CodecName, Decompressor>>;
  file?: string;
  /** Check the CRC32 of every page that carries one (default true). */
  verifyChecksums?: boolean;
}

/** Fetch the byte ranges of some column chunks of a row group, coalescing neighbours into one request. */
export async function fetchChunks(source: ByteSource, chunks: readonly ColumnChunk[]): Promise<Uint8Array[]> {
  const ranges = chunks.map((c, k) => {
    const md = c.meta_data;
    if (!md) {
      throw new CodecError("UNSUPPORTED", "column chunk without inline metadata");
    }
    const dict = md.dictionary_page_offset !== undefined ? Number(md.dictionary_page_offset) : undefined;
    const data = Number(md.data_page_offset);
    const start = dict !== undefined && dict > 0 && dict < data ? dict : data;
    const end = start + Number(md.total_compressed_size);
    if (start < 0 || end > source.byteLength) {
      throw new CodecError(
        "CORRUPT_FILE",
        `column chunk [${start}, ${end}) lies outside the file (${source.byteLength} bytes): truncated?`,
      );
    }
    return { k, start, end };
  });
  const order = [...ranges].sort((a, b) => a.start - b.start);
  const groups: { start: number; end: number; members: typeof ranges }[] = [];
  for (const r of order) {
    const last = groups[groups.length - 1];
    if (last && r.start - last.end <= 1 << 16) {
      last.end = Math.max(last.end, r.end);
      last.members.push(r);
    } else {
      groups.push({ start: r.start, end: r.end, members: [r] });
    }
  }
  const out: Uint8Array[] = new Array(chunks.length);
  await Promise.all(
    groups.map(async (g) => {
      const buf = new Uint8Array(await source.slice(g.start, g.end));
      if (buf.length !== g.end - g.start) {
        throw new CodecError("CORRUPT_FILE", `short read: ${buf.length} of ${g.end - g.start} bytes at ${g.start}`);
      }
      for (const m of g.members) {
        out[m.k] = buf.subarray(m.start - g.start, m.end - g.start);
      }
    }),
  );
  return out;
}

let levelScratch = new Uint8Array(1 << 16);
let repScratch = new Uint8Array(1 << 16);

function scratch8(n: number, which: "def" | "rep"): Uint8Array {
  if (which === "def") {
    if (levelScratch.length < n) {
      levelScratch = new Uint8Array(n * 2);
    }
    return levelScratch;
  }
  if (repScratch.length < n) {
    repScratch = new Uint8Array(n * 2);
  }
  return repScratch;
}

function allocValues(kind: ValueKind, n: number): DecodedValues {
  switch (kind) {
    case "i32":
      return new Int32Array(n);
    case "u16":
      return new Uint16Array(n);
    case "u8":
    case "bytes":
      return new Uint8Array(n);
    case "f32":
      return new Float32Array(n);
    case "f64":
      return new Float64Array(n);
  }
}

type Dictionary = DecodedValues | Uint8Array[];

function grow(values: DecodedValues, kind: ValueKind, need: number): DecodedValues {
  const next = allocValues(kind, Math.max(need, values.length * 2));
  next.set(values as never);
  return next;
}

/**
 * Decode one column chunk into flat values (as `kind`) and per-row offsets. Works for flat primitive columns and
 * lists of primitives; pages may be v1 or v2, dictionary-encoded or not; nulls are an error (logit layouts have none).
 */
export function decodeChunk(
  bytes: Uint8Array,
  chunk: ColumnChunk,
  leaf: LeafInfo,
  numRows: number,
  kind: ValueKind,
  options: ReadOptions = {},
): DecodedColumn {
  const md = chunk.meta_data;
  if (!md) {
    throw new CodecError("UNSUPPORTED", "column chunk without inline metadata");
  }
  const codec = CODEC_NAMES.indexOf(md.codec as CodecName);
  const isList = leaf.maxRep > 0;
  const binary = kind === "bytes";
  const numValues = Number(md.num_values);
  if (!(numValues >= 0 && numValues <= MAX_CHUNK_VALUES) || numRows > numValues || (!isList && numRows !== numValues)) {
    throw new CodecError("CORRUPT_FILE", `column chunk declares ${numValues} values for ${numRows} rows`);
  }
  // Grown as pages deliver values: declared sizes are not trusted for allocation.
  let values: DecodedValues = binary
    ? new Uint8Array(Math.min(bytes.length * 4 + 64, Math.max(0, Number(md.total_uncompressed_size))))
    : allocValues(kind, isList ? Math.min(numValues, bytes.length * 8 + 64) : numRows);
  const rowOffsets = isList || binary ? new Int32Array(numRows + 1) : undefined;
  let rows = 0;
  let valueCount = 0;
  let byteCount = 0;
  let levelTotal = 0;
  let dictionary: Dictionary | undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const reader = { view, offset: 0 };
  let orBits = 0;
  const verify = options.verifyChecksums !== false;
  const chunkBytes = Math.max(0, Number(md.total_uncompressed_size) || 0);

  while (reader.offset < bytes.length && levelTotal < numValues) {
    let header: PageHeader;
    try {
      header = parquetHeader(reader);
    } catch (error) {
      throw new CodecError(
        "CORRUPT_FILE",
        `unreadable page header: ${(error as Error).message}`,
        {},
        {
          cause: error,
        },
      );
    }
    const start = reader.offset;
    const compressedSize = header.compressed_page_size;
    if (!(header.uncompressed_page_size >= 0 && header.uncompressed_page_size <= MAX_PAGE_BYTES)) {
      throw new CodecError("CORRUPT_FILE", `page declares ${header.uncompressed_page_size} uncompressed bytes`);
    }
    const end = start + compressedSize;
    if (!(compressedSize >= 0) || end > bytes.length) {
      throw new CodecError("CORRUPT_FILE", `page of ${compressedSize} bytes runs past its column chunk`);
    }
    reader.offset = end;
    const body = bytes.subarray(start, end);
    if (header.crc !== undefined && verify && (crc32(body) | 0) !== (header.crc | 0)) {
      throw new CodecError(
        "CORRUPT_FILE",
        `page checksum mismatch at byte ${start} of the column chunk: the page is damaged`,
      );
    }
    if (chunkBytes > 0 && header.uncompressed_page_size > chunkBytes) {
      throw new CodecError(
        "CORRUPT_FILE",
        `page declares ${header.uncompressed_page_size} uncompressed bytes, its column chunk ${chunkBytes}`,
      );
    }
    if (header.type === "DICTIONARY_PAGE") {
      const dph = header.dictionary_page_header;
      if (!dph) {
        throw new CodecError("CORRUPT_FILE", "dictionary page without header");
      }
      const raw = decompress(codec, body, header.uncompressed_page_size, options.decompressors);
      dictionary = readDictionary(raw, leaf, dph.num_values, kind);
      continue;
    }
    if (header.type !== "DATA_PAGE" && header.type !== "DATA_PAGE_V2") {
      continue;
    }
    let page: Uint8Array;
    let repCursor: Cursor | undefined;
    let defCursor: Cursor | undefined;
    let numLevels: number;
    let encoding: string;
    const c: Cursor = { bytes: body, pos: 0, end: 0 };
    if (header.type === "DATA_PAGE") {
      const dph = header.data_page_header;
      if (!dph) {
        throw new CodecError("CORRUPT_FILE", "data page without header");
      }
      numLevels = dph.num_values;
      encoding = dph.encoding;
      page = decompress(codec, body, header.uncompressed_page_size, options.decompressors);
      if (page.length < header.uncompressed_page_size) {
        throw new CodecError("CORRUPT_FILE", "page decompressed to fewer bytes than declared");
      }
      c.bytes = page;
      c.end = page.length;
      const pv = new DataView(page.buffer, page.byteOffset, page.byteLength);
      if (leaf.maxRep > 0) {
        if (c.pos + 4 > c.end) {
          throw new CodecError("CORRUPT_FILE", "page too short for its repetition levels");
        }
        const len = pv.getUint32(c.pos, true);
        repCursor = { bytes: page, pos: c.pos + 4, end: c.pos + 4 + len };
        c.pos += 4 + len;
      }
      if (leaf.maxDef > 0) {
        if (c.pos + 4 > c.end) {
          throw new CodecError("CORRUPT_FILE", "page too short for its definition levels");
        }
        const len = pv.getUint32(c.pos, true);
        defCursor = { bytes: page, pos: c.pos + 4, end: c.pos + 4 + len };
        c.pos += 4 + len;
      }
      if (c.pos > c.end || (repCursor && repCursor.end > c.end) || (defCursor && defCursor.end > c.end)) {
        throw new CodecError("CORRUPT_FILE", "levels run past the end of their page");
      }
    } else {
      const h2 = header.data_page_header_v2;
      if (!h2) {
        throw new CodecError("CORRUPT_FILE", "data page v2 without header");
      }
      numLevels = h2.num_values;
      encoding = h2.encoding;
      const repLen = h2.repetition_levels_byte_length;
      const defLen = h2.definition_levels_byte_length;
      if (repLen + defLen > body.length) {
        throw new CodecError("CORRUPT_FILE", "levels run past the end of their page");
      }
      if (leaf.maxRep > 0) {
        repCursor = { bytes: body, pos: 0, end: repLen };
      }
      if (leaf.maxDef > 0) {
        defCursor = { bytes: body, pos: repLen, end: repLen + defLen };
      }
      const rest = body.subarray(repLen + defLen);
      page =
        h2.is_compressed === false || codec === 0
          ? rest
          : decompress(codec, rest, header.uncompressed_page_size - repLen - defLen, options.decompressors);
      c.bytes = page;
      c.pos = 0;
      c.end = page.length;
    }
    if (!(numLevels >= 0) || levelTotal + numLevels > numValues) {
      throw new CodecError("CORRUPT_FILE", `pages hold more than the ${numValues} values their chunk declares`);
    }

    // Levels -> number of values in this page and row offsets.
    let pageValues: number;
    const bitWidthDef = 32 - Math.clz32(leaf.maxDef);
    if (isList) {
      const allPresent = defCursor ? isSingleRun(defCursor, leaf.maxDef, numLevels, bitWidthDef) : true;
      if (allPresent && repCursor) {
        const before = rows;
        rows = repLevelsToRowStarts(repCursor, numLevels, valueCount, rowOffsets as Int32Array, rows);
        if (before === 0 && rows > 0 && (rowOffsets as Int32Array)[0] !== 0) {
          throw new CodecError("CORRUPT_FILE", "first level of a column chunk is not a row start");
        }
        pageValues = numLevels;
      } else {
        pageValues = 0;
        const def = scratch8(numLevels, "def");
        const rep = scratch8(numLevels, "rep");
        if (defCursor) {
          const got = readRleHybrid(defCursor, bitWidthDef, def, 0, numLevels);
          if (got < numLevels) {
            throw new CodecError("CORRUPT_FILE", `definition levels end after ${got} of ${numLevels}`);
          }
        } else {
          def.fill(leaf.maxDef, 0, numLevels);
        }
        if (repCursor) {
          const got = readRleHybrid(repCursor, 1, rep, 0, numLevels);
          if (got < numLevels) {
            throw new CodecError("CORRUPT_FILE", `repetition levels end after ${got} of ${numLevels}`);
          }
        }
        const offs = rowOffsets as Int32Array;
        for (let i = 0; i < numLevels; i++) {
          if (rep[i] === 0) {
            if (rows >= numRows) {
              throw new CodecError("CORRUPT_FILE", "more rows in a column chunk than its row group declares");
            }
            offs[rows++] = valueCount + pageValues;
          } else if (rows === 0) {
            throw new CodecError("CORRUPT_FILE", "first level of a column chunk is not a row start");
          }
          const d = def[i] as number;
          if (d === leaf.maxDef) {
            pageValues++;
          } else if (d < leaf.emptyDef || d >= leaf.slotDef) {
            throw new CodecError("NULL_VALUE", `null ${d < leaf.emptyDef ? "list" : "element"}`, { row: rows - 1 });
          }
        }
      }
    } else {
      if (defCursor && !isSingleRun(defCursor, leaf.maxDef, numLevels, bitWidthDef)) {
        const def = scratch8(numLevels, "def");
        readRleHybrid(defCursor, bitWidthDef, def, 0, numLevels);
        for (let i = 0; i < numLevels; i++) {
          if (def[i] !== leaf.maxDef) {
            throw new CodecError("NULL_VALUE", "null value", { row: rows + i });
          }
        }
      }
      pageValues = numLevels;
      if (!binary) {
        rows += numLevels;
        if (rows > numRows) {
          throw new CodecError("CORRUPT_FILE", "more rows in a column chunk than its row group declares");
        }
      }
    }

    // Values.
    if (binary) {
      const offs = rowOffsets as Int32Array;
      const res = readBinaryValues(c, encoding, pageValues, values as Uint8Array, byteCount, offs, rows, dictionary);
      values = res.values;
      byteCount = res.byteCount;
      rows += pageValues;
      if (rows > numRows) {
        throw new CodecError("CORRUPT_FILE", "more rows in a column chunk than its row group declares");
      }
    } else {
      if (valueCount + pageValues > numValues) {
        throw new CodecError("CORRUPT_FILE", "more values than the column chunk declares");
      }
      if (valueCount + pageValues > values.length) {
        // plausibility before allocating: PLAIN needs the bytes, DELTA_BINARY_PACKED >= 5 bytes per 128 values
        const left = c.end - c.pos;
        const width = leaf.physical === "DOUBLE" || leaf.physical === "INT64" ? 8 : 4;
        if (
          (encoding === "PLAIN" && pageValues * width > left) ||
          (encoding === "DELTA_BINARY_PACKED" && pageValues > left * 26 + 1)
        ) {
          throw new CodecError("CORRUPT_FILE", `page holds fewer than its ${pageValues} values`);
        }
        values = grow(values, kind, valueCount + pageValues);
      }
      orBits |= readValues(c, encoding, leaf, kind, values, valueCount, pageValues, dictionary);
      valueCount += pageValues;
    }
    levelTotal += numLevels;
  }
  if (levelTotal !== numValues) {
    throw new CodecError("CORRUPT_FILE", `column chunk ends after ${levelTotal} of ${numValues} values: truncated?`);
  }
  if (rows !== numRows) {
    throw new CodecError("CORRUPT_FILE", `column chunk holds ${rows} rows, its row group ${numRows}`);
  }
  // uint16/uint8 columns (whatever they are decoded into: low ids go to int32): every value must fit the type. The
  // OR of all values comes from the decoding loops; only on failure are the values scanned for the row.
  const bits =
    kind === "u16" || leaf.logical.endsWith("uint16>") ? 16 : kind === "u8" || leaf.logical.endsWith("uint8>") ? 8 : 0;
  if (bits > 0 && orBits >>> bits !== 0) {
    let i = 0;
    while (i < valueCount && (values[i] as number) >>> bits === 0) {
      i++;
    }
    let row: number | undefined;
    if (rowOffsets && i < valueCount) {
      row = 0;
      while (row + 1 < numRows && (rowOffsets[row + 1] as number) <= i) {
        row++;
      }
    }
    throw new CodecError("INVALID_VALUE", `value ${values[i]} does not fit uint${bits}`, { row });
  }
  if (rowOffsets) {
    rowOffsets[numRows] = binary ? byteCount : valueCount;
    if (binary) {
      values = (values as Uint8Array).subarray(0, byteCount);
    }
  }
  if (isList && valueCount < values.length) {
    values = values.subarray(0, valueCount);
  }
  return rowOffsets ? { values, rowOffsets } : { values };
}

/** True if the levels are one RLE run of `value` covering `n` levels (the no-null, no-empty case). */
function isSingleRun(c: Cursor, value: number, n: number, bitWidth: number): boolean {
  let pos = c.pos;
  const bytes = c.bytes;
  let header = 0;
  let mul = 1;
  for (;;) {
    if (pos >= c.end) {
      return false;
    }
    const b = bytes[pos++] as number;
    header += (b & 0x7f) * mul;
    if (b < 0x80) {
      break;
    }
    mul *= 128;
  }
  if ((header & 1) !== 0 || header / 2 < n) {
    return false;
  }
  let v = 0;
  const nb = (bitWidth + 7) >>> 3;
  for (let k = 0; k < nb; k++) {
    v |= (bytes[pos + k] as number) << (8 * k);
  }
  return v === value;
}

function readDictionary(raw: Uint8Array, leaf: LeafInfo, n: number, kind: ValueKind): Dictionary {
  const c: Cursor = { bytes: raw, pos: 0, end: raw.length };
  if (kind === "bytes") {
    const out: Uint8Array[] = [];
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < n; i++) {
      if (c.pos + 4 > c.end) {
        throw new CodecError("CORRUPT_FILE", "dictionary page too short");
      }
      const len = view.getUint32(c.pos, true);
      if (c.pos + 4 + len > c.end) {
        throw new CodecError("CORRUPT_FILE", "dictionary page too short");
      }
      out.push(raw.slice(c.pos + 4, c.pos + 4 + len));
      c.pos += 4 + len;
    }
    return out;
  }
  const dict = allocValues(kind === "u16" || kind === "u8" ? "i32" : kind, n);
  readPlain(c, leaf, dict, 0, n);
  return dict;
}

function readValues(
  c: Cursor,
  encoding: string,
  leaf: LeafInfo,
  kind: ValueKind,
  out: DecodedValues,
  offset: number,
  n: number,
  dictionary: Dictionary | undefined,
): number {
  switch (encoding) {
    case "PLAIN":
      return readPlain(c, leaf, out, offset, n);
    case "DELTA_BINARY_PACKED":
      if (leaf.physical !== "INT32" || kind === "f32" || kind === "f64") {
        throw new CodecError("UNSUPPORTED", `DELTA_BINARY_PACKED for ${leaf.physical} into ${kind}`);
      }
      return readDeltaBinaryPacked(c, out as Int32Array, offset, n);
    case "PLAIN_DICTIONARY":
    case "RLE_DICTIONARY": {
      if (!dictionary || Array.isArray(dictionary)) {
        throw new CodecError("CORRUPT_FILE", "dictionary-encoded page without a dictionary page");
      }
      if (c.pos >= c.end && n > 0) {
        throw new CodecError("CORRUPT_FILE", "dictionary page data is empty");
      }
      const width = c.bytes[c.pos++] as number;
      if (width > 32) {
        throw new CodecError("CORRUPT_FILE", `dictionary index bit width ${width}`);
      }
      switch (kind) {
        case "i32":
          return dictI32(c, width, n, dictionary as Int32Array, out as Int32Array, offset);
        case "u16":
          return dictU16(c, width, n, dictionary as Int32Array, out as Uint16Array, offset);
        case "u8":
          return dictU8(c, width, n, dictionary as Int32Array, out as Uint8Array, offset);
        case "f32":
          dictF32(c, width, n, dictionary as Float32Array, out as Float32Array, offset);
          return 0;
        default:
          dictF64(c, width, n, dictionary as Float64Array, out as Float64Array, offset);
          return 0;
      }
    }
    case "BYTE_STREAM_SPLIT":
      return readByteStreamSplit(c, leaf, out, offset, n);
    default:
      throw new CodecError("UNSUPPORTED", `encoding ${encoding} for ${leaf.physical}`);
  }
}

function readPlain(c: Cursor, leaf: LeafInfo, out: DecodedValues, offset: number, n: number): number {
  const { bytes } = c;
  const width = leaf.physical === "DOUBLE" || leaf.physical === "INT64" ? 8 : 4;
  if (
    leaf.physical !== "INT32" &&
    leaf.physical !== "FLOAT" &&
    leaf.physical !== "DOUBLE" &&
    leaf.physical !== "INT64"
  ) {
    throw new CodecError("UNSUPPORTED", `PLAIN ${leaf.physical} values here`);
  }
  if (c.pos + n * width > c.end) {
    throw new CodecError("CORRUPT_FILE", `page holds fewer than ${n} values`);
  }
  const byteOffset = bytes.byteOffset + c.pos;
  const view = new DataView(bytes.buffer, byteOffset, n * width);
  let or = 0;
  if (leaf.physical === "INT32") {
    // one monomorphic loop per output type (a store into the `DecodedValues` union is megamorphic and slow)
    if (out instanceof Int32Array) {
      copyBytes(bytes, c.pos, out, offset, n * 4);
      or = orI32(out, offset, n);
    } else if (out instanceof Uint16Array) {
      or = plainI32toU16(bytes, c.pos, out, offset, n);
    } else if (out instanceof Uint8Array) {
      or = plainI32toU8(bytes, c.pos, out, offset, n);
    } else {
      for (let i = 0; i < n; i++) {
        const v = view.getInt32(i * 4, true);
        out[offset + i] = v;
        or |= v;
      }
    }
  } else if (leaf.physical === "INT64") {
    for (let i = 0; i < n; i++) {
      const lo = view.getUint32(i * 8, true);
      const hi = view.getInt32(i * 8 + 4, true);
      if (!((hi === 0 && lo <= 0x7fffffff) || (hi === -1 && lo >= 0x80000000))) {
        throw new CodecError("INVALID_VALUE", "int64 value does not fit int32");
      }
      out[offset + i] = lo | 0;
      or |= lo | 0;
    }
  } else if (leaf.physical === "FLOAT") {
    if (out instanceof Float32Array) {
      copyBytes(bytes, c.pos, out, offset, n * 4);
    } else {
      for (let i = 0; i < n; i++) {
        out[offset + i] = view.getFloat32(i * 4, true);
      }
    }
  } else {
    if (out instanceof Float64Array) {
      copyBytes(bytes, c.pos, out, offset, n * 8);
    } else {
      for (let i = 0; i < n; i++) {
        out[offset + i] = view.getFloat64(i * 8, true);
      }
    }
  }
  c.pos += n * width;
  return or;
}

/**
 * Copy `len` little-endian value bytes into a typed array at element `offset` (a memcpy whatever the alignment of
 * the source; typed arrays are little-endian on every platform Node runs on).
 */
function copyBytes(src: Uint8Array, pos: number, out: DecodedValues, offset: number, len: number): void {
  new Uint8Array(out.buffer, out.byteOffset + offset * out.BYTES_PER_ELEMENT, len).set(src.subarray(pos, pos + len));
}

function orI32(out: Int32Array, offset: number, n: number): number {
  let or = 0;
  for (let i = offset; i < offset + n; i++) {
    or |= out[i] as number;
  }
  return or;
}

function plainI32toU16(bytes: Uint8Array, pos: number, out: Uint16Array, offset: number, n: number): number {
  let or = 0;
  for (let i = 0; i < n; i++) {
    const p = pos + 4 * i;
    const v =
      (bytes[p] as number) |
      ((bytes[p + 1] as number) << 8) |
      ((bytes[p + 2] as number) << 16) |
      ((bytes[p + 3] as number) << 24);
    out[offset + i] = v;
    or |= v;
  }
  return or;
}

function plainI32toU8(bytes: Uint8Array, pos: number, out: Uint8Array, offset: number, n: number): number {
  let or = 0;
  for (let i = 0; i < n; i++) {
    const p = pos + 4 * i;
    const v =
      (bytes[p] as number) |
      ((bytes[p + 1] as number) << 8) |
      ((bytes[p + 2] as number) << 16) |
      ((bytes[p + 3] as number) << 24);
    out[offset + i] = v;
    or |= v;
  }
  return or;
}

function readByteStreamSplit(c: Cursor, leaf: LeafInfo, out: DecodedValues, offset: number, n: number): number {
  const width = leaf.physical === "DOUBLE" || leaf.physical === "INT64" ? 8 : 4;
  if (c.pos + n * width > c.end) {
    throw new CodecError("CORRUPT_FILE", `page holds fewer than ${n} values`);
  }
  const src = c.bytes;
  if (out.BYTES_PER_ELEMENT === width && (leaf.physical === "FLOAT" || leaf.physical === "DOUBLE")) {
    // interleave the byte streams straight into the output's bytes (little-endian, as typed arrays are here)
    const dst = new Uint8Array(out.buffer, out.byteOffset + offset * width, n * width);
    for (let b = 0; b < width; b++) {
      const base = c.pos + b * n;
      for (let i = 0; i < n; i++) {
        dst[i * width + b] = src[base + i] as number;
      }
    }
    c.pos += n * width;
    return 0;
  }
  const tmp = new Uint8Array(n * width);
  for (let b = 0; b < width; b++) {
    const base = c.pos + b * n;
    for (let i = 0; i < n; i++) {
      tmp[i * width + b] = src[base + i] as number;
    }
  }
  c.pos += n * width;
  return readPlain({ bytes: tmp, pos: 0, end: tmp.length }, leaf, out, offset, n);
}

function readBinaryValues(
  c: Cursor,
  encoding: string,
  n: number,
  out: Uint8Array,
  byteCount: number,
  rowOffsets: Int32Array,
  row: number,
  dictionary: Dictionary | undefined,
): { values: Uint8Array; byteCount: number } {
  const put = (value: Uint8Array, r: number): void => {
    if (byteCount + value.length > out.length) {
      const grown = new Uint8Array(Math.max(out.length * 2, byteCount + value.length));
      grown.set(out.subarray(0, byteCount));
      out = grown;
    }
    rowOffsets[r] = byteCount;
    out.set(value, byteCount);
    byteCount += value.length;
  };
  if (row + n > rowOffsets.length - 1) {
    throw new CodecError("CORRUPT_FILE", "more rows in a column chunk than its row group declares");
  }
  if (encoding === "PLAIN") {
    const view = new DataView(c.bytes.buffer, c.bytes.byteOffset, c.bytes.byteLength);
    for (let i = 0; i < n; i++) {
      if (c.pos + 4 > c.end) {
        throw new CodecError("CORRUPT_FILE", "binary value past the end of its page", { row: row + i });
      }
      const len = view.getUint32(c.pos, true);
      if (c.pos + 4 + len > c.end) {
        throw new CodecError("CORRUPT_FILE", `binary value of ${len} bytes past the end of its page`, {
          row: row + i,
        });
      }
      put(c.bytes.subarray(c.pos + 4, c.pos + 4 + len), row + i);
      c.pos += 4 + len;
    }
  } else if (encoding === "RLE_DICTIONARY" || encoding === "PLAIN_DICTIONARY") {
    if (!dictionary || !Array.isArray(dictionary)) {
      throw new CodecError("CORRUPT_FILE", "dictionary-encoded page without a dictionary page");
    }
    const width = c.bytes[c.pos++] as number;
    const idx = new Int32Array(n);
    if (readRleHybrid(c, width, idx, 0, n) < n) {
      throw new CodecError("CORRUPT_FILE", "dictionary indices end early");
    }
    for (let i = 0; i < n; i++) {
      const v = dictionary[idx[i] as number];
      if (!v) {
        throw new CodecError("CORRUPT_FILE", `dictionary index ${idx[i]} out of range`);
      }
      put(v, row + i);
    }
  } else if (encoding === "DELTA_LENGTH_BYTE_ARRAY" || encoding === "DELTA_BYTE_ARRAY") {
    const reader = { view: new DataView(c.bytes.buffer, c.bytes.byteOffset, c.end), offset: c.pos };
    const vals: Uint8Array[] = new Array(n);
    try {
      (encoding === "DELTA_BYTE_ARRAY" ? deltaByteArray : deltaLengthByteArray)(reader, n, vals);
    } catch (error) {
      throw new CodecError("CORRUPT_FILE", `${encoding}: ${(error as Error).message}`, {}, { cause: error });
    }
    for (let i = 0; i < n; i++) {
      put(vals[i] as Uint8Array, row + i);
    }
    c.pos = reader.offset;
  } else {
    throw new CodecError("UNSUPPORTED", `encoding ${encoding} for BYTE_ARRAY`);
  }
  return { values: out, byteCount };
}
