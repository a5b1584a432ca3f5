/**
 * The context hash of the learned tiny teacher, shared by the fitting script and the graph (which computes the same
 * integers with int64 Mul/Add/Mod): for compact ids `c[t], c[t-1], ...` (0 before the start),
 * `g_1 = c[t] + 1`, `g_{j+1} = (g_j * BASE + c[t-j]) mod Q`, and the level-k hash `(g_k * BASE + k) mod Q`.
 * All intermediate values stay below 2^53, so JavaScript numbers compute them exactly.
 */
export const HASH_BASE = 2053;
export const HASH_Q = 2_147_483_629; // prime < 2^31
/** Context lengths, shortest first; the longest one seen wins. */
export const LEVELS = [1, 2, 4, 8] as const;
/** Slots of the hashed context table (a power of two). */
export const SLOTS = 1 << 21;

/** The level hashes of the context ending at position `t` of `c` (compact ids), for each of `LEVELS`. */
export function contextHashes(c: ArrayLike<number>, t: number, out: number[]): void {
  let g = (c[t] as number) + 1;
  let j = 1;
  out.length = 0;
  for (const k of LEVELS) {
    while (j < k) {
      const x = t - j >= 0 ? (c[t - j] as number) : 0;
      g = (g * HASH_BASE + x) % HASH_Q;
      j++;
    }
    out.push((g * HASH_BASE + k) % HASH_Q);
  }
}
