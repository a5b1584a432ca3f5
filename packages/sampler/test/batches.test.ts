import { describe, expect, it } from "vitest";
import {
  batchAt,
  batchSizeFor,
  DEFAULT_BATCH_THRESHOLDS,
  numBatches,
  paddingStats,
  parseBatchThresholds,
  planDynamicBatches,
  planSequentialBatches,
  planTokenBudgetBatches,
} from "../src/batches.js";
import type { SamplerError } from "../src/errors.js";
import { parseIntegerFlag } from "../src/flags.js";

const batches = (plan: ReturnType<typeof planDynamicBatches>) =>
  Array.from({ length: numBatches(plan) }, (_, b) => Array.from(batchAt(plan, b)));

describe("batch thresholds", () => {
  it("defaults are the seed's", () => {
    expect([1, 256, 257, 512, 1000, 1024, 2048, 2049, 100000].map((l) => batchSizeFor(l))).toEqual([
      16, 16, 8, 8, 4, 4, 2, 1, 1,
    ]);
    expect(DEFAULT_BATCH_THRESHOLDS).toEqual([
      [256, 16],
      [512, 8],
      [1024, 4],
      [2048, 2],
    ]);
  });

  it("parses JSON and reports malformed values naming the flag", () => {
    expect(parseBatchThresholds('{"1024": 4, "256": 32}')).toEqual([
      [256, 32],
      [1024, 4],
    ]);
    const msg = (v: string) => {
      try {
        parseBatchThresholds(v);
      } catch (error) {
        expect((error as SamplerError).code).toBe("INVALID_FLAG");
        expect((error as SamplerError).flag).toBe("--batch-thresholds");
        return (error as Error).message;
      }
      return "accepted";
    };
    expect(msg("{256: 16}")).toMatch(/^\[sampler\] --batch-thresholds: not valid JSON/);
    expect(msg("[1,2]")).toMatch(/JSON object/);
    expect(msg('{"abc": 1}')).toMatch(/"abc" is not a positive integer/);
    expect(msg('{"256": 0}')).toMatch(/positive integer/);
    expect(msg('{"256": 2.5}')).toMatch(/positive integer/);
    expect(msg("{}")).toMatch(/at least one/);
  });
});

describe("plans", () => {
  // index: 10..19, lengths chosen by hand
  const index = Int32Array.from({ length: 10 }, (_, i) => 10 + i);
  const lengths = Int32Array.of(100, 3000, 600, 300, 600, 1500, 100, 250, 700, 2500);

  it("dynamic: longest first, batch size of the batch's longest, ties by dataset index", () => {
    const plan = planDynamicBatches(index, lengths);
    // sorted: 11(3000) 19(2500) 15(1500) 18(700) 12(600) 14(600) 13(300) 17(250) 10(100) 16(100)
    expect(batches(plan)).toEqual([[11], [19], [15, 18], [12, 14, 13, 17], [10, 16]]);
    expect(Array.from(plan.lengths ?? [])).toEqual([3000, 2500, 1500, 700, 600, 600, 300, 250, 100, 100]);
  });

  it("token budget: count x longest <= budget", () => {
    const plan = planTokenBudgetBatches(index, lengths, 3000);
    expect(batches(plan)).toEqual([[11], [19], [15, 18], [12, 14, 13, 17, 10], [16]]);
    const capped = planTokenBudgetBatches(index, lengths, 100000, 3);
    expect(batches(capped)).toEqual([[11, 19, 15], [18, 12, 14], [13, 17, 10], [16]]);
    expect(() => planTokenBudgetBatches(index, lengths, 0)).toThrow(/--max-tokens-per-batch/);
  });

  it("sequential: dataset order", () => {
    expect(batches(planSequentialBatches(index, 4))).toEqual([
      [10, 11, 12, 13],
      [14, 15, 16, 17],
      [18, 19],
    ]);
  });

  it("padding stats", () => {
    const p = paddingStats(planDynamicBatches(index, lengths));
    // padded: 3000 + 2500 + 2*1500 + 4*600 + 2*100 = 11100; real = 9650
    expect(p.paddedTokens).toBe(11100);
    expect(p.tokens).toBe(9650);
    expect(p.waste).toBeCloseTo(1 - 9650 / 11100, 12);
    const seq = paddingStats(planSequentialBatches(index, 4, lengths));
    expect(seq.paddedTokens).toBe(4 * 3000 + 4 * 1500 + 2 * 2500);
  });

  it("is deterministic and a permutation of the input", () => {
    const n = 5000;
    const idx = Int32Array.from({ length: n }, (_, i) => i * 3);
    const len = Int32Array.from({ length: n }, (_, i) => (i * 7919) % 4096);
    const a = planDynamicBatches(idx, len);
    const b = planDynamicBatches(idx, len);
    expect(a).toEqual(b);
    expect(Array.from(a.order).sort((x, y) => x - y)).toEqual(Array.from(idx));
    for (let k = 1; k < n; k++) {
      expect((a.lengths?.[k] as number) <= (a.lengths?.[k - 1] as number)).toBe(true);
    }
  });
});

describe("integer flags", () => {
  it("parses and names the flag on error", () => {
    expect(parseIntegerFlag("4096", "--max-seq-len", { min: 1 })).toBe(4096);
    expect(parseIntegerFlag(2, "--num-proc", { min: 1, max: 64 })).toBe(2);
    for (const bad of ["", "1.5", "abc", "0", "1e3"]) {
      expect(() => parseIntegerFlag(bad, "--limit", { min: 1 })).toThrow(/--limit: expected an integer >= 1/);
    }
    expect(() => parseIntegerFlag("65", "--num-proc", { min: 1, max: 64 })).toThrow(/in 1\.\.64/);
  });
});
