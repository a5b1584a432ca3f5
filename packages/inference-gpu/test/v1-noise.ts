/**
 * The v1 tail noise (`gumbel-table-max2-v1`, removed from src/ by issue 13), kept for the tests only: one fixed
 * table of Gumbels shared by every position and seed, each position reading the max of two windows of it. The
 * tail tests run it as a known-biased sampler. Copied from src/noise.ts at commit ae8d7a1.
 */
/** Default number of table rows R per half (the table holds 2·(R + 1)·V float32 values: 40 MB for Qwen3). */
export const DEFAULT_NOISE_ROWS = 32;

/** Window offsets are multiples of this many values (so that a window is a run of whole table rows). */
export const NOISE_BLOCK = 128;

/** Geometry of the Gumbel table for a vocabulary: V rounded up to whole blocks, and the half length. */
export function noiseGeometry(
  rows: number,
  vocab: number,
): { paddedVocab: number; halfBlocks: number; choices: number } {
  const paddedVocab = Math.ceil(vocab / NOISE_BLOCK) * NOISE_BLOCK;
  const halfBlocks = ((rows + 1) * paddedVocab) / NOISE_BLOCK;
  return { paddedVocab, halfBlocks, choices: (rows * paddedVocab) / NOISE_BLOCK };
}

const TABLE_SEED = 0x6c6f6769; // "logi"

function mix32(h: number): number {
  let x = h | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** 53 well-mixed bits of (seed, example, position, stream), as an integer in [0, 2^53). */
export function hash53(seed: number, example: number, position: number, stream: number): number {
  const seedLo = seed >>> 0;
  const seedHi = Math.floor(seed / 4294967296) >>> 0;
  let h = mix32(seedLo ^ 0x9e3779b9);
  h = mix32(h ^ seedHi ^ 0x85ebca6b);
  h = mix32(h ^ (example >>> 0));
  h = mix32(h ^ Math.floor(example / 4294967296) ^ 0xc2b2ae35);
  h = mix32(h ^ (position >>> 0));
  h = mix32(h ^ Math.imul(stream + 1, 0x27d4eb2f));
  const hi = mix32(h ^ 0x165667b1) >>> 11;
  const lo = mix32(h ^ 0xd3a2646c);
  return hi * 4294967296 + lo;
}

/**
 * Block offsets of a position's two Gumbel windows (the second in the table's second half), into `out[off]` and
 * `out[off + 1]`.
 */
export function noiseOffsets(
  seed: number,
  example: number,
  position: number,
  rows: number,
  vocab: number,
  out: Int32Array,
  off: number,
): void {
  const { halfBlocks, choices } = noiseGeometry(rows, vocab);
  out[off] = hash53(seed, example, position, 0) % choices;
  out[off + 1] = halfBlocks + (hash53(seed, example, position, 1_000_003) % choices);
}

let cached: { rows: number; vocab: number; table: Float32Array } | undefined;

/**
 * The Gumbel table: 2·(rows + 1)·paddedVocab i.i.d. standard Gumbel values, deterministic (the same on every
 * machine). Cached for the last (rows, vocab) asked.
 */
export function gumbelTable(rows: number, vocab: number): Float32Array {
  if (cached !== undefined && cached.rows === rows && cached.vocab === vocab) {
    return cached.table;
  }
  const n = 2 * noiseGeometry(rows, vocab).halfBlocks * NOISE_BLOCK;
  if (n > 2 ** 31 - 1) {
    throw new RangeError(`noise table of ${rows} rows x ${vocab} exceeds int32 indexing`);
  }
  const table = new Float32Array(n);
  // xorshift128-style generator from two mixed 32-bit words; 53-bit uniforms in (0, 1).
  let a = mix32(TABLE_SEED);
  let b = mix32(a ^ 0x9e3779b9);
  let c = mix32(b ^ 0x85ebca6b);
  let d = mix32(c ^ 0xc2b2ae35);
  const next = (): number => {
    const t = a ^ (a << 11);
    a = b;
    b = c;
    c = d;
    d = (d ^ (d >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return d;
  };
  for (let i = 0; i < n; i++) {
    const hi = next() >>> 5; // 27 bits
    const lo = next() >>> 6; // 26 bits
    const u = (hi * 67108864 + lo + 0.5) / 9007199254740992;
    table[i] = -Math.log(-Math.log(u));
  }
  cached = { rows, vocab, table };
  return table;
}
