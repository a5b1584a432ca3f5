import type { ImportanceSample, NucleusSample, SparseLogits } from "./types.js";

/** Token ids of position `t` (a view, no copy). */
export function positionIds(s: SparseLogits, t: number): Int32Array {
  return s.ids.subarray(s.offsets[t] as number, s.offsets[t + 1] as number);
}

/** Number of entries at position `t`. */
export function positionCount(s: SparseLogits, t: number): number {
  return (s.offsets[t + 1] as number) - (s.offsets[t] as number);
}

/** Dequantized logits of position `t`, into `out` (allocated when omitted). */
export function positionLogits(s: SparseLogits, t: number, levels = 65535, out?: Float32Array): Float32Array {
  const e0 = s.offsets[t] as number;
  const n = (s.offsets[t + 1] as number) - e0;
  const dst = out ?? new Float32Array(n);
  const min = s.min[t] as number;
  const scale = ((s.max[t] as number) - min) / levels;
  const q = s.quantized;
  for (let j = 0; j < n; j++) {
    dst[j] = (q[e0 + j] as number) * scale + min;
  }
  return dst;
}

/** Probabilities `exp(logit - logsumexp)` of position `t`, into `out` (allocated when omitted). */
export function positionProbs(
  s: SparseLogits,
  t: number,
  logsumexp: number,
  levels = 65535,
  out?: Float32Array,
): Float32Array {
  const e0 = s.offsets[t] as number;
  const n = (s.offsets[t + 1] as number) - e0;
  const dst = out ?? new Float32Array(n);
  const min = s.min[t] as number;
  const scale = ((s.max[t] as number) - min) / levels;
  const q = s.quantized;
  for (let j = 0; j < n; j++) {
    dst[j] = Math.exp((q[e0 + j] as number) * scale + min - logsumexp);
  }
  return dst;
}

/** Probability mass of the nucleus at position `t`: sum of exp(logit - logsumexp) over its entries. */
export function nucleusMass(sample: NucleusSample, t: number): number {
  const s = sample.top;
  const e0 = s.offsets[t] as number;
  const e1 = s.offsets[t + 1] as number;
  const min = s.min[t] as number;
  const scale = ((s.max[t] as number) - min) / sample.levels;
  const shift = min - (sample.logsumexp[t] as number);
  let sum = 0;
  for (let e = e0; e < e1; e++) {
    sum += Math.exp((s.quantized[e] as number) * scale + shift);
  }
  return sum;
}

/** Probability mass outside the nucleus at position `t` (`1 - nucleusMass`, never below 0). */
export function tailMass(sample: NucleusSample, t: number): number {
  return Math.max(0, 1 - nucleusMass(sample, t));
}

/**
 * Normalized importance weights of position `t` (seed 004): `w_i = draws_i * p_i / q_i`, normalized to sum to 1,
 * with `p = softmax(logits)` and `q = softmax(logits / temperature)` reconstructed from the stored logits and
 * both logsumexps.
 */
export function importanceWeights(sample: ImportanceSample, t: number, out?: Float64Array): Float64Array {
  const s = sample.drawn;
  const e0 = s.offsets[t] as number;
  const n = (s.offsets[t + 1] as number) - e0;
  const dst = out ?? new Float64Array(n);
  const min = s.min[t] as number;
  const scale = ((s.max[t] as number) - min) / sample.levels;
  const lse = sample.logsumexp[t] as number;
  const lseT = sample.logsumexpT[t] as number;
  const invT = 1 / sample.temperature;
  // log(p/q) = (l - lse) - (l / T - lseT); subtract the max before exponentiating.
  let maxLog = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < n; j++) {
    const l = (s.quantized[e0 + j] as number) * scale + min;
    const lw = Math.log(sample.draws[e0 + j] as number) + (l - lse) - (l * invT - lseT);
    dst[j] = lw;
    if (lw > maxLog) {
      maxLog = lw;
    }
  }
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const w = Math.exp((dst[j] as number) - maxLog);
    dst[j] = w;
    sum += w;
  }
  for (let j = 0; j < n; j++) {
    dst[j] = (dst[j] as number) / sum;
  }
  return dst;
}
