import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ImportanceResult,
  loadTeacher,
  logsumexpRow,
  type NucleusResult,
  runBatch,
  type Teacher,
  type TeacherExample,
} from "../src/index.js";
import { chiSquare, chiSquareQuantile, example, reference, tailDistribution, tinyModel, V } from "./helpers.js";

// Statistics over many noise keys: one position's logits, repeated as many examples (the noise is keyed by example
// index and seed, so each copy is an independent draw).
const COPIES = 120;
const SEEDS = [1, 2, 3, 4, 5];

function copies(base: TeacherExample, n: number): TeacherExample[] {
  const mask = new Uint8Array(base.inputIds.length);
  mask[mask.length - 1] = 1; // only the last token: one position per copy
  return Array.from({ length: n }, (_, i) => ({ index: 1000 + i, inputIds: base.inputIds, extractMask: mask }));
}

describe("sampling statistics", () => {
  let teacher: Teacher;
  let row: Float32Array;
  let lse: number;
  const base = example(3, 12, 1, 77);
  beforeAll(async () => {
    teacher = await loadTeacher({ modelDir: await tinyModel("decoder"), device: "cpu", threads: 2 });
    const [r] = (await runBatch(teacher, copies(base, 1), { exposeLogits: true })) as [NucleusResult];
    row = (r.logits as Float32Array).slice(0, V);
    lse = logsumexpRow(row);
  });
  afterAll(() => teacher.close());

  it("tail: the first sampled token follows the renormalized tail (chi-square), never in the nucleus", async () => {
    const ref = reference(row, { seed: 0, index: 0, position: 11 });
    const nucleus = new Set(ref.out.topIds.subarray(0, ref.count));
    // tail probabilities q_j = p_j / (1 - P(nucleus))
    const q = tailDistribution(row, nucleus, lse);
    const firsts: number[] = [];
    for (const seed of SEEDS) {
      const res = (await runBatch(teacher, copies(base, COPIES), { seed })) as NucleusResult[];
      for (const r of res) {
        expect(r.topCounts[0]).toBe(ref.count);
        const s = Array.from(r.sampledIds);
        expect(s.some((id) => nucleus.has(id))).toBe(false);
        expect(new Set(s).size).toBe(24);
        firsts.push(s[0] as number);
      }
    }
    const n = firsts.length;
    // bins: the most probable tail tokens with expected count >= 5, then everything else
    const order = Array.from({ length: V }, (_, j) => j)
      .filter((j) => !nucleus.has(j))
      .sort((a, b) => (q[b] as number) - (q[a] as number));
    const bins = order.filter((j) => (q[j] as number) * n >= 5).slice(0, 30);
    expect(bins.length).toBeGreaterThanOrEqual(5);
    const binOf = new Map(bins.map((j, i) => [j, i]));
    const observed = new Array<number>(bins.length + 1).fill(0);
    for (const id of firsts) {
      const b = binOf.get(id) ?? bins.length;
      observed[b] = (observed[b] as number) + 1;
    }
    const probs = bins.map((j) => q[j] as number);
    probs.push(1 - probs.reduce((s, x) => s + x, 0));
    const x2 = chiSquare(observed, probs);
    const critical = chiSquareQuantile(bins.length, 0.999);
    expect(x2).toBeLessThan(critical);
    // The test has power: the same draws against the un-renormalized distribution of a sharper temperature fail it.
    const sharp = bins.map((j) => (q[j] as number) ** 1.5);
    const norm = order.reduce((s, j) => s + (q[j] as number) ** 1.5, 0);
    const sharpProbs = sharp.map((x) => x / norm);
    sharpProbs.push(1 - sharpProbs.reduce((s, x) => s + x, 0));
    expect(chiSquare(observed, sharpProbs)).toBeGreaterThan(critical);
  });

  it("importance weights are unbiased: E[sum count * p/q * f] / rounds = E_p[f] for several f, at temperature 2", async () => {
    const T = 2;
    const rounds = 50;
    const p = (j: number) => Math.exp((row[j] as number) - lse);
    const byProb = Array.from({ length: V }, (_, j) => j).sort((a, b) => (row[b] as number) - (row[a] as number));
    const top = byProb.slice(0, 4);
    // the least probable tokens holding 5% of the mass (the far tail), and their exact mass
    const far = new Uint8Array(V);
    let farMass = 0;
    for (let r = V - 1; r >= 0 && farMass < 0.05; r--) {
      const j = byProb[r] as number;
      far[j] = 1;
      farMass += p(j);
    }
    const fs: { name: string; f: (j: number) => number; exact: number }[] = top.map((j, t) => ({
      name: `indicator of the top-${t + 1} token ${j}`,
      f: (i: number) => (i === j ? 1 : 0),
      exact: p(j),
    }));
    let meanLogit = 0;
    let sumP2 = 0;
    let even = 0;
    for (let j = 0; j < V; j++) {
      meanLogit += p(j) * (row[j] as number);
      sumP2 += p(j) ** 2;
      even += j % 2 === 0 ? p(j) : 0;
    }
    fs.push(
      { name: "far-tail indicator (least probable 5% of the mass)", f: (j) => far[j] as number, exact: farMass },
      { name: "the logit", f: (j) => row[j] as number, exact: meanLogit },
      { name: "the token's probability", f: (j) => p(j), exact: sumP2 },
      { name: "even ids", f: (j) => (j % 2 === 0 ? 1 : 0), exact: even },
    );
    const est = fs.map(() => [] as number[]);
    const naiveFar: number[] = [];
    for (const seed of SEEDS.slice(0, 3)) {
      const res = (await runBatch(teacher, copies(base, COPIES), {
        mode: "importance",
        rounds,
        temperature: T,
        seed,
      })) as ImportanceResult[];
      for (const r of res) {
        expect(Math.abs((r.logsumexp[0] as number) - lse)).toBeLessThanOrEqual(1e-12 * Math.abs(lse));
        let drawn = 0;
        const sums = fs.map(() => 0);
        let nf = 0;
        for (let k = 0; k < r.ids.length; k++) {
          const id = r.ids[k] as number;
          const count = r.draws[k] as number;
          const l = r.logits[k] as number;
          drawn += count;
          // w = p/q from what the result stores: (l - lse) - (l/T - lseT)
          const w = Math.exp(l - (r.logsumexp[0] as number) - (l / T - (r.logsumexpT[0] as number)));
          fs.forEach((f, i) => {
            sums[i] = (sums[i] as number) + count * w * f.f(id);
          });
          nf += count * (far[id] as number);
        }
        expect(drawn).toBe(rounds);
        fs.forEach((_, i) => {
          (est[i] as number[]).push((sums[i] as number) / rounds);
        });
        naiveFar.push(nf / rounds);
      }
    }
    const z = (xs: number[], exact: number) => {
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1));
      return { mean, z: (mean - exact) / (sd / Math.sqrt(xs.length) + 1e-300) };
    };
    fs.forEach((f, i) => {
      const { mean, z: zi } = z(est[i] as number[], f.exact);
      expect(Math.abs(zi), `${f.name}: exact ${f.exact}, estimate ${mean}`).toBeLessThan(4);
    });
    // power: the unweighted draw frequencies estimate q (flatter at T = 2), not p: the far tail comes out too heavy
    expect(z(naiveFar, farMass).z).toBeGreaterThan(4);
  });
});
