import { CodecError } from "./errors.js";
import type { DecodedColumn } from "./internal/parquet-reader.js";
import { packedHighLength } from "./pack.js";
import { QUANT_LEVELS } from "./quantize.js";
import type {
  ImportanceBatch,
  ImportanceSample,
  LayoutName,
  LogitBatch,
  LogitSample,
  NucleusBatch,
  NucleusSample,
  SparseLogits,
} from "./types.js";

export type BatchColumns = Readonly<Record<string, DecodedColumn | undefined>>;

interface Ctx {
  firstRow: number;
  file?: string;
  /** Ids must be below this: the teacher's logits width from the settings, else 2^18. */
  idLimit: number;
}

/** The id limit when a file does not record its teacher's logits width: what 18-bit packing can hold. */
export const MAX_ID_LIMIT = 1 << 18;

/** Dataset indices must be >= 0. */
function checkIndex(index: Int32Array, ctx: Ctx): void {
  for (let r = 0; r < index.length; r++) {
    if ((index[r] as number) < 0) {
      throw new CodecError("INVALID_VALUE", `index ${index[r]} (need >= 0)`, {
        file: ctx.file,
        row: ctx.firstRow + r,
        column: "index",
      });
    }
  }
}

function need(cols: BatchColumns, name: string, ctx: Ctx): DecodedColumn {
  const c = cols[name];
  if (!c) {
    throw new CodecError("SCHEMA_MISMATCH", "column missing", { file: ctx.file, column: name });
  }
  return c;
}

/** Row of the batch that owns position `p` (binary search over row offsets). */
function rowOfPosition(rowOffsets: Int32Array, p: number): number {
  let lo = 0;
  let hi = rowOffsets.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if ((rowOffsets[mid] as number) <= p) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

/** Per-position column: one value per position of every row. */
function checkPerPosition(col: DecodedColumn, name: string, numTokens: Int32Array, ctx: Ctx): void {
  const ro = col.rowOffsets;
  if (!ro) {
    throw new CodecError("SCHEMA_MISMATCH", "expected a list column", { file: ctx.file, column: name });
  }
  for (let r = 0; r < numTokens.length; r++) {
    const n = (ro[r + 1] as number) - (ro[r] as number);
    if (n !== numTokens[r]) {
      throw new CodecError("INCONSISTENT_ROW", `${n} values, but num_tokens is ${numTokens[r]}`, {
        file: ctx.file,
        row: ctx.firstRow + r,
        column: name,
      });
    }
  }
}

function checkBounds(min: Float32Array, max: Float32Array, rowOffsets: Int32Array, names: [string, string], ctx: Ctx) {
  const n = min.length;
  for (let p = 0; p < n; p++) {
    const mn = min[p] as number;
    const mx = max[p] as number;
    if (!(mn <= mx && mn > Number.NEGATIVE_INFINITY && mx < Number.POSITIVE_INFINITY)) {
      const r = rowOfPosition(rowOffsets, p);
      const bad = !(mn > Number.NEGATIVE_INFINITY && mn < Number.POSITIVE_INFINITY) ? names[0] : names[1];
      throw new CodecError(
        "INVALID_VALUE",
        `position ${p - (rowOffsets[r] as number)}: min ${mn}, max ${mx} (need finite min <= max)`,
        { file: ctx.file, row: ctx.firstRow + r, column: bad },
      );
    }
  }
}

function checkFinite(values: Float64Array, rowOffsets: Int32Array, name: string, ctx: Ctx): void {
  for (let p = 0; p < values.length; p++) {
    const v = values[p] as number;
    if (v - v !== 0) {
      const r = rowOfPosition(rowOffsets, p);
      throw new CodecError("INVALID_VALUE", `position ${p - (rowOffsets[r] as number)}: ${v}`, {
        file: ctx.file,
        row: ctx.firstRow + r,
        column: name,
      });
    }
  }
}

/**
 * Ids from a low column (decoded as int32) and a packed high-bits binary column, in place. Each row's high bits
 * restart at its first entry. Checks the byte count per row.
 */
function mergeHighBits(low: DecodedColumn, high: DecodedColumn, names: [string, string], ctx: Ctx): Int32Array {
  const ids = low.values as Int32Array;
  const lo = low.rowOffsets as Int32Array;
  const ho = high.rowOffsets as Int32Array;
  const hb = high.values as Uint8Array;
  const rows = lo.length - 1;
  const limit = ctx.idLimit;
  for (let r = 0; r < rows; r++) {
    const e0 = lo[r] as number;
    const n = (lo[r + 1] as number) - e0;
    const h0 = ho[r] as number;
    const hn = (ho[r + 1] as number) - h0;
    if (hn !== packedHighLength(n)) {
      throw new CodecError(
        "INCONSISTENT_ROW",
        `${hn} bytes of high bits for ${n} ids (expected ${packedHighLength(n)}) in ${names[1]}`,
        { file: ctx.file, row: ctx.firstRow + r, column: names[1] },
      );
    }
    const full = n >>> 2;
    let e = e0;
    for (let k = 0; k < full; k++) {
      const b = hb[h0 + k] as number;
      if (b !== 0) {
        ids[e] = (ids[e] as number) | ((b & 3) << 16);
        ids[e + 1] = (ids[e + 1] as number) | (((b >>> 2) & 3) << 16);
        ids[e + 2] = (ids[e + 2] as number) | (((b >>> 4) & 3) << 16);
        ids[e + 3] = (ids[e + 3] as number) | (((b >>> 6) & 3) << 16);
      }
      e += 4;
    }
    const b = hb[h0 + full] as number;
    for (let j = 0; j < (n & 3); j++) {
      ids[e + j] = (ids[e + j] as number) | (((b >>> (j << 1)) & 3) << 16);
    }
    if (limit < MAX_ID_LIMIT) {
      let max = 0;
      for (let e = e0; e < e0 + n; e++) {
        const v = ids[e] as number;
        max = Math.max(v, max);
      }
      if (max >= limit) {
        throw new CodecError(
          "INVALID_VALUE",
          `entry ${ids.subarray(e0, e0 + n).indexOf(max)}: id ${max} is outside the teacher's ${limit} logits (settings logitsWidth)`,
          { file: ctx.file, row: ctx.firstRow + r, column: names[1] },
        );
      }
    }
  }
  return ids;
}

/** Offsets per position from per-position counts; checks each row against the entry column's row lengths. */
function offsetsFromCounts(
  counts: ArrayLike<number>,
  rowOffsets: Int32Array,
  entries: DecodedColumn,
  names: [string, string],
  ctx: Ctx,
): Int32Array {
  const P = counts.length;
  const offsets = new Int32Array(P + 1);
  let acc = 0;
  for (let p = 0; p < P; p++) {
    offsets[p] = acc;
    acc += counts[p] as number;
  }
  offsets[P] = acc;
  const eo = entries.rowOffsets as Int32Array;
  const rows = rowOffsets.length - 1;
  for (let r = 0; r < rows; r++) {
    const want = (offsets[rowOffsets[r + 1] as number] as number) - (offsets[rowOffsets[r] as number] as number);
    const got = (eo[r + 1] as number) - (eo[r] as number);
    if (want !== got) {
      throw new CodecError("INCONSISTENT_ROW", `${names[0]} add up to ${want}, but ${names[1]} has ${got} entries`, {
        file: ctx.file,
        row: ctx.firstRow + r,
        column: names[0],
      });
    }
  }
  return offsets;
}

/** Offsets for a fixed number of entries per position, taken per row as `entries / num_tokens`. */
function offsetsFromStride(entries: DecodedColumn, rowOffsets: Int32Array, column: string, ctx: Ctx): Int32Array {
  const rows = rowOffsets.length - 1;
  const P = rowOffsets[rows] as number;
  const offsets = new Int32Array(P + 1);
  const eo = entries.rowOffsets as Int32Array;
  for (let r = 0; r < rows; r++) {
    const p0 = rowOffsets[r] as number;
    const t = (rowOffsets[r + 1] as number) - p0;
    const e0 = eo[r] as number;
    const n = (eo[r + 1] as number) - e0;
    if (t === 0 ? n !== 0 : n % t !== 0) {
      throw new CodecError("INCONSISTENT_ROW", `${n} entries is not a whole number per position for ${t} positions`, {
        file: ctx.file,
        row: ctx.firstRow + r,
        column,
      });
    }
    const stride = t === 0 ? 0 : n / t;
    for (let k = 0; k < t; k++) {
      offsets[p0 + k] = e0 + k * stride;
    }
  }
  offsets[P] = eo[rows] as number;
  return offsets;
}

function checkEntryLengths(a: DecodedColumn, b: DecodedColumn, names: [string, string], ctx: Ctx): void {
  const ao = a.rowOffsets as Int32Array;
  const bo = b.rowOffsets as Int32Array;
  for (let r = 0; r + 1 < ao.length; r++) {
    const na = (ao[r + 1] as number) - (ao[r] as number);
    const nb = (bo[r + 1] as number) - (bo[r] as number);
    if (na !== nb) {
      throw new CodecError("INCONSISTENT_ROW", `${na} entries in ${names[0]} but ${nb} in ${names[1]}`, {
        file: ctx.file,
        row: ctx.firstRow + r,
        column: names[1],
      });
    }
  }
}

function rowOffsetsFrom(numTokens: Int32Array, ctx: Ctx): Int32Array {
  const rowOffsets = new Int32Array(numTokens.length + 1);
  let acc = 0;
  for (let r = 0; r < numTokens.length; r++) {
    const n = numTokens[r] as number;
    if (n < 0) {
      throw new CodecError("INVALID_VALUE", `num_tokens ${n}`, {
        file: ctx.file,
        row: ctx.firstRow + r,
        column: "num_tokens",
      });
    }
    rowOffsets[r] = acc;
    acc += n;
  }
  rowOffsets[numTokens.length] = acc;
  return rowOffsets;
}

/** Build a validated nucleus batch from decoded columns of the seed layout. */
export function decodeNucleusBatch(
  cols: BatchColumns,
  numRows: number,
  firstRow: number,
  file?: string,
  idLimit = MAX_ID_LIMIT,
): NucleusBatch {
  const ctx: Ctx = { firstRow, file, idLimit };
  const numTokens = need(cols, "num_tokens", ctx).values as Int32Array;
  const rowOffsets = rowOffsetsFrom(numTokens, ctx);
  for (const name of ["top_counts", "top_min", "top_max", "sampled_min", "sampled_max", "logsumexp"]) {
    checkPerPosition(need(cols, name, ctx), name, numTokens, ctx);
  }
  const topLow = need(cols, "top_indices_low", ctx);
  const topQ = need(cols, "top_logits_quantized", ctx);
  checkEntryLengths(topLow, topQ, ["top_indices_low", "top_logits_quantized"], ctx);
  const topOffsets = offsetsFromCounts(
    need(cols, "top_counts", ctx).values as Uint8Array,
    rowOffsets,
    topLow,
    ["top_counts", "top_indices_low"],
    ctx,
  );
  const topIds = mergeHighBits(
    topLow,
    need(cols, "top_indices_high", ctx),
    ["top_indices_low", "top_indices_high"],
    ctx,
  );
  const sLow = need(cols, "sampled_indices_low", ctx);
  const sQ = need(cols, "sampled_logits_quantized", ctx);
  checkEntryLengths(sLow, sQ, ["sampled_indices_low", "sampled_logits_quantized"], ctx);
  const sOffsets = offsetsFromStride(sLow, rowOffsets, "sampled_indices_low", ctx);
  const sIds = mergeHighBits(
    sLow,
    need(cols, "sampled_indices_high", ctx),
    ["sampled_indices_low", "sampled_indices_high"],
    ctx,
  );
  const top: SparseLogits = {
    offsets: topOffsets,
    ids: topIds,
    quantized: topQ.values as Uint16Array,
    min: need(cols, "top_min", ctx).values as Float32Array,
    max: need(cols, "top_max", ctx).values as Float32Array,
  };
  const sampled: SparseLogits = {
    offsets: sOffsets,
    ids: sIds,
    quantized: sQ.values as Uint16Array,
    min: need(cols, "sampled_min", ctx).values as Float32Array,
    max: need(cols, "sampled_max", ctx).values as Float32Array,
  };
  checkBounds(top.min, top.max, rowOffsets, ["top_min", "top_max"], ctx);
  checkBounds(sampled.min, sampled.max, rowOffsets, ["sampled_min", "sampled_max"], ctx);
  const logsumexp = need(cols, "logsumexp", ctx).values as Float64Array;
  checkFinite(logsumexp, rowOffsets, "logsumexp", ctx);
  const index = need(cols, "index", ctx).values as Int32Array;
  checkIndex(index, ctx);
  return {
    layout: "nucleus",
    numRows,
    index,
    rowOffsets,
    top,
    sampled,
    logsumexp,
    levels: QUANT_LEVELS,
    firstRow,
  };
}

/**
 * The seed-001 variant. What 001 pins down is decoded exactly; what it leaves open follows the newer layout where a
 * column exists, else: no `index` -> the row number; no `top_counts` -> a fixed top-K per position
 * (`len / num_tokens`); no `*_min`/`*_max` -> NaN bounds (logits cannot be dequantized); a scalar `logsumexp` -> the
 * same value at every position.
 */
export function decodeNucleusU8Batch(
  cols: BatchColumns,
  numRows: number,
  firstRow: number,
  file?: string,
  idLimit = MAX_ID_LIMIT,
): NucleusBatch {
  const ctx: Ctx = { firstRow, file, idLimit };
  const numTokens = need(cols, "num_tokens", ctx).values as Int32Array;
  const rowOffsets = rowOffsetsFrom(numTokens, ctx);
  const P = rowOffsets[numRows] as number;
  const sparse = (prefix: "top" | "sampled"): SparseLogits => {
    const low = need(cols, `${prefix}_indices_low`, ctx);
    const qCol = need(cols, `${prefix}_logits_quantized`, ctx);
    checkEntryLengths(low, qCol, [`${prefix}_indices_low`, `${prefix}_logits_quantized`], ctx);
    const counts = cols[`${prefix}_counts`];
    let offsets: Int32Array;
    if (prefix === "top" && counts) {
      checkPerPosition(counts, "top_counts", numTokens, ctx);
      offsets = offsetsFromCounts(counts.values as Uint8Array, rowOffsets, low, ["top_counts", "top_indices_low"], ctx);
    } else {
      offsets = offsetsFromStride(low, rowOffsets, `${prefix}_indices_low`, ctx);
    }
    const ids = mergeHighBits(
      low,
      need(cols, `${prefix}_indices_high`, ctx),
      [`${prefix}_indices_low`, `${prefix}_indices_high`],
      ctx,
    );
    const quantized = Uint16Array.from(qCol.values as Uint8Array);
    const minCol = cols[`${prefix}_min`];
    const maxCol = cols[`${prefix}_max`];
    let min: Float32Array;
    let max: Float32Array;
    if (minCol && maxCol) {
      checkPerPosition(minCol, `${prefix}_min`, numTokens, ctx);
      checkPerPosition(maxCol, `${prefix}_max`, numTokens, ctx);
      min = minCol.values as Float32Array;
      max = maxCol.values as Float32Array;
      checkBounds(min, max, rowOffsets, [`${prefix}_min`, `${prefix}_max`], ctx);
    } else {
      min = new Float32Array(P).fill(Number.NaN);
      max = new Float32Array(P).fill(Number.NaN);
    }
    return { offsets, ids, quantized, min, max };
  };
  const top = sparse("top");
  const sampled = sparse("sampled");
  const lseCol = cols["logsumexp"];
  let logsumexp: Float64Array = new Float64Array(P).fill(Number.NaN);
  if (lseCol?.rowOffsets) {
    checkPerPosition(lseCol, "logsumexp", numTokens, ctx);
    logsumexp = lseCol.values as Float64Array;
  } else if (lseCol) {
    for (let r = 0; r < numRows; r++) {
      logsumexp.fill(lseCol.values[r] as number, rowOffsets[r], rowOffsets[r + 1]);
    }
  }
  const indexCol = cols["index"];
  const index = indexCol
    ? (indexCol.values as Int32Array)
    : Int32Array.from({ length: numRows }, (_, r) => firstRow + r);
  checkIndex(index, ctx);
  return { layout: "nucleus-u8", numRows, index, rowOffsets, top, sampled, logsumexp, levels: 255, firstRow };
}

/** Build a validated importance batch. */
export function decodeImportanceBatch(
  cols: BatchColumns,
  numRows: number,
  firstRow: number,
  temperature: number,
  file?: string,
  idLimit = MAX_ID_LIMIT,
): ImportanceBatch {
  const ctx: Ctx = { firstRow, file, idLimit };
  const numTokens = need(cols, "num_tokens", ctx).values as Int32Array;
  const rowOffsets = rowOffsetsFrom(numTokens, ctx);
  for (const name of ["is_counts", "is_min", "is_max", "logsumexp", "logsumexp_t"]) {
    checkPerPosition(need(cols, name, ctx), name, numTokens, ctx);
  }
  const low = need(cols, "is_indices_low", ctx);
  const q = need(cols, "is_logits_quantized", ctx);
  const draws = need(cols, "is_draws", ctx);
  checkEntryLengths(low, q, ["is_indices_low", "is_logits_quantized"], ctx);
  checkEntryLengths(low, draws, ["is_indices_low", "is_draws"], ctx);
  const offsets = offsetsFromCounts(
    need(cols, "is_counts", ctx).values as Uint16Array,
    rowOffsets,
    low,
    ["is_counts", "is_indices_low"],
    ctx,
  );
  const ids = mergeHighBits(low, need(cols, "is_indices_high", ctx), ["is_indices_low", "is_indices_high"], ctx);
  const drawn: SparseLogits = {
    offsets,
    ids,
    quantized: q.values as Uint16Array,
    min: need(cols, "is_min", ctx).values as Float32Array,
    max: need(cols, "is_max", ctx).values as Float32Array,
  };
  checkBounds(drawn.min, drawn.max, rowOffsets, ["is_min", "is_max"], ctx);
  const logsumexp = need(cols, "logsumexp", ctx).values as Float64Array;
  const logsumexpT = need(cols, "logsumexp_t", ctx).values as Float64Array;
  checkFinite(logsumexp, rowOffsets, "logsumexp", ctx);
  checkFinite(logsumexpT, rowOffsets, "logsumexp_t", ctx);
  const index = need(cols, "index", ctx).values as Int32Array;
  checkIndex(index, ctx);
  return {
    layout: "importance",
    numRows,
    index,
    rowOffsets,
    drawn,
    draws: draws.values as Uint16Array,
    logsumexp,
    logsumexpT,
    temperature,
    levels: QUANT_LEVELS,
    firstRow,
  };
}

function viewSparse(s: SparseLogits, p0: number, p1: number): SparseLogits {
  return {
    offsets: s.offsets.subarray(p0, p1 + 1),
    ids: s.ids,
    quantized: s.quantized,
    min: s.min.subarray(p0, p1),
    max: s.max.subarray(p0, p1),
  };
}

/** Row `r` of a batch as a sample: zero-copy views of the batch's arrays. */
export function sampleAt(batch: NucleusBatch, r: number): NucleusSample;
export function sampleAt(batch: ImportanceBatch, r: number): ImportanceSample;
export function sampleAt(batch: LogitBatch, r: number): LogitSample;
export function sampleAt(batch: LogitBatch, r: number): LogitSample {
  if (!(r >= 0 && r < batch.numRows)) {
    throw new RangeError(`row ${r} is outside this batch of ${batch.numRows} rows`);
  }
  const p0 = batch.rowOffsets[r] as number;
  const p1 = batch.rowOffsets[r + 1] as number;
  if (batch.layout === "importance") {
    return {
      layout: "importance",
      index: batch.index[r] as number,
      numTokens: p1 - p0,
      drawn: viewSparse(batch.drawn, p0, p1),
      draws: batch.draws,
      logsumexp: batch.logsumexp.subarray(p0, p1),
      logsumexpT: batch.logsumexpT.subarray(p0, p1),
      temperature: batch.temperature,
      levels: batch.levels,
    };
  }
  return {
    layout: batch.layout,
    index: batch.index[r] as number,
    numTokens: p1 - p0,
    top: viewSparse(batch.top, p0, p1),
    sampled: viewSparse(batch.sampled, p0, p1),
    logsumexp: batch.logsumexp.subarray(p0, p1),
    levels: batch.levels,
  };
}

/** Rows `[r0, r1)` of a batch, zero-copy (row offsets keep pointing into the full arrays). */
export function sliceBatch<B extends LogitBatch>(batch: B, r0: number, r1: number): B {
  return {
    ...batch,
    numRows: r1 - r0,
    index: batch.index.subarray(r0, r1),
    rowOffsets: batch.rowOffsets.subarray(r0, r1 + 1),
    firstRow: batch.firstRow + r0,
  };
}

/** Number of positions (assistant tokens) in a batch. */
export function batchTokens(batch: LogitBatch): number {
  return (batch.rowOffsets[batch.numRows] as number) - (batch.rowOffsets[0] as number);
}

export type { LayoutName };
