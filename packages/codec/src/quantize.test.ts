import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dequantizeRange, QUANT_LEVELS, quantizationErrorBound, quantizeRange, roundHalfEven } from "./quantize.js";

function roundTrip(values: number[]) {
  const q = new Uint16Array(values.length);
  const min = new Float32Array(1);
  const max = new Float32Array(1);
  quantizeRange(values, 0, values.length, q, 0, min, max, 0);
  const back = new Float64Array(values.length);
  dequantizeRange(q, 0, values.length, min[0] as number, max[0] as number, back);
  return { q, min: min[0] as number, max: max[0] as number, back };
}

describe("quantization", () => {
  it("rounds half to even like numpy and torch", () => {
    expect([0.5, 1.5, 2.5, -0.5, 2.4, 2.6, 65534.5].map(roundHalfEven)).toEqual([0, 2, 2, -0, 2, 3, 65534]);
  });

  it("maps min to 0 and max to 65535", () => {
    const { q } = roundTrip([3, -2, 7.5, 0]);
    expect(q[1]).toBe(0);
    expect(q[2]).toBe(QUANT_LEVELS);
  });

  it("round-trips a position whose values are all equal exactly", () => {
    const { q, back } = roundTrip([1.25, 1.25, 1.25]);
    expect([...q]).toEqual([0, 0, 0]);
    expect([...back]).toEqual([1.25, 1.25, 1.25]);
  });

  it("stays within the stated error bound (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e4, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 120 }),
        (values) => {
          const { min, max, back } = roundTrip(values);
          const bound = quantizationErrorBound(min, max);
          for (let i = 0; i < values.length; i++) {
            expect(Math.abs((back[i] as number) - (values[i] as number))).toBeLessThanOrEqual(bound);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("rejects non-finite logits", () => {
    expect(() => roundTrip([1, Number.NaN])).toThrow(RangeError);
    expect(() => roundTrip([Number.POSITIVE_INFINITY])).toThrow(RangeError);
  });
});
