import { describe, expect, it } from "vitest";
import { numBatches, planDynamicBatches, planTokenBudgetBatches } from "../src/batches.js";
import type { SamplerError } from "../src/errors.js";
import { seededRandom } from "../src/random.js";
import { type ExampleTable, parseSampleSubject, selectExamples } from "../src/select.js";
import { parseShard, resolveShard, shardPlan } from "../src/shard.js";

function table(n: number): ExampleTable {
  return {
    index: Int32Array.from({ length: n }, (_, i) => i),
    length: Int32Array.from({ length: n }, (_, i) => 10 + ((i * 37) % 500)),
    extractTokens: Int32Array.from({ length: n }, (_, i) => (i % 10 === 3 ? 0 : 5)),
    subject: Int32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : i % 5 === 1 ? 1 : 2)),
    subjects: ["physics", "math", "other"],
  };
}

const flagError = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return [(error as SamplerError).code, (error as SamplerError).flag, (error as Error).message];
  }
  return ["accepted"];
};

describe("selection", () => {
  it("filters long and empty examples and counts them", () => {
    const s = selectExamples(table(100), { maxSeqLen: 300 });
    const expectedLong = Array.from({ length: 100 }, (_, i) => 10 + ((i * 37) % 500)).filter((l) => l > 300).length;
    expect(s.stats.skippedTooLong).toBe(expectedLong);
    expect(s.stats.skippedEmpty + s.stats.skippedTooLong + s.stats.selected).toBe(100);
    expect(Array.from(s.length ?? []).every((l) => l <= 300)).toBe(true);
    expect(Array.from(s.index).some((i) => i % 10 === 3)).toBe(false);
  });

  it("subject quotas with a * default, first N or random with a seed", () => {
    const quota = parseSampleSubject('{"*": 5, "physics": 2}');
    const first = selectExamples(table(100), { sampleSubject: quota });
    expect(first.stats.perSubject).toEqual({ physics: 2, math: 5, other: 5 });
    expect(Array.from(first.index).filter((i) => i % 5 === 0)).toEqual([0, 5]);
    const r1 = selectExamples(table(100), { sampleSubject: quota, randomSample: true, seed: 1 });
    const r1again = selectExamples(table(100), { sampleSubject: quota, randomSample: true, seed: 1 });
    const r2 = selectExamples(table(100), { sampleSubject: quota, randomSample: true, seed: 2 });
    expect(r1).toEqual(r1again);
    expect(Array.from(r1.index)).not.toEqual(Array.from(r2.index));
    expect(r1.stats.perSubject).toEqual({ physics: 2, math: 5, other: 5 });
    expect(Array.from(r1.index)).toEqual(Array.from(r1.index).sort((a, b) => a - b));
  });

  it("limit (first or random), full dataset ignores caps and limit", () => {
    expect(Array.from(selectExamples(table(50), { limit: 4, dropEmpty: false }).index)).toEqual([0, 1, 2, 3]);
    const rand = selectExamples(table(50), { limit: 4, randomSample: true, seed: 9, dropEmpty: false });
    expect(rand.index.length).toBe(4);
    expect(Array.from(rand.index)).not.toEqual([0, 1, 2, 3]);
    expect(selectExamples(table(50), { limit: 4, randomSample: true, seed: 9, dropEmpty: false })).toEqual(rand);
    const full = selectExamples(table(50), { limit: 4, fullDataset: true, sampleSubject: { "*": 1 } });
    expect(full.stats.selected).toBe(45);
  });

  it("malformed --sample-subject names the flag", () => {
    expect(flagError(() => parseSampleSubject("{physics: 3}"))).toEqual([
      "INVALID_FLAG",
      "--sample-subject",
      expect.stringMatching(/--sample-subject: not valid JSON/),
    ]);
    expect(flagError(() => parseSampleSubject('{"a": -1}'))[2]).toMatch(/"a" must be an integer >= 0/);
    expect(flagError(() => parseSampleSubject("[1]"))[2]).toMatch(/JSON object/);
    expect(flagError(() => selectExamples({ index: Int32Array.of(0) }, { maxSeqLen: 5 }))[1]).toBe("--max-seq-len");
    expect(flagError(() => selectExamples({ index: Int32Array.of(0) }, { sampleSubject: { "*": 1 } }))[2]).toMatch(
      /needs --subject-col/,
    );
  });
});

describe("sharding", () => {
  it("parses --shard and the job-array environments", () => {
    expect(parseShard("3/8")).toEqual({ index: 3, count: 8, from: "flag" });
    expect(flagError(() => parseShard("8/8"))[0]).toBe("INVALID_FLAG");
    expect(flagError(() => parseShard("a/b"))[1]).toBe("--shard");
    expect(resolveShard({ env: {} })).toEqual({ index: 0, count: 1, from: "none" });
    expect(resolveShard({ shard: "1/2", env: { SLURM_ARRAY_TASK_ID: "5" } })).toEqual({
      index: 1,
      count: 2,
      from: "flag",
    });
    expect(resolveShard({ env: { SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_COUNT: "4" } })).toEqual({
      index: 2,
      count: 4,
      from: "slurm",
    });
    expect(
      resolveShard({ env: { SLURM_ARRAY_TASK_ID: "4", SLURM_ARRAY_TASK_COUNT: "4", SLURM_ARRAY_TASK_MIN: "1" } }),
    ).toEqual({ index: 3, count: 4, from: "slurm" });
    expect(flagError(() => resolveShard({ env: { SLURM_ARRAY_TASK_ID: "1" } }))[1]).toBe("SLURM_ARRAY_TASK_COUNT");
    expect(resolveShard({ numShards: 3, env: { JOB_COMPLETION_INDEX: "2" } })).toEqual({
      index: 2,
      count: 3,
      from: "kubernetes",
    });
    expect(flagError(() => resolveShard({ env: { JOB_COMPLETION_INDEX: "0" } }))[1]).toBe("--num-shards");
    expect(flagError(() => resolveShard({ env: { JOB_COMPLETION_INDEX: "x" } }))[0]).toBe("INVALID_FLAG");
  });

  it("every example lands in exactly one shard, for many plans and shard counts", () => {
    const r = seededRandom(42);
    for (let trial = 0; trial < 40; trial++) {
      const n = 1 + Math.floor(r() * 3000);
      const index = Int32Array.from({ length: n }, (_, i) => i * 2 + 1);
      const lengths = Int32Array.from({ length: n }, () => 1 + Math.floor(r() * 8000));
      const plan = trial % 2 === 0 ? planDynamicBatches(index, lengths) : planTokenBudgetBatches(index, lengths, 16384);
      const count = 1 + Math.floor(r() * 16);
      const seen = new Map<number, number>();
      let batchTotal = 0;
      for (let s = 0; s < count; s++) {
        const mine = shardPlan(plan, { index: s, count });
        batchTotal += numBatches(mine);
        for (const i of mine.order) {
          seen.set(i, (seen.get(i) ?? 0) + 1);
        }
        expect(shardPlan(plan, { index: s, count })).toEqual(mine);
      }
      expect(batchTotal).toBe(numBatches(plan));
      expect(seen.size).toBe(n);
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
    }
  });
});
