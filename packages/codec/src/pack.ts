import { CodecError } from "./errors.js";

/**
 * Token ids are stored as their low 16 bits (uint16) plus their high 2 bits packed four to a byte
 * (entry 0 in bits 0-1, entry 1 in bits 2-3, ...), flattened over every entry of a sample. This supports
 * vocabularies of up to 2^18 = 262,144 ids, as in the seed format.
 */
export const MAX_VOCAB = 262_144;

/** Bytes needed for the packed high bits of `n` ids. */
export function packedHighLength(n: number): number {
  return (n + 3) >>> 2;
}

/**
 * Split `ids[start, end)` into `low` (from `lowOffset`) and packed `high` bits (from `highOffset`, which must have
 * room for `packedHighLength(end - start)` bytes, zero-filled or not). Throws on ids outside [0, MAX_VOCAB).
 */
export function packIndices(
  ids: ArrayLike<number>,
  low: Uint16Array,
  high: Uint8Array,
  start = 0,
  end = ids.length,
  lowOffset = 0,
  highOffset = 0,
): void {
  const n = end - start;
  high.fill(0, highOffset, highOffset + packedHighLength(n));
  for (let j = 0; j < n; j++) {
    const id = ids[start + j] as number;
    if (!(id >= 0 && id < MAX_VOCAB) || id !== Math.floor(id)) {
      throw new CodecError("INVALID_VALUE", `token id ${id} at entry ${j} is outside [0, ${MAX_VOCAB})`);
    }
    low[lowOffset + j] = id & 0xffff;
    high[highOffset + (j >>> 2)] |= (id >>> 16) << ((j & 3) << 1);
  }
}

/**
 * Rebuild full ids: `out[outOffset + j] = low[j] | (high bits of entry j) << 16` for j in [0, n).
 * `low` may be the same array as `out` (in-place widening from an Int32Array that holds the low bits).
 */
export function unpackIndices(
  low: ArrayLike<number>,
  high: Uint8Array,
  out: Int32Array,
  n = low.length,
  lowOffset = 0,
  highOffset = 0,
  outOffset = 0,
): void {
  for (let j = 0; j < n; j++) {
    out[outOffset + j] =
      (low[lowOffset + j] as number) | ((((high[highOffset + (j >>> 2)] as number) >>> ((j & 3) << 1)) & 3) << 16);
  }
}
