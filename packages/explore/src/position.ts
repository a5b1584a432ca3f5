import type { LogitSample, NucleusSample, SparseLogits } from "@logitpack/codec";

/** Token ids and dequantized logits of one position's entries (the seed's `dequantize_*_logits`). */
export interface IdsAndLogits {
  ids: Int32Array;
  logits: Float64Array;
}

function dequantize(s: SparseLogits, t: number, levels: number): IdsAndLogits {
  checkPosition(s, t);
  const e0 = s.offsets[t] as number;
  const e1 = s.offsets[t + 1] as number;
  const min = s.min[t] as number;
  const scale = ((s.max[t] as number) - min) / levels;
  const logits = new Float64Array(e1 - e0);
  for (let e = e0; e < e1; e++) {
    logits[e - e0] = (s.quantized[e] as number) * scale + min;
  }
  return { ids: s.ids.slice(e0, e1), logits };
}

function checkPosition(s: SparseLogits, t: number): void {
  if (!(Number.isInteger(t) && t >= 0 && t < s.offsets.length - 1)) {
    throw new RangeError(`position ${t} is outside 0..${s.offsets.length - 2}`);
  }
}

/** Nucleus entries of position `t` (for the importance layout: the unique drawn ids). */
export function dequantizeTopLogits(sample: LogitSample, t: number): IdsAndLogits {
  return sample.layout === "importance"
    ? dequantize(sample.drawn, t, sample.levels)
    : dequantize(sample.top, t, sample.levels);
}

/** Sampled tail entries of position `t` (empty for the importance layout, which has none). */
export function dequantizeSampledLogits(sample: LogitSample, t: number): IdsAndLogits {
  if (sample.layout === "importance") {
    checkPosition(sample.drawn, t);
    return { ids: new Int32Array(0), logits: new Float64Array(0) };
  }
  return dequantize(sample.sampled, t, sample.levels);
}

/** `exp(logit - logsumexp)`: probabilities under the full-vocabulary normalizer (the seed's `logits_to_probs`). */
export function logitsToProbs(
  logits: ArrayLike<number>,
  logsumexp: number,
  out: Float64Array = new Float64Array(logits.length),
): Float64Array {
  for (let i = 0; i < logits.length; i++) {
    out[i] = Math.exp((logits[i] as number) - logsumexp);
  }
  return out;
}

/** Where an entry of a combined distribution comes from. */
export const SOURCE_NUCLEUS = 0;
export const SOURCE_SAMPLED = 1;
export const SOURCE_DRAWN = 2;

/** Every stored entry of one position (nucleus + sampled, or drawn), most probable first. */
export interface PositionDistribution {
  position: number;
  ids: Int32Array;
  logits: Float64Array;
  /** `exp(logit - logsumexp)`. */
  probs: Float64Array;
  /** `SOURCE_NUCLEUS`, `SOURCE_SAMPLED` or `SOURCE_DRAWN` per entry. */
  source: Uint8Array;
  /** Importance layout: the normalized importance weights (seed 004), parallel to `ids`. */
  weights?: Float64Array;
  logsumexp: number;
  nucleusCount: number;
  sampledCount: number;
  /** Probability mass of the nucleus (drawn ids for importance). */
  nucleusMass: number;
  /** Probability mass of the sampled entries (0 for importance). */
  sampledMass: number;
  /** `1 - nucleusMass`, never below 0. */
  tailMass: number;
}

/**
 * Nucleus and sampled logits of position `t` combined and sorted by probability (the seed's
 * `dequantize_all_logits`). For the importance layout, the drawn ids with their probabilities and weights.
 */
export function positionDistribution(sample: LogitSample, t: number): PositionDistribution {
  const top = dequantizeTopLogits(sample, t);
  const tail = dequantizeSampledLogits(sample, t);
  const n = top.ids.length + tail.ids.length;
  const lse = sample.logsumexp[t] as number;
  const order = new Int32Array(n);
  const allIds = new Int32Array(n);
  const allLogits = new Float64Array(n);
  allIds.set(top.ids);
  allIds.set(tail.ids, top.ids.length);
  allLogits.set(top.logits);
  allLogits.set(tail.logits, top.ids.length);
  for (let i = 0; i < n; i++) {
    order[i] = i;
  }
  order.sort((a, b) => (allLogits[b] as number) - (allLogits[a] as number) || a - b);
  const ids = new Int32Array(n);
  const logits = new Float64Array(n);
  const source = new Uint8Array(n);
  const drawnSource = sample.layout === "importance" ? SOURCE_DRAWN : SOURCE_NUCLEUS;
  let weights: Float64Array | undefined;
  let rawWeights: Float64Array | undefined;
  if (sample.layout === "importance") {
    rawWeights = importanceWeightsOf(sample, t);
    weights = new Float64Array(n);
  }
  let nucleusMass = 0;
  let sampledMass = 0;
  for (let i = 0; i < n; i++) {
    const k = order[i] as number;
    ids[i] = allIds[k] as number;
    logits[i] = allLogits[k] as number;
    const fromTop = k < top.ids.length;
    source[i] = fromTop ? drawnSource : SOURCE_SAMPLED;
    if (weights && rawWeights) {
      weights[i] = rawWeights[k] as number;
    }
  }
  const probs = logitsToProbs(logits, lse);
  for (let i = 0; i < n; i++) {
    if (source[i] === SOURCE_SAMPLED) {
      sampledMass += probs[i] as number;
    } else {
      nucleusMass += probs[i] as number;
    }
  }
  const out: PositionDistribution = {
    position: t,
    ids,
    logits,
    probs,
    source,
    logsumexp: lse,
    nucleusCount: top.ids.length,
    sampledCount: tail.ids.length,
    nucleusMass,
    sampledMass,
    tailMass: Math.max(0, 1 - nucleusMass),
  };
  if (weights) {
    out.weights = weights;
  }
  return out;
}

function importanceWeightsOf(sample: LogitSample, t: number): Float64Array {
  if (sample.layout !== "importance") {
    return new Float64Array(0);
  }
  const s = sample.drawn;
  const e0 = s.offsets[t] as number;
  const n = (s.offsets[t + 1] as number) - e0;
  const min = s.min[t] as number;
  const scale = ((s.max[t] as number) - min) / sample.levels;
  const lse = sample.logsumexp[t] as number;
  const lseT = sample.logsumexpT[t] as number;
  const invT = 1 / sample.temperature;
  const w = new Float64Array(n);
  let maxLog = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < n; j++) {
    const l = (s.quantized[e0 + j] as number) * scale + min;
    const lw = Math.log(sample.draws[e0 + j] as number) + (l - lse) - (l * invT - lseT);
    w[j] = lw;
    maxLog = Math.max(maxLog, lw);
  }
  let sum = 0;
  for (let j = 0; j < n; j++) {
    w[j] = Math.exp((w[j] as number) - maxLog);
    sum += w[j] as number;
  }
  for (let j = 0; j < n; j++) {
    w[j] = (w[j] as number) / sum;
  }
  return w;
}

/** One of the top predictions of a position. */
export interface Prediction {
  id: number;
  prob: number;
  /** Where the entry is stored: nucleus, sampled tail or drawn (importance). */
  source: "nucleus" | "sampled" | "drawn";
}

const SOURCE_NAMES = ["nucleus", "sampled", "drawn"] as const;

/** The `k` most probable stored entries of position `t`. */
export function topPredictions(sample: LogitSample, t: number, k = 5): Prediction[] {
  const d = positionDistribution(sample, t);
  const out: Prediction[] = [];
  for (let i = 0; i < Math.min(k, d.ids.length); i++) {
    out.push({
      id: d.ids[i] as number,
      prob: d.probs[i] as number,
      source: SOURCE_NAMES[d.source[i] as number] ?? "nucleus",
    });
  }
  return out;
}

/** What the stored data says about one token id at a position. */
export interface TokenLookup {
  /** `exp(logit - logsumexp)` when the id is stored; NaN otherwise. */
  prob: number;
  /**
   * An upper bound when the id is not stored: a token outside the nucleus is at most as probable as the least
   * probable nucleus entry, and at most the tail mass. Equal to `prob` when stored.
   */
  upperBound: number;
  /** 1-based rank among the stored entries (0 when not stored). */
  rank: number;
  source: "nucleus" | "sampled" | "drawn" | "none";
}

/** Probability and rank of token `id` at position `t`, from a distribution computed by `positionDistribution`. */
export function lookupToken(d: PositionDistribution, id: number): TokenLookup {
  let minNucleus = 1;
  for (let i = 0; i < d.ids.length; i++) {
    if (d.ids[i] === id) {
      return {
        prob: d.probs[i] as number,
        upperBound: d.probs[i] as number,
        rank: i + 1,
        source: SOURCE_NAMES[d.source[i] as number] ?? "nucleus",
      };
    }
    if (d.source[i] !== SOURCE_SAMPLED) {
      minNucleus = Math.min(minNucleus, d.probs[i] as number);
    }
  }
  return { prob: Number.NaN, upperBound: Math.min(minNucleus, d.tailMass), rank: 0, source: "none" };
}

/** Nucleus sizes per position of a sample (unique drawn ids for the importance layout). */
export function nucleusSizes(sample: LogitSample): Int32Array {
  const s = sample.layout === "importance" ? sample.drawn : sample.top;
  const out = new Int32Array(sample.numTokens);
  for (let t = 0; t < sample.numTokens; t++) {
    out[t] = (s.offsets[t + 1] as number) - (s.offsets[t] as number);
  }
  return out;
}

/** Nucleus mass per position (drawn-id mass for importance), `out` reused when given. */
export function nucleusMasses(sample: LogitSample, out = new Float64Array(sample.numTokens)): Float64Array {
  const s = sample.layout === "importance" ? sample.drawn : sample.top;
  for (let t = 0; t < sample.numTokens; t++) {
    out[t] = sparseMass(s, t, sample.logsumexp[t] as number, sample.levels);
  }
  return out;
}

/** Mass of the sampled tail entries per position (zeros for importance). */
export function sampledMasses(sample: LogitSample, out = new Float64Array(sample.numTokens)): Float64Array {
  if (sample.layout === "importance") {
    return out.fill(0);
  }
  const s = (sample as NucleusSample).sampled;
  for (let t = 0; t < sample.numTokens; t++) {
    out[t] = sparseMass(s, t, sample.logsumexp[t] as number, sample.levels);
  }
  return out;
}

function sparseMass(s: SparseLogits, t: number, lse: number, levels: number): number {
  const e0 = s.offsets[t] as number;
  const e1 = s.offsets[t + 1] as number;
  const min = s.min[t] as number;
  const scale = ((s.max[t] as number) - min) / levels;
  const shift = min - lse;
  let sum = 0;
  for (let e = e0; e < e1; e++) {
    sum += Math.exp((s.quantized[e] as number) * scale + shift);
  }
  return sum;
}

/** The seed's `dequantize_logits`: `q / levels * (max - min) + min` for every value, in double precision. */
export function dequantizeLogits(
  quantized: ArrayLike<number>,
  min: number,
  max: number,
  levels = 65535,
  out: Float64Array = new Float64Array(quantized.length),
): Float64Array {
  const scale = (max - min) / levels;
  for (let i = 0; i < quantized.length; i++) {
    out[i] = (quantized[i] as number) * scale + min;
  }
  return out;
}

/** The seed's `dequantize_all_logits`: nucleus and sampled entries of a position together (see `positionDistribution`). */
export const dequantizeAllLogits = positionDistribution;
