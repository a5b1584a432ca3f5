/**
 * Reproducible randomness keyed by (seed, example index, token position, counter), never by a session-global
 * stream, so that samples do not depend on batch composition, padding, chunking or provider.
 *
 * The generator is Widynski's **Squares** counter-based RNG (`squares32`, "Squares: A Fast Counter-Based RNG",
 * arXiv:2004.06278): four rounds of `x = x·x + (y|z); x = swap32(x)` over 64-bit words, started from `ctr · key`.
 * It passes BigCrush and PractRand per its paper, and it is built only from 64-bit multiply, add and the swap of
 * the two 32-bit halves (a shift each way and an add, as the halves do not overlap), so it is written with the ONNX
 * ops every opset >= 13 has on uint64 (`Mul`, `Add`, `Div` by 2^32 for the shifts): no `BitwiseXor` (opset 18),
 * no `RandomUniform` (a 31-bit LCG stream on ORT's CPU, missing on WebGPU). The graph computes it on the device
 * (src/onnx/postprocess.ts: `squaresGraph`), and this file computes the same function in TypeScript, bit for bit
 * (tested), for the reference and for importance sampling's uniforms.
 *
 * Each position gets its own 64-bit key and 32-bit counter base from three independent 32-bit hash chains of
 * (seed, example, position) (`positionKey`): about 2^95 distinct streams, so two positions of any dataset share
 * noise only with negligible probability. Within a position, counters `c` (32 bits) select the value: a vocabulary
 * id for a tail token's noise, `COUNTER.block + …` for a block's Gumbel and its argmax draw,
 * `COUNTER.importance + …` for importance sampling.
 */

/** Name and version of the noise, recorded in the settings: bump if the generator, keys or counters change. */
export const NOISE_SCHEME = "squares32-keyed/v2";

/** Counter ranges within a position (all below 2^32). */
export const COUNTER = {
  /** Tail token j: counter j (vocabularies up to 2^28). */
  token: 0,
  /** Block b's Gumbel: counters 2^28 + 2b and 2^28 + 2b + 1 (52 bits). */
  block: 2 ** 28,
  /** Block b's argmax draw: counters 2^29 + 2b and 2^29 + 2b + 1 (52 bits). */
  argmax: 2 ** 29,
  /** Importance sampling's uniform k: counters 2^30 + 2k and 2^30 + 2k + 1 (52 bits). */
  importance: 2 ** 30,
} as const;

function mix32(h: number): number {
  let x = h | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

function chain(c: number, seed: number, example: number, position: number): number {
  let h = mix32(c);
  h = mix32(h ^ (seed >>> 0));
  h = mix32(h ^ (Math.floor(seed / 4294967296) >>> 0) ^ 0x85ebca6b);
  h = mix32(h ^ (example >>> 0));
  h = mix32(h ^ (Math.floor(example / 4294967296) >>> 0) ^ 0xc2b2ae35);
  h = mix32(h ^ (position >>> 0));
  return mix32(h ^ 0x27d4eb2f);
}

/**
 * A position's stream: `out[off] = key high word, out[off + 1] = key low word (odd), out[off + 2] = counter base`
 * (the high word of every counter of this position; the low word is the counter `c`). Three hash chains with
 * different starting constants, each a bijective 32-bit mix of every input word.
 */
export function positionKey(seed: number, example: number, position: number, out: Uint32Array, off: number): void {
  out[off] = chain(0x9e3779b9, seed, example, position);
  out[off + 1] = (chain(0x6a09e667, seed, example, position) | 1) >>> 0;
  out[off + 2] = chain(0xbb67ae85, seed, example, position);
}

/** High 32 bits of the 64-bit product of two uint32 (exact: every partial product stays below 2^53). */
function mulhi32(a: number, b: number): number {
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const t = a * b0; // < 2^48
  const u = a * b1; // < 2^48
  return (Math.floor(u / 65536) + Math.floor((t + (u % 65536) * 65536) / 4294967296)) >>> 0;
}

/**
 * `squares32(ctr, key)` with ctr = (ctrHi, ctrLo), key = (keyHi, keyLo): a uint32. One round is `x = x·x + w`
 * then the halves of x swapped; the last round returns the high half of `x·x + z`. 64-bit words are (hi, lo)
 * uint32 pairs: products by `Math.imul` (low halves) and `mulhi32`, sums with an explicit carry.
 */
export function squares32(ctrHi: number, ctrLo: number, keyHi: number, keyLo: number): number {
  // y = ctr · key
  const yLo = Math.imul(ctrLo, keyLo) >>> 0;
  const yHi = (mulhi32(ctrLo, keyLo) + Math.imul(ctrLo, keyHi) + Math.imul(ctrHi, keyLo)) >>> 0;
  // z = y + key
  let s = yLo + keyLo;
  const zLo = s >>> 0;
  const zHi = (yHi + keyHi + (s > 0xffffffff ? 1 : 0)) >>> 0;
  let xHi = yHi;
  let xLo = yLo;
  for (let round = 0; round < 4; round++) {
    // x·x mod 2^64: lo·lo, plus 2·hi·lo in the high word
    const pLo = Math.imul(xLo, xLo) >>> 0;
    const pHi = (mulhi32(xLo, xLo) + 2 * Math.imul(xHi, xLo)) >>> 0;
    const wHi = round === 1 || round === 3 ? zHi : yHi;
    const wLo = round === 1 || round === 3 ? zLo : yLo;
    s = pLo + wLo;
    const rLo = s >>> 0;
    const rHi = (pHi + wHi + (s > 0xffffffff ? 1 : 0)) >>> 0;
    if (round === 3) {
      return rHi;
    }
    xHi = rLo; // swap the halves
    xLo = rHi;
  }
  return 0; // unreachable
}

/** The generator's uint32 for counter `c` of the position whose key is at `key[off .. off + 3)`. */
export function noiseWord(key: Uint32Array, off: number, c: number): number {
  return squares32(key[off + 2] as number, c >>> 0, key[off] as number, key[off + 1] as number);
}

/**
 * A uniform in (0, 1) with 52 random bits from counters c and c + 1: `(2v + 1) / 2^53` with
 * `v = w(c)·2^20 + floor(w(c + 1) / 2^12)`, exact in float64 (the graph computes the same value).
 */
export function uniform52(key: Uint32Array, off: number, c: number): number {
  const hi = noiseWord(key, off, c);
  const lo = noiseWord(key, off, c + 1);
  const v = hi * 1048576 + Math.floor(lo / 4096);
  return (2 * v + 1) / 9007199254740992;
}

/** Largest uniform handed out to importance sampling: keeps `u · total` strictly below `total` in float32 too. */
const U_MAX = 1 - 2 ** -22;

const keyScratch = new Uint32Array(3);

/**
 * The `2·rounds` uniforms in (0, 1) of one position for importance sampling: `out[off .. off + rounds)` choose the
 * block of each draw, `out[off + rounds .. off + 2·rounds)` the token within it. Uniform k is `uniform52` at counter
 * `COUNTER.importance + 2k`, capped at 1 - 2^-22.
 */
export function importanceUniforms(
  seed: number,
  example: number,
  position: number,
  rounds: number,
  out: Float64Array | Float32Array,
  off: number,
): void {
  positionKey(seed, example, position, keyScratch, 0);
  for (let k = 0; k < 2 * rounds; k++) {
    out[off + k] = Math.min(uniform52(keyScratch, 0, COUNTER.importance + 2 * k), U_MAX);
  }
}
