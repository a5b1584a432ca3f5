import type { NucleusSample } from "@logitpack/codec";
import { describe, expect, it } from "vitest";
import { ExploreError, fidelityReport, positionDistribution, renderFidelity } from "../src/index.js";
import {
  encodeImportanceSample,
  encodeNucleusSample,
  extractSample,
  fileOf,
  importanceSample,
  logsumexp,
  randomLogits,
  rng,
} from "./helpers.js";

const VOCAB = 2000;

function fulls(n: number, seed: number, peak = 9): Float64Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => randomLogits(VOCAB, r, peak));
}

/** KL(p || q) with q built independently: stored probabilities, the rest spread evenly. */
function referenceKl(full: Float64Array, stored: Map<number, number>): number {
  const lse = logsumexp(full);
  let storedMass = 0;
  for (const q of stored.values()) {
    storedMass += q;
  }
  const rest = (1 - storedMass) / (full.length - stored.size);
  let kl = 0;
  full.forEach((l, v) => {
    const p = Math.exp(l - lse);
    kl += p * Math.log(p / (stored.get(v) ?? rest));
  });
  return kl;
}

describe("fidelity report", () => {
  it("full vs reconstructed: small KL, the nucleus mass it captures, tail estimate error, on synthetic distributions", async () => {
    const full = fulls(16, 21);
    const input = extractSample(3, full, { topP: 0.9, topPMax: 40, sampledN: 24 });
    const sample = (await (await fileOf([encodeNucleusSample(input)])).sample(0)) as NucleusSample;
    let calls = 0;
    const report = await fidelityReport(sample, {
      fullLogits: async (t) => {
        calls++;
        return full[t] as Float64Array;
      },
    });
    expect(calls).toBe(16);
    expect(report.vocabSize).toBe(VOCAB);
    let e = 0;
    for (let t = 0; t < 16; t++) {
      const f = full[t] as Float64Array;
      const lse = logsumexp(f);
      const c = input.topCounts[t] as number;
      let trueMass = 0;
      const stored = new Map<number, number>();
      for (let j = 0; j < c; j++) {
        const id = input.topIds[e + j] as number;
        trueMass += Math.exp((f[id] as number) - lse);
      }
      e += c;
      expect(report.nucleusMassTrue[t]).toBeCloseTo(trueMass, 10);
      // the nucleus reaches top_p unless it was capped at top_p_max
      expect(c === 40 || (report.nucleusMassTrue[t] as number) >= 0.9 - 1e-9).toBe(true);
      expect(report.nucleusIsTop[t]).toBe(1);
      expect(Math.abs(report.tailError[t] as number)).toBeLessThan(1e-3);
      expect(Math.abs(report.logsumexpError[t] as number)).toBeLessThan(1e-9);
      expect(report.maxLogitError[t]).toBeLessThan(2e-3);
      // the reference KL from the stored entries' probabilities
      const d = positionDistribution(sample, t);
      d.ids.forEach((id, i) => {
        stored.set(id, d.probs[i] as number);
      });
      expect(report.kl[t]).toBeCloseTo(referenceKl(f, stored), 9);
      expect(report.kl[t]).toBeGreaterThan(0);
    }
    expect(report.summary.kl.max).toBeLessThan(0.2);
    expect(report.summary.nucleusIsTopShare).toBe(1);
    expect(renderFidelity(report)).toContain("KL(full || reconstructed)");
  });

  it("a worse reconstruction (smaller nucleus) has a larger KL; a wrong nucleus is flagged", async () => {
    const full = fulls(10, 22);
    const good = (await (
      await fileOf([encodeNucleusSample(extractSample(0, full, { topP: 0.99 }))])
    ).sample(0)) as NucleusSample;
    const poor = (await (
      await fileOf([encodeNucleusSample(extractSample(0, full, { topP: 0.3, sampledN: 2 }))])
    ).sample(0)) as NucleusSample;
    const fl = (t: number) => full[t] as Float64Array;
    const a = await fidelityReport(good, { fullLogits: fl });
    const b = await fidelityReport(poor, { fullLogits: fl });
    expect(b.summary.kl.mean).toBeGreaterThan(a.summary.kl.mean * 2);
    expect(b.summary.nucleusMassTrue.mean).toBeLessThan(a.summary.nucleusMassTrue.mean);
    // the teacher's distribution is not the one stored (other logits): the nucleus is not its top ids
    const other = fulls(10, 99);
    const c = await fidelityReport(good, { fullLogits: (t) => other[t] as Float64Array });
    expect(c.summary.nucleusIsTopShare).toBeLessThan(0.5);
    expect(c.summary.kl.mean).toBeGreaterThan(1);
    await expect(
      fidelityReport(good, { fullLogits: (t) => (t === 0 ? fl(0) : fl(t).subarray(0, 10)) }),
    ).rejects.toThrow(ExploreError);
  });

  it("importance layout: total variation of the weights against p", async () => {
    const full = fulls(6, 23, 13);
    const many = importanceSample(0, full, 2000, 1);
    const few = importanceSample(0, full, 10, 1);
    const open = async (i: typeof many) =>
      (
        await fileOf([encodeImportanceSample(i)], { layout: "importance", settings: { rounds: 10, temperature: 1 } })
      ).sample(0);
    const a = await fidelityReport(await open(many), { fullLogits: (t) => full[t] as Float64Array });
    const b = await fidelityReport(await open(few), { fullLogits: (t) => full[t] as Float64Array });
    expect(a.summary.weightsTv.mean).toBeLessThan(b.summary.weightsTv.mean);
    expect(a.summary.weightsTv.max).toBeLessThan(0.15);
    expect(a.summary.weightsTv.min).toBeGreaterThanOrEqual(0);
  });
});
