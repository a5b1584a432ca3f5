import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type EncodedRow,
  encodeLogitFile,
  encodeNucleusSample,
  encodeSample,
  type NucleusInput,
  type NucleusSample,
  nucleusMass,
  openLogitFile,
  positionIds,
  positionLogits,
  positionProbs,
  quantizationErrorBound,
  sampleAt,
  tailMass,
} from "../src/index.js";
import { randomInput, rng } from "./gen.js";

function checkSample(s: NucleusSample, input: NucleusInput): void {
  expect(s.index).toBe(input.index);
  expect(s.numTokens).toBe(input.topCounts.length);
  let e = 0;
  let es = 0;
  for (let t = 0; t < s.numTokens; t++) {
    const c = input.topCounts[t] as number;
    const ids = positionIds(s.top, t);
    expect([...ids]).toEqual(Array.from(input.topIds).slice(e, e + c));
    const logits = positionLogits(s.top, t);
    const bound = quantizationErrorBound(s.top.min[t] as number, s.top.max[t] as number) + 1e-6;
    for (let j = 0; j < c; j++) {
      expect(Math.abs((logits[j] as number) - (input.topLogits[e + j] as number))).toBeLessThanOrEqual(bound);
    }
    const stride = input.sampledIds.length / s.numTokens;
    expect([...positionIds(s.sampled, t)]).toEqual(Array.from(input.sampledIds).slice(es, es + stride));
    expect(s.logsumexp[t]).toBe(input.logsumexp[t]);
    e += c;
    es += stride;
  }
}

const cases: Record<string, (r: () => number) => NucleusInput[]> = {
  "0-token samples": (r) => [randomInput(0, r, { tokens: 0 }), randomInput(1, r, { tokens: 0 })],
  "1-token samples": (r) => [randomInput(5, r, { tokens: 1 }), randomInput(6, r, { tokens: 1, count: 1 })],
  "nucleus of 1 everywhere": (r) => [randomInput(7, r, { tokens: 50, count: 1 })],
  "nucleus of 100 everywhere": (r) => [randomInput(8, r, { tokens: 40, count: 100 })],
  "nucleus of 255 (the uint8 cap)": (r) => [randomInput(9, r, { tokens: 3, count: 255 })],
  "ids up to 262,143": (r) => [randomInput(10, r, { tokens: 30, vocab: 262_144 })],
  "degenerate rows (max == min)": (r) => [randomInput(11, r, { tokens: 20, degenerate: true })],
  "no sampled tail": (r) => [randomInput(12, r, { tokens: 20, sampledN: 0 })],
  "large dataset indices": (r) => [randomInput(0, r, { tokens: 2 }), randomInput(2 ** 31 - 1, r, { tokens: 2 })],
};

describe("encode -> Parquet -> decode", () => {
  for (const [name, make] of Object.entries(cases)) {
    it(name, async () => {
      const inputs = make(rng(name.length * 7919));
      const rows = inputs.map(encodeNucleusSample);
      const file = await openLogitFile(await encodeLogitFile(rows));
      expect(file.numRows).toBe(inputs.length);
      const samples = (await file.readRows(0, inputs.length)) as NucleusSample[];
      samples.forEach((s, i) => {
        checkSample(s, inputs[i] as NucleusInput);
      });
    });
  }

  it("holds for random samples, every writer option, and re-encodes byte-exactly (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            tokens: fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 0, max: 60 })),
            count: fc.oneof(fc.constant(1), fc.constant(100), fc.integer({ min: 0, max: 12 })),
            sampledN: fc.oneof(fc.constant(24), fc.integer({ min: 0, max: 5 })),
            degenerate: fc.boolean(),
            seed: fc.integer({ min: 1, max: 2 ** 30 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        fc.record({
          compression: fc.constantFrom("zstd" as const, "none" as const),
          intEncoding: fc.constantFrom("delta" as const, "plain" as const),
          rowGroupRows: fc.integer({ min: 1, max: 5 }),
        }),
        async (specs, options) => {
          const inputs = specs.map((s, i) => randomInput(i * 11, rng(s.seed), s));
          const rows = inputs.map(encodeNucleusSample);
          const bytes = await encodeLogitFile(rows, options);
          const file = await openLogitFile(bytes);
          const decoded: EncodedRow[] = [];
          for await (const batch of file.batches()) {
            for (let r = 0; r < batch.numRows; r++) {
              const s = sampleAt(batch, r) as NucleusSample;
              checkSample(s, inputs[batch.firstRow + r] as NucleusInput);
              decoded.push(encodeSample(s));
            }
          }
          expect(decoded).toEqual(rows);
          expect(await encodeLogitFile(decoded, options)).toEqual(bytes);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("gives probabilities, nucleus mass and tail mass from logsumexp", async () => {
    // one position: logits log(0.5), log(0.3) with logsumexp 0 -> probs 0.5, 0.3; mass 0.8, tail 0.2
    const row = encodeNucleusSample({
      index: 3,
      topCounts: [2],
      topIds: [10, 70000],
      topLogits: [Math.log(0.5), Math.log(0.3)],
      sampledIds: [5],
      sampledLogits: [Math.log(0.01)],
      logsumexp: [0],
    });
    const [s] = (await (await openLogitFile(await encodeLogitFile([row]))).readRows(0, 1)) as NucleusSample[];
    const sample = s as NucleusSample;
    const p = positionProbs(sample.top, 0, sample.logsumexp[0] as number);
    expect(p[0]).toBeCloseTo(0.5, 4);
    expect(p[1]).toBeCloseTo(0.3, 4);
    expect(nucleusMass(sample, 0)).toBeCloseTo(0.8, 4);
    expect(tailMass(sample, 0)).toBeCloseTo(0.2, 4);
    expect([...positionIds(sample.top, 0)]).toEqual([10, 70000]);
  });

  it("streams row ranges and finds rows by dataset index", async () => {
    const r = rng(3);
    const inputs = Array.from({ length: 40 }, (_, i) => randomInput(1000 + i * 2, r, { tokens: 1 + (i % 7) }));
    const file = await openLogitFile(await encodeLogitFile(inputs.map(encodeNucleusSample), { rowGroupRows: 6 }));
    expect(file.info.numRowGroups).toBe(7);
    const some = await file.readRows(13, 27);
    expect(some.map((s) => s.index)).toEqual(inputs.slice(13, 27).map((i) => i.index));
    expect([...(await file.readIndices())]).toEqual(inputs.map((i) => i.index));
    const found = await file.findIndex(1000 + 31 * 2);
    expect(found?.numTokens).toBe(inputs[31]?.topCounts.length);
    expect(await file.findIndex(1001)).toBeUndefined();
    expect((await file.sample(39)).index).toBe(inputs[39]?.index);
  });
});
