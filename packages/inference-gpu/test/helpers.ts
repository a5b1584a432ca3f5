import { fileURLToPath } from "node:url";
import { ensureTinyModel, type TeacherExample, type TinyModelShape } from "../src/index.js";
import { positionKey } from "../src/noise.js";
import { type NucleusRowOut, referenceNucleusRow } from "../src/reference.js";

/** Where the tests keep the generated tiny models (inside node_modules: ignored by git, shared by test files). */
export const CACHE_DIR = fileURLToPath(new URL("../node_modules/.cache/logitpack-test", import.meta.url));

export const V = 151_936;

export function tinyModel(shape: TinyModelShape): Promise<string> {
  return ensureTinyModel(CACHE_DIR, { shape });
}

/** A deterministic pseudo-random example: `len` tokens below `vocab`, logits wanted from `from` on. */
export function example(index: number, len: number, from = 1, seed = index, vocab = V): TeacherExample {
  let x = (seed * 2654435761 + 12345) >>> 0;
  const inputIds = new Int32Array(len);
  for (let i = 0; i < len; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    inputIds[i] = x % vocab;
  }
  const extractMask = new Uint8Array(len);
  extractMask.fill(1, from);
  return { index, inputIds, extractMask };
}

/** The reference nucleus/tail of one position (see src/reference.ts), with the noise its key selects. */
export function reference(
  row: Float32Array,
  key: { seed: number; index: number; position: number },
  params = { topP: 0.98, topK: 100, sampledN: 24 },
): { count: number; lse: number; out: NucleusRowOut } {
  const k = new Uint32Array(3);
  positionKey(key.seed, key.index, key.position, k, 0);
  const out: NucleusRowOut = {
    topIds: new Int32Array(params.topK),
    topLogits: new Float32Array(params.topK),
    sampledIds: new Int32Array(params.sampledN),
    sampledLogits: new Float32Array(params.sampledN),
    sampledValues: new Float64Array(params.sampledN + 1),
  };
  const { count, lse } = referenceNucleusRow(row, params, { key: k, off: 0 }, out, new Float32Array(row.length));
  return { count, lse, out };
}

/** Upper quantile of the chi-square distribution (Wilson-Hilferty), e.g. q = 0.999. */
export function chiSquareQuantile(df: number, q: number): number {
  // normal quantile by Acklam's rational approximation (enough for a test threshold)
  const z = normalQuantile(q);
  const h = 2 / (9 * df);
  return df * (1 - h + z * Math.sqrt(h)) ** 3;
}

function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const pl = 0.02425;
  const poly = (k: number[], x: number) => k.reduce((acc, v) => acc * x + v, 0);
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  if (p > 1 - pl) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -poly(c, q) / (poly(d, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}

/** Pearson's chi-square of observed counts against probabilities (same bins, probabilities summing to 1). */
export function chiSquare(observed: number[], probs: number[]): number {
  const n = observed.reduce((s, x) => s + x, 0);
  let x2 = 0;
  for (let i = 0; i < observed.length; i++) {
    const e = n * (probs[i] as number);
    x2 += ((observed[i] as number) - e) ** 2 / e;
  }
  return x2;
}

/** The renormalized tail of one position: q_j = p_j / (1 - P(nucleus)) outside the nucleus, 0 inside (float64). */
export function tailDistribution(row: Float32Array, nucleus: Set<number>, lse: number): Float64Array {
  const q = new Float64Array(row.length);
  let mass = 0;
  for (let j = 0; j < row.length; j++) {
    if (!nucleus.has(j)) {
      q[j] = Math.exp((row[j] as number) - lse);
      mass += q[j] as number;
    }
  }
  for (let j = 0; j < row.length; j++) {
    q[j] = (q[j] as number) / mass;
  }
  return q;
}
