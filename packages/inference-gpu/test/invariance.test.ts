import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExampleResult, loadTeacher, runBatch, type Teacher } from "../src/index.js";
import { example, tinyModel } from "./helpers.js";

// Samples depend on (seed, example index, token position) only: not on the other examples of the batch, on
// padding (side or amount), on how positions are chunked, or on the thread running the session.
const strip = (r: ExampleResult) =>
  JSON.stringify(r, (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as Int32Array) : v));

describe("invariance (decoder export)", () => {
  let right: Teacher;
  let left: Teacher;
  let chunked: Teacher;
  beforeAll(async () => {
    const modelDir = await tinyModel("decoder");
    right = await loadTeacher({ modelDir, device: "cpu", threads: 2 });
    left = await loadTeacher({ modelDir, device: "cpu", threads: 2, paddingSide: "left", thread: "caller" });
    chunked = await loadTeacher({ modelDir, device: "cpu", threads: 2, chunkPositions: 7 });
  });
  afterAll(async () => {
    await right.close();
    await left.close();
    await chunked.close();
  });

  const target = example(42, 30, 12);
  const others = [example(7, 64, 20), example(9, 5, 2), example(100, 17, 16)];

  for (const mode of ["nucleus", "importance"] as const) {
    it(`${mode}: same result alone, in any batch, padded left or right, chunked`, async () => {
      const alone = strip((await runBatch(right, [target], { mode, seed: 3 }))[0] as ExampleResult);
      const inBatch = await runBatch(right, [others[0], target, others[1], others[2]] as never, { mode, seed: 3 });
      expect(strip(inBatch[1] as ExampleResult)).toBe(alone);
      const leftPadded = await runBatch(left, [others[0], target] as never, { mode, seed: 3 });
      expect(strip(leftPadded[1] as ExampleResult)).toBe(alone);
      const small = await runBatch(chunked, [target, others[2]] as never, { mode, seed: 3 });
      expect(strip(small[0] as ExampleResult)).toBe(alone);
      // and the key matters: another seed or another index gives other samples
      const otherSeed = strip((await runBatch(right, [target], { mode, seed: 4 }))[0] as ExampleResult);
      expect(otherSeed).not.toBe(alone);
      const otherIndex = strip(
        (await runBatch(right, [{ ...target, index: 43 }], { mode, seed: 3 }))[0] as ExampleResult,
      );
      expect(otherIndex.replace('"index":43', '"index":42')).not.toBe(alone);
    });
  }

  it("examples without positions to extract do not run and come back empty, in order", async () => {
    const none = { ...example(1, 10), extractMask: new Uint8Array(10) };
    const onlyFirst = { ...example(2, 10), extractMask: Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 0, 0) };
    const res = await runBatch(right, [none, target, onlyFirst]);
    expect(res.map((r) => r.index)).toEqual([1, 42, 2]);
    expect(res[0]?.positions.length).toBe(0);
    expect(res[2]?.positions.length).toBe(0); // token 0 is never predicted
    expect(res[1]?.positions.length).toBe(18);
    expect((await runBatch(right, [none])).map((r) => r.positions.length)).toEqual([0]);
  });
});
