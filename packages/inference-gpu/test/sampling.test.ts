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
import { chiSquare, chiSquareQuantile, example, reference, tinyModel, V } from "./helpers.js";

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
    const q = new Float64Array(V);
    let tail = 0;
    for (let j = 0; j < V; j++) {
      if (!nucleus.has(j)) {
        q[j] = Math.exp((row[j] as number) - lse);
        tail += q[j] as number;
      }
    }
    for (let j = 0; j < V; j++) {
      q[j] = (q[j] as number) / tail;
    }
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

  it("importance weights are unbiased: E[count * p/q] / rounds = p, at temperature 2", async () => {
    const T = 2;
    const rounds = 50;
    const p = (j: number) => Math.exp((row[j] as number) - lse);
    const top = Array.from({ length: V }, (_, j) => j)
      .sort((a, b) => (row[b] as number) - (row[a] as number))
      .slice(0, 4);
    const sums = top.map(() => [] as number[]);
    const naive = top.map(() => [] as number[]);
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
        for (let k = 0; k < r.ids.length; k++) {
          drawn += r.draws[k] as number;
        }
        expect(drawn).toBe(rounds);
        top.forEach((j, t) => {
          const k = Array.from(r.ids).indexOf(j);
          const count = k < 0 ? 0 : (r.draws[k] as number);
          const l = k < 0 ? 0 : (r.logits[k] as number);
          // w = p/q from what the result stores: (l - lse) - (l/T - lseT)
          const w = k < 0 ? 0 : Math.exp(l - (r.logsumexp[0] as number) - (l / T - (r.logsumexpT[0] as number)));
          (sums[t] as number[]).push((count * w) / rounds);
          (naive[t] as number[]).push(count / rounds);
        });
      }
    }
    top.forEach((j, t) => {
      const xs = sums[t] as number[];
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1));
      const z = (mean - p(j)) / (sd / Math.sqrt(xs.length) + 1e-12);
      expect(Math.abs(z), `token ${j}: p ${p(j)}, estimate ${mean}`).toBeLessThan(4);
    });
    // power: the unweighted draw frequencies estimate q, not p, and the test sees it for the top token
    const xs = naive[0] as number[];
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1));
    expect(Math.abs((mean - p(top[0] as number)) / (sd / Math.sqrt(xs.length)))).toBeGreaterThan(4);
  });
});
