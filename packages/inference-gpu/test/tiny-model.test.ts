import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTeacher, type NucleusResult, runBatch, type Teacher } from "../src/index.js";
import { example, tinyModel } from "./helpers.js";

// The embedded default model must look like a real LM to the extraction: a heavy head and a long tail, nucleus
// sizes from 1 up to the cap, median between 3 and 40.
describe("tiny model distributions", () => {
  let teacher: Teacher;
  beforeAll(async () => {
    teacher = await loadTeacher({ modelDir: await tinyModel("decoder"), device: "cpu", threads: 2 });
  });
  afterAll(() => teacher.close());

  it("nucleus sizes over 240 positions: min 1, max at the cap, median in [3, 40]; a heavy head", async () => {
    const res = (await runBatch(teacher, [example(1, 81), example(2, 81), example(3, 81)])) as NucleusResult[];
    const sizes = res.flatMap((r) => Array.from(r.topCounts)).sort((a, b) => a - b);
    expect(sizes.length).toBe(240);
    const median = sizes[120] as number;
    expect(sizes[0]).toBe(1);
    expect(sizes[sizes.length - 1]).toBe(100);
    expect(median).toBeGreaterThanOrEqual(3);
    expect(median).toBeLessThanOrEqual(40);
    // heavy head: the top token alone often holds most of the mass
    let confident = 0;
    for (const r of res) {
      let at = 0;
      for (let i = 0; i < r.positions.length; i++) {
        if (Math.exp((r.topLogits[at] as number) - (r.logsumexp[i] as number)) > 0.5) {
          confident++;
        }
        at += r.topCounts[i] as number;
      }
    }
    expect(confident).toBeGreaterThan(24);
    expect(confident).toBeLessThan(216);
  });
});
