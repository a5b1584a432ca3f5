import { SamplerError } from "./errors.js";

/** `[maxLength, batchSize]` pairs, ascending by length: sequences up to `maxLength` tokens go `batchSize` at a time. */
export type BatchThresholds = readonly (readonly [maxLength: number, batchSize: number])[];

/** The seed's defaults: <= 256 -> 16, <= 512 -> 8, <= 1024 -> 4, <= 2048 -> 2, longer -> 1. */
export const DEFAULT_BATCH_THRESHOLDS: BatchThresholds = Object.freeze([
  [256, 16],
  [512, 8],
  [1024, 4],
  [2048, 2],
] as const);

/**
 * Parses `--batch-thresholds` (`{"256": 16, "512": 8, "1024": 4, "2048": 2}`: seq_len -> batch size). Lengths
 * above the largest key get batch size 1. Malformed JSON or values are `INVALID_FLAG` naming the flag.
 */
export function parseBatchThresholds(
  value: string | Record<string, unknown>,
  flag = "--batch-thresholds",
): BatchThresholds {
  let v: unknown = value;
  if (typeof value === "string") {
    try {
      v = JSON.parse(value);
    } catch (error) {
      throw new SamplerError(
        "INVALID_FLAG",
        `not valid JSON (${(error as Error).message}); expected an object like {"256": 16, "512": 8, "1024": 4, "2048": 2}`,
        { flag },
      );
    }
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new SamplerError("INVALID_FLAG", 'expected a JSON object of seq_len -> batch size, like {"512": 8}', {
      flag,
    });
  }
  const out: [number, number][] = [];
  for (const [k, b] of Object.entries(v)) {
    const len = Number(k);
    if (!Number.isInteger(len) || len <= 0) {
      throw new SamplerError("INVALID_FLAG", `key "${k}" is not a positive integer sequence length`, { flag });
    }
    if (typeof b !== "number" || !Number.isInteger(b) || b <= 0) {
      throw new SamplerError(
        "INVALID_FLAG",
        `batch size for ${k} must be a positive integer, got ${JSON.stringify(b)}`,
        {
          flag,
        },
      );
    }
    out.push([len, b]);
  }
  if (out.length === 0) {
    throw new SamplerError("INVALID_FLAG", "needs at least one seq_len -> batch size entry", { flag });
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/** Batch size for a sequence of `length` tokens. */
export function batchSizeFor(length: number, thresholds: BatchThresholds = DEFAULT_BATCH_THRESHOLDS): number {
  for (const [max, size] of thresholds) {
    if (length <= max) {
      return size;
    }
  }
  return 1;
}

/**
 * Batches as flat arrays: batch `b` holds dataset indices `order[offsets[b]] .. order[offsets[b + 1] - 1]`.
 * `lengths[k]` is the length of `order[k]` when known.
 */
export interface BatchPlan {
  order: Int32Array;
  offsets: Int32Array;
  lengths?: Int32Array;
}

export function numBatches(plan: BatchPlan): number {
  return plan.offsets.length - 1;
}

/** Batch `b`'s dataset indices (a view). */
export function batchAt(plan: BatchPlan, b: number): Int32Array {
  return plan.order.subarray(plan.offsets[b] as number, plan.offsets[b + 1] as number);
}

/** Iterates batches as `{ indices, maxLength }` views. */
export function* iterateBatches(
  plan: BatchPlan,
): Generator<{ batch: number; indices: Int32Array; maxLength: number | undefined }> {
  for (let b = 0; b < numBatches(plan); b++) {
    const from = plan.offsets[b] as number;
    const to = plan.offsets[b + 1] as number;
    let maxLength: number | undefined;
    if (plan.lengths) {
      maxLength = 0;
      for (let k = from; k < to; k++) {
        maxLength = Math.max(maxLength, plan.lengths[k] as number);
      }
    }
    yield { batch: b, indices: plan.order.subarray(from, to), maxLength };
  }
}

/** Sort key order: length descending, then dataset index ascending (a total order: deterministic). */
function sortLongestFirst(index: Int32Array, lengths: Int32Array): { order: Int32Array; lengths: Int32Array } {
  const n = index.length;
  // key = (2^21 - 1 - length) * 2^31 + position: exact in a double for length < 2^21 and n < 2^31
  const keys = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const len = lengths[k] as number;
    if (len < 0 || len >= 2 ** 21) {
      throw new RangeError(`length ${len} of example ${index[k]} is out of range`);
    }
    keys[k] = (2 ** 21 - 1 - len) * 2 ** 31 + k;
  }
  keys.sort();
  const order = new Int32Array(n);
  const sortedLengths = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const pos = (keys[k] as number) % 2 ** 31;
    order[k] = index[pos] as number;
    sortedLengths[k] = lengths[pos] as number;
  }
  // ties: positions ascend within one length, and positions follow dataset index order when `index` ascends
  return { order, lengths: sortedLengths };
}

/**
 * Longest first with dynamic batch sizes (seed `TokenBudgetBatchSampler`): each batch takes the batch size of its
 * first (longest) example from `thresholds`.
 */
export function planDynamicBatches(
  index: Int32Array,
  lengths: Int32Array,
  thresholds: BatchThresholds = DEFAULT_BATCH_THRESHOLDS,
): BatchPlan {
  const { order, lengths: sorted } = sortLongestFirst(index, lengths);
  const offsets: number[] = [0];
  let k = 0;
  while (k < order.length) {
    k = Math.min(order.length, k + batchSizeFor(sorted[k] as number, thresholds));
    offsets.push(k);
  }
  return { order, offsets: Int32Array.from(offsets), lengths: sorted };
}

/**
 * Longest first with a token budget: a batch grows while `count * longest <= maxTokens` (padded tokens), and at
 * most `maxBatchSize` examples. An example longer than the budget goes alone.
 */
export function planTokenBudgetBatches(
  index: Int32Array,
  lengths: Int32Array,
  maxTokens: number,
  maxBatchSize = Number.POSITIVE_INFINITY,
): BatchPlan {
  if (!(maxTokens > 0)) {
    throw new SamplerError("INVALID_FLAG", `must be > 0, got ${maxTokens}`, { flag: "--max-tokens-per-batch" });
  }
  const { order, lengths: sorted } = sortLongestFirst(index, lengths);
  const offsets: number[] = [0];
  let k = 0;
  while (k < order.length) {
    const longest = Math.max(1, sorted[k] as number);
    const size = Math.max(1, Math.min(maxBatchSize, Math.floor(maxTokens / longest)));
    k = Math.min(order.length, k + size);
    offsets.push(k);
  }
  return { order, offsets: Int32Array.from(offsets), lengths: sorted };
}

/** Dataset order, fixed batch size (no lengths known: the seed's conservative mode). */
export function planSequentialBatches(index: Int32Array, batchSize: number, lengths?: Int32Array): BatchPlan {
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  }
  const offsets: number[] = [];
  for (let k = 0; k < index.length; k += batchSize) {
    offsets.push(k);
  }
  offsets.push(index.length);
  const plan: BatchPlan = { order: index.slice(), offsets: Int32Array.from(offsets) };
  if (lengths !== undefined) {
    plan.lengths = lengths.slice();
  }
  return plan;
}

export interface PaddingStats {
  batches: number;
  examples: number;
  /** Real tokens. */
  tokens: number;
  /** Tokens the model runs on: each batch padded to its longest example. */
  paddedTokens: number;
  /** Share of `paddedTokens` that is padding: `1 - tokens / paddedTokens`. */
  waste: number;
}

/** Padding of a plan whose lengths are known. */
export function paddingStats(plan: BatchPlan): PaddingStats {
  if (plan.lengths === undefined) {
    throw new TypeError("paddingStats needs a plan with lengths");
  }
  let tokens = 0;
  let padded = 0;
  for (const { indices, maxLength } of iterateBatches(plan)) {
    padded += (maxLength ?? 0) * indices.length;
  }
  for (const l of plan.lengths) {
    tokens += l;
  }
  return {
    batches: numBatches(plan),
    examples: plan.order.length,
    tokens,
    paddedTokens: padded,
    waste: padded === 0 ? 0 : 1 - tokens / padded,
  };
}
