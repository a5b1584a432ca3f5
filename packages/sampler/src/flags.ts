import { SamplerError } from "./errors.js";

/**
 * Parses an integer flag value (`--limit`, `--max-seq-len`, `--num-proc`, `--seed`, ...). Throws `INVALID_FLAG`
 * naming the flag when the value is not an integer in `[min, max]`.
 */
export function parseIntegerFlag(
  value: string | number,
  flag: string,
  range: { min?: number; max?: number } = {},
): number {
  const text = String(value).trim();
  const n = /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
  const min = range.min ?? Number.MIN_SAFE_INTEGER;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const bounds = range.max === undefined ? `>= ${min}` : `in ${min}..${max}`;
    throw new SamplerError("INVALID_FLAG", `expected an integer ${bounds}, got ${JSON.stringify(value)}`, { flag });
  }
  return n;
}
