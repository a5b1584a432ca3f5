/**
 * Per-position uint16 quantization, exactly as the seed tool does it:
 *
 *   q = round((x - min) / (max - min) * 65535)        x' = q / 65535 * (max - min) + min
 *
 * `min`/`max` are the position's smallest and largest value, stored as float32; quantization uses the float32-rounded
 * bounds so that dequantization sees the same numbers. Rounding is half-to-even, like numpy and torch.
 * A position whose values are all equal (max == min) stores q = 0 and round-trips exactly.
 *
 * Error bound: |x - x'| <= (max - min) / 131070 + 2^-23 * max(|min|, |max|) + 2^-149 (the last two terms cover
 * float32 rounding of the stored bounds, down to float32's smallest subnormal). With logits spanning 40 units that is <= 3.1e-4 + 2.4e-6·|x|.
 */
export const QUANT_LEVELS = 65535;

/** Round half to even (numpy/torch `round`). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Quantize `values[start, end)` into `out[outOffset...]`; returns the float32 bounds as `[min, max]` through
 * `bounds` (index `boundIndex` of `minOut` / `maxOut`). Non-finite values throw a RangeError.
 */
export function quantizeRange(
  values: ArrayLike<number>,
  start: number,
  end: number,
  out: Uint16Array,
  outOffset: number,
  minOut: Float32Array,
  maxOut: Float32Array,
  boundIndex: number,
  levels = QUANT_LEVELS,
): void {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = start; i < end; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) {
      throw new RangeError(`cannot quantize non-finite value ${v} at entry ${i - start}`);
    }
    if (v < lo) {
      lo = v;
    }
    if (v > hi) {
      hi = v;
    }
  }
  if (end <= start) {
    lo = 0;
    hi = 0;
  }
  const fmin = Math.fround(lo);
  const fmax = Math.fround(hi);
  minOut[boundIndex] = fmin;
  maxOut[boundIndex] = fmax;
  const range = fmax - fmin;
  if (range === 0) {
    out.fill(0, outOffset, outOffset + (end - start));
    return;
  }
  const scale = levels / range;
  for (let i = start; i < end; i++) {
    let q = roundHalfEven(((values[i] as number) - fmin) * scale);
    if (q < 0) {
      q = 0;
    } else if (q > levels) {
      q = levels;
    }
    out[outOffset + i - start] = q;
  }
}

/** Dequantize `n` values of one position: `out[outOffset + j] = q[qOffset + j] / levels * (max - min) + min`. */
export function dequantizeRange(
  q: ArrayLike<number>,
  qOffset: number,
  n: number,
  min: number,
  max: number,
  out: Float32Array | Float64Array,
  outOffset = 0,
  levels = QUANT_LEVELS,
): void {
  const scale = (max - min) / levels;
  for (let j = 0; j < n; j++) {
    out[outOffset + j] = (q[qOffset + j] as number) * scale + min;
  }
}

/** The bound stated above, for one position: the largest |x - x'| quantization may introduce. */
export function quantizationErrorBound(min: number, max: number, levels = QUANT_LEVELS): number {
  return (max - min) / (2 * levels) + 2 ** -23 * Math.max(Math.abs(min), Math.abs(max)) + 2 ** -149;
}
