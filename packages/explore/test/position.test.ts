import { type ImportanceSample, type NucleusSample, packIndices, quantizationErrorBound } from "@logitpack/codec";
import { describe, expect, it } from "vitest";
import {
  dequantizeLogits,
  dequantizeSampledLogits,
  dequantizeTopLogits,
  logitsToProbs,
  lookupToken,
  nucleusMasses,
  nucleusSizes,
  positionDistribution,
  renderPosition,
  sampleInfo,
  topPredictions,
  unpackIndices,
} from "../src/index.js";
import {
  encodeImportanceSample,
  encodeNucleusSample,
  extractPosition,
  extractSample,
  fileOf,
  importanceSample,
  logsumexp,
  randomLogits,
  rng,
} from "./helpers.js";

const VOCAB = 600;

function fullLogits(n: number, seed: number): Float64Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => randomLogits(VOCAB, r));
}

describe("position accessors", () => {
  it("dequantize nucleus and sampled logits of a position within the quantization bound", async () => {
    const full = fullLogits(12, 3);
    const input = extractSample(5, full, { topP: 0.9, topPMax: 20, sampledN: 8 });
    const file = await fileOf([encodeNucleusSample(input)]);
    const s = (await file.sample(0)) as NucleusSample;
    let e = 0;
    for (let t = 0; t < s.numTokens; t++) {
      const top = dequantizeTopLogits(s, t);
      const c = input.topCounts[t] as number;
      expect(top.ids.length).toBe(c);
      const vals = Array.from({ length: c }, (_, j) => input.topLogits[e + j] as number);
      const bound = quantizationErrorBound(Math.min(...vals), Math.max(...vals));
      for (let j = 0; j < c; j++) {
        expect(top.ids[j]).toBe(input.topIds[e + j]);
        expect(Math.abs((top.logits[j] as number) - (vals[j] as number))).toBeLessThanOrEqual(bound + 1e-6);
      }
      e += c;
      const sampled = dequantizeSampledLogits(s, t);
      expect(sampled.ids.length).toBe(8);
      for (let j = 0; j < 8; j++) {
        const id = sampled.ids[j] as number;
        expect(Math.abs((sampled.logits[j] as number) - (full[t]?.[id] as number))).toBeLessThan(2e-3);
      }
    }
    expect(() => dequantizeTopLogits(s, s.numTokens)).toThrow(RangeError);
  });

  it("combined distribution: sorted, masses match the true distribution, real token lookup", async () => {
    const full = fullLogits(10, 4);
    const input = extractSample(1, full, { topP: 0.95, topPMax: 50, sampledN: 16 });
    const s = (await (await fileOf([encodeNucleusSample(input)])).sample(0)) as NucleusSample;
    const masses = nucleusMasses(s);
    const sizes = nucleusSizes(s);
    for (let t = 0; t < s.numTokens; t++) {
      const d = positionDistribution(s, t);
      expect(d.ids.length).toBe(d.nucleusCount + 16);
      for (let i = 1; i < d.probs.length; i++) {
        expect(d.probs[i] as number).toBeLessThanOrEqual(d.probs[i - 1] as number);
      }
      const lse = logsumexp(full[t] as Float64Array);
      const e = extractPosition(full[t] as Float64Array, { topP: 0.95, topPMax: 50, sampledN: 16, seed: 1 }, rng(1));
      const trueMass = e.top.reduce((a, id) => a + Math.exp((full[t]?.[id] as number) - lse), 0);
      expect(d.nucleusMass).toBeCloseTo(trueMass, 3);
      expect(masses[t]).toBeCloseTo(d.nucleusMass, 12);
      expect(sizes[t]).toBe(d.nucleusCount);
      expect(d.tailMass).toBeCloseTo(1 - d.nucleusMass, 12);
      // the most probable id of the full distribution is the first prediction
      const argmax = (full[t] as Float64Array).indexOf(Math.max(...(full[t] as Float64Array)));
      const top = topPredictions(s, t, 3);
      expect(top[0]?.id).toBe(argmax);
      expect(top[0]?.source).toBe("nucleus");
      expect(top[0]?.prob).toBeCloseTo(Math.exp((full[t]?.[argmax] as number) - lse), 3);
      const hit = lookupToken(d, argmax);
      expect(hit.rank).toBe(1);
      // an id that is stored nowhere: NaN with an upper bound no larger than the tail mass
      const stored = new Set(d.ids);
      const missing = Array.from({ length: VOCAB }, (_, i) => i).find((i) => !stored.has(i)) as number;
      const miss = lookupToken(d, missing);
      expect(miss.rank).toBe(0);
      expect(Number.isNaN(miss.prob)).toBe(true);
      expect(miss.upperBound).toBeLessThanOrEqual(d.tailMass + 1e-12);
    }
    expect(Array.from(logitsToProbs([0, Math.log(0.5)], 0))).toEqual([1, 0.5]);
    // the dataset card's table of one position
    const d0 = positionDistribution(s, 0);
    const table = renderPosition(d0, { decode: (id) => `tok${id}\n`, width: 80 });
    expect(table).toContain("=== Nucleus logits for token 0");
    expect(table).toContain("=== Sampled logits for token 0");
    expect(table).toContain(`tok${d0.ids[0]}\\n`);
    expect(table).toContain(`Total nucleus probability mass: ${(d0.nucleusMass * 100).toFixed(2)}%`);
    expect(table.split("\n").filter((l) => /^\d+ /.test(l)).length).toBe(d0.ids.length);
  });

  it("importance layout: drawn ids with weights that sum to one", async () => {
    const full = fullLogits(6, 5);
    const input = importanceSample(2, full, 50, 1.5);
    const file = await fileOf([encodeImportanceSample(input)], {
      layout: "importance",
      settings: { rounds: 50, temperature: 1.5 },
    });
    const s = (await file.sample(0)) as ImportanceSample;
    expect(s.layout).toBe("importance");
    for (let t = 0; t < s.numTokens; t++) {
      const d = positionDistribution(s, t);
      expect(d.sampledCount).toBe(0);
      expect(dequantizeSampledLogits(s, t).ids.length).toBe(0);
      const w = d.weights as Float64Array;
      expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      // weights are draws * p / q: compare with the exact values from the full logits
      const lse = logsumexp(full[t] as Float64Array);
      const lseT = logsumexp(Array.from(full[t] as Float64Array, (l) => l / 1.5));
      let z = 0;
      const exact = new Map<number, number>();
      let e = 0;
      for (let k = 0; k < t; k++) {
        e += input.counts[k] as number;
      }
      for (let j = 0; j < (input.counts[t] as number); j++) {
        const id = input.ids[e + j] as number;
        const l = full[t]?.[id] as number;
        const v = (input.draws[e + j] as number) * Math.exp(l - lse - (l / 1.5 - lseT));
        exact.set(id, v);
        z += v;
      }
      d.ids.forEach((id, i) => {
        expect(w[i]).toBeCloseTo((exact.get(id) as number) / z, 4);
      });
    }
    const info = sampleInfo(s);
    expect(info.sampledPerPosition).toBe(0);
    expect(info.summary.cappedShare).toBeNull();
  });
});

describe("seed function names", () => {
  it("dequantizeLogits and unpackIndices behave as the seed's", () => {
    expect(Array.from(dequantizeLogits([0, 65535, 32768], -2, 2))).toEqual([-2, 2, (32768 / 65535) * 4 - 2]);
    const ids = [1, 70000, 262143, 5, 131072];
    const low = new Uint16Array(ids.length);
    const high = new Uint8Array(2);
    packIndices(ids, low, high);
    const out = new Int32Array(ids.length);
    unpackIndices(low, high, out);
    expect(Array.from(out)).toEqual(ids);
  });
});
