import { CodecError } from "./errors.js";
import { packedHighLength, packIndices } from "./pack.js";
import { QUANT_LEVELS, quantizeRange } from "./quantize.js";
import type { ImportanceSample, LogitSample, NucleusSample, SparseLogits } from "./types.js";

/** Values of one list or binary column of one row. */
export type RowValues = Uint16Array | Uint8Array | Float32Array | Float64Array;

/**
 * A row as stored: `index`, `num_tokens` and every other column of its layout by column name. This is what
 * `LogitWriter` writes; `encodeNucleusSample` / `encodeImportanceSample` / `encodeSample` produce it.
 */
export interface EncodedRow {
  readonly layout: "nucleus" | "importance";
  readonly index: number;
  readonly numTokens: number;
  readonly columns: Readonly<Record<string, RowValues>>;
}

/** Per-position nucleus and tail data of one example, as the extraction produces it. */
export interface NucleusInput {
  /** Index of the example in the source dataset. */
  index: number;
  /** Nucleus size per position (0..255); its length is the number of positions. */
  topCounts: ArrayLike<number>;
  /** Nucleus token ids, flat over positions (sum of `topCounts` entries). */
  topIds: ArrayLike<number>;
  /** Nucleus logits, parallel to `topIds`. */
  topLogits: ArrayLike<number>;
  /** Sampled tail ids, flat: the same number (e.g. 24) per position. */
  sampledIds: ArrayLike<number>;
  /** Sampled tail logits, parallel to `sampledIds`. */
  sampledLogits: ArrayLike<number>;
  /** Full-vocabulary logsumexp per position. */
  logsumexp: ArrayLike<number>;
}

/** Encode one example into the seed layout's columns (quantizing logits per position). */
export function encodeNucleusSample(input: NucleusInput): EncodedRow {
  const numTokens = input.topCounts.length;
  if (input.logsumexp.length !== numTokens) {
    throw new CodecError(
      "INCONSISTENT_ROW",
      `logsumexp has ${input.logsumexp.length} positions, topCounts ${numTokens}`,
      {
        column: "logsumexp",
      },
    );
  }
  let total = 0;
  const topCounts = new Uint8Array(numTokens);
  for (let t = 0; t < numTokens; t++) {
    const c = input.topCounts[t] as number;
    if (!(c >= 0 && c <= 255) || c !== Math.floor(c)) {
      throw new CodecError("INVALID_VALUE", `nucleus size ${c} at position ${t} is not in 0..255`, {
        column: "top_counts",
      });
    }
    topCounts[t] = c;
    total += c;
  }
  if (input.topIds.length !== total || input.topLogits.length !== total) {
    throw new CodecError(
      "INCONSISTENT_ROW",
      `topCounts add up to ${total}, but topIds has ${input.topIds.length} and topLogits ${input.topLogits.length}`,
      { column: "top_indices_low" },
    );
  }
  const nSampled = input.sampledIds.length;
  if (input.sampledLogits.length !== nSampled || (numTokens === 0 ? nSampled !== 0 : nSampled % numTokens !== 0)) {
    throw new CodecError(
      "INCONSISTENT_ROW",
      `sampled ids (${nSampled}) and logits (${input.sampledLogits.length}) must be the same multiple of ${numTokens} positions`,
      { column: "sampled_indices_low" },
    );
  }
  const stride = numTokens === 0 ? 0 : nSampled / numTokens;
  const top = encodeSparse(input.topIds, input.topLogits, numTokens, topCounts);
  const sampled = encodeSparse(input.sampledIds, input.sampledLogits, numTokens, null, stride);
  const logsumexp = Float64Array.from(input.logsumexp);
  for (let t = 0; t < numTokens; t++) {
    if (!Number.isFinite(logsumexp[t])) {
      throw new CodecError("INVALID_VALUE", `logsumexp ${logsumexp[t]} at position ${t}`, { column: "logsumexp" });
    }
  }
  return {
    layout: "nucleus",
    index: checkIndexArg(input.index),
    numTokens,
    columns: {
      top_indices_low: top.low,
      top_indices_high: top.high,
      top_logits_quantized: top.q,
      top_counts: topCounts,
      top_min: top.min,
      top_max: top.max,
      sampled_indices_low: sampled.low,
      sampled_indices_high: sampled.high,
      sampled_logits_quantized: sampled.q,
      sampled_min: sampled.min,
      sampled_max: sampled.max,
      logsumexp,
    },
  };
}

interface SparseEncoded {
  low: Uint16Array;
  high: Uint8Array;
  q: Uint16Array;
  min: Float32Array;
  max: Float32Array;
}

function encodeSparse(
  ids: ArrayLike<number>,
  logits: ArrayLike<number>,
  numTokens: number,
  counts: Uint8Array | Uint16Array | null,
  stride = 0,
): SparseEncoded {
  const n = ids.length;
  const low = new Uint16Array(n);
  const high = new Uint8Array(packedHighLength(n));
  packIndices(ids, low, high);
  const q = new Uint16Array(n);
  const min = new Float32Array(numTokens);
  const max = new Float32Array(numTokens);
  let at = 0;
  for (let t = 0; t < numTokens; t++) {
    const c = counts ? (counts[t] as number) : stride;
    try {
      quantizeRange(logits, at, at + c, q, at, min, max, t);
    } catch (error) {
      throw new CodecError("INVALID_VALUE", `position ${t}: ${(error as Error).message}`, {}, { cause: error });
    }
    at += c;
  }
  return { low, high, q, min, max };
}

/** Per-position importance-sampling draws of one example (seed 004). */
export interface ImportanceInput {
  index: number;
  /** Unique drawn ids per position. */
  counts: ArrayLike<number>;
  /** Drawn ids, flat over positions (unique within a position). */
  ids: ArrayLike<number>;
  /** How many of the `rounds` draws fell on each id. */
  draws: ArrayLike<number>;
  /** Logits of the drawn ids. */
  logits: ArrayLike<number>;
  /** Full-vocabulary logsumexp of the logits, per position. */
  logsumexp: ArrayLike<number>;
  /** Full-vocabulary logsumexp of logits / temperature, per position. */
  logsumexpT: ArrayLike<number>;
}

/** Encode one example into the importance layout's columns. */
export function encodeImportanceSample(input: ImportanceInput): EncodedRow {
  const numTokens = input.counts.length;
  const counts = new Uint16Array(numTokens);
  let total = 0;
  for (let t = 0; t < numTokens; t++) {
    const c = input.counts[t] as number;
    if (!(c >= 0 && c <= 65535) || c !== Math.floor(c)) {
      throw new CodecError("INVALID_VALUE", `unique count ${c} at position ${t}`, { column: "is_counts" });
    }
    counts[t] = c;
    total += c;
  }
  if (input.ids.length !== total || input.draws.length !== total || input.logits.length !== total) {
    throw new CodecError(
      "INCONSISTENT_ROW",
      `counts add up to ${total}; ids ${input.ids.length}, draws ${input.draws.length}, logits ${input.logits.length}`,
      { column: "is_indices_low" },
    );
  }
  if (input.logsumexp.length !== numTokens || input.logsumexpT.length !== numTokens) {
    throw new CodecError("INCONSISTENT_ROW", "logsumexp and logsumexpT need one value per position", {
      column: "logsumexp",
    });
  }
  const draws = new Uint16Array(total);
  for (let i = 0; i < total; i++) {
    const d = input.draws[i] as number;
    if (!(d >= 1 && d <= 65535) || d !== Math.floor(d)) {
      throw new CodecError("INVALID_VALUE", `draw count ${d} at entry ${i}`, { column: "is_draws" });
    }
    draws[i] = d;
  }
  const enc = encodeSparse(input.ids, input.logits, numTokens, counts);
  return {
    layout: "importance",
    index: checkIndexArg(input.index),
    numTokens,
    columns: {
      is_indices_low: enc.low,
      is_indices_high: enc.high,
      is_counts: counts,
      is_draws: draws,
      is_logits_quantized: enc.q,
      is_min: enc.min,
      is_max: enc.max,
      logsumexp: Float64Array.from(input.logsumexp),
      logsumexp_t: Float64Array.from(input.logsumexpT),
    },
  };
}

/**
 * Re-encode a decoded sample without touching its quantized values: decode -> encode is byte-exact.
 * (The u8 legacy layout cannot be re-encoded: its values are widened on read.)
 */
export function encodeSample(sample: LogitSample): EncodedRow {
  if (sample.layout === "nucleus-u8") {
    throw new CodecError("UNSUPPORTED", "the nucleus-u8 layout is read-only");
  }
  return sample.layout === "importance" ? encodeImportanceStored(sample) : encodeNucleusStored(sample);
}

function storedSparse(s: SparseLogits, numTokens: number) {
  const e0 = s.offsets[0] as number;
  const e1 = s.offsets[numTokens] as number;
  const n = e1 - e0;
  const low = new Uint16Array(n);
  const high = new Uint8Array(packedHighLength(n));
  packIndices(s.ids, low, high, e0, e1);
  return { low, high, q: s.quantized.slice(e0, e1), min: s.min.slice(0, numTokens), max: s.max.slice(0, numTokens) };
}

function encodeNucleusStored(s: NucleusSample): EncodedRow {
  const top = storedSparse(s.top, s.numTokens);
  const sampled = storedSparse(s.sampled, s.numTokens);
  const counts = new Uint8Array(s.numTokens);
  for (let t = 0; t < s.numTokens; t++) {
    counts[t] = (s.top.offsets[t + 1] as number) - (s.top.offsets[t] as number);
  }
  return {
    layout: "nucleus",
    index: s.index,
    numTokens: s.numTokens,
    columns: {
      top_indices_low: top.low,
      top_indices_high: top.high,
      top_logits_quantized: top.q,
      top_counts: counts,
      top_min: top.min,
      top_max: top.max,
      sampled_indices_low: sampled.low,
      sampled_indices_high: sampled.high,
      sampled_logits_quantized: sampled.q,
      sampled_min: sampled.min,
      sampled_max: sampled.max,
      logsumexp: s.logsumexp.slice(0, s.numTokens),
    },
  };
}

function encodeImportanceStored(s: ImportanceSample): EncodedRow {
  const d = storedSparse(s.drawn, s.numTokens);
  const counts = new Uint16Array(s.numTokens);
  for (let t = 0; t < s.numTokens; t++) {
    counts[t] = (s.drawn.offsets[t + 1] as number) - (s.drawn.offsets[t] as number);
  }
  const e0 = s.drawn.offsets[0] as number;
  return {
    layout: "importance",
    index: s.index,
    numTokens: s.numTokens,
    columns: {
      is_indices_low: d.low,
      is_indices_high: d.high,
      is_counts: counts,
      is_draws: s.draws.slice(e0, e0 + d.low.length),
      is_logits_quantized: d.q,
      is_min: d.min,
      is_max: d.max,
      logsumexp: s.logsumexp.slice(0, s.numTokens),
      logsumexp_t: s.logsumexpT.slice(0, s.numTokens),
    },
  };
}

export { QUANT_LEVELS };

/** A dataset index is an int32 >= 0 (readers reject negative ones). */
function checkIndexArg(index: number): number {
  if (!(Number.isInteger(index) && index >= 0 && index <= 0x7fffffff)) {
    throw new CodecError("INVALID_VALUE", `index ${index} (expected an integer in [0, 2^31 - 1])`, { column: "index" });
  }
  return index;
}
