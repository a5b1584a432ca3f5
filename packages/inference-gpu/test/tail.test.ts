import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { TensorProto_DataType as DT, GraphProtoSchema, ModelProtoSchema } from "onnx-buf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  loadTeacher,
  logsumexpRow,
  type NucleusResult,
  runBatch,
  type Teacher,
  type TeacherExample,
  topkRow,
} from "../src/index.js";
import { noiseWord, positionKey } from "../src/noise.js";
import { GraphBuilder, valueInfo } from "../src/onnx/builder.js";
import { example, reference, tailDistribution, tinyModel, V } from "./helpers.js";
import { DEFAULT_NOISE_ROWS, gumbelTable, NOISE_BLOCK, noiseOffsets } from "./v1-noise.js";

// The tail draws are sampling without replacement from the renormalized tail: draw d, given draws 0..d-1 removed,
// is a draw from the remaining tail renormalized. Its randomized probability-integral transform (tokens ordered
// least probable first; PIT = (mass before the drawn token + W·its mass) / remaining mass, W ~ U(0, 1)) is then
// Uniform(0, 1), independently across draws, positions and seeds. Pooled over the graph's real output (ONNX
// Runtime CPU, the tiny teacher), a KS test and a z-test on PIT < 0.05 (the least probable 5% of the remaining tail
// mass, where the old shared table fell short) must pass, and the same test must fail a deliberately biased sampler.

const SEEDS = [1, 2, 3, 4];
const COPIES = 100;
const DRAWS = 24;

interface Tail {
  /** q_j: tail probability (0 in the nucleus). */
  q: Float64Array;
  /** mass of the tail tokens before j in the least-probable-first order. */
  before: Float64Array;
  rank: Int32Array;
  /** the nucleus ids. */
  nucleus: Set<number>;
}

function tailOf(row: Float32Array, nucleus: Set<number>): Tail {
  const q = tailDistribution(row, nucleus, logsumexpRow(row));
  const order = Int32Array.from({ length: V }, (_, j) => j).sort(
    (a, b) => (q[a] as number) - (q[b] as number) || a - b,
  );
  const before = new Float64Array(V);
  const rank = new Int32Array(V);
  let c = 0;
  order.forEach((j, r) => {
    before[j] = c;
    rank[j] = r;
    c += q[j] as number;
  });
  return { q, before, rank, nucleus };
}

/** A deterministic stream of uniforms in (0, 1) for the PIT's randomization (independent of the sampler). */
function uniformStream(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
}

/** Randomized PIT values of one position's draws (in draw order), appended to `out`. */
function pits(t: Tail, draws: ArrayLike<number>, w: () => number, out: number[]): void {
  let removed = 0;
  for (let d = 0; d < draws.length; d++) {
    const s = draws[d] as number;
    let before = t.before[s] as number;
    for (let i = 0; i < d; i++) {
      const e = draws[i] as number;
      if ((t.rank[e] as number) < (t.rank[s] as number)) {
        before -= t.q[e] as number;
      }
    }
    out.push((before + w() * (t.q[s] as number)) / (1 - removed));
    removed += t.q[s] as number;
  }
}

/** KS statistic sqrt(n)·D against Uniform(0, 1), and the far-tail z of the count of PIT < 0.05. */
function verdict(values: number[]): { ks: number; z: number; n: number; farTail: number } {
  const xs = Float64Array.from(values).sort();
  const n = xs.length;
  let d = 0;
  for (let k = 0; k < n; k++) {
    const x = xs[k] as number;
    d = Math.max(d, Math.abs(x - k / n), Math.abs((k + 1) / n - x));
  }
  const farTail = values.filter((x) => x < 0.05).length;
  return { ks: d * Math.sqrt(n), z: (farTail - 0.05 * n) / Math.sqrt(n * 0.05 * 0.95), n, farTail };
}

function copies(base: TeacherExample, n: number, from: number): TeacherExample[] {
  const mask = new Uint8Array(base.inputIds.length);
  mask[mask.length - 1] = 1; // only the last token: one position per copy
  return Array.from({ length: n }, (_, i) => ({ index: from + i, inputIds: base.inputIds, extractMask: mask }));
}

describe("tail draws: randomized PIT of the without-replacement draws", () => {
  let teacher: Teacher;
  const bases = [example(3, 12, 1, 77), example(4, 9, 1, 5), example(5, 15, 1, 901), example(6, 7, 1, 31)];
  const rows: Float32Array[] = [];
  const tails: Tail[] = [];
  beforeAll(async () => {
    teacher = await loadTeacher({ modelDir: await tinyModel("decoder"), device: "cpu", threads: 2 });
    for (const base of bases) {
      const [r] = (await runBatch(teacher, copies(base, 1, 0), { exposeLogits: true })) as [NucleusResult];
      const row = (r.logits as Float32Array).slice(0, V);
      const nucleus = new Set(Array.from(r.topIds.subarray(0, r.topCounts[0] as number)));
      rows.push(row);
      tails.push(tailOf(row, nucleus));
    }
  });
  afterAll(() => teacher.close());

  it("the graph's draws: PIT uniform (KS) and the least probable 5% of the remaining tail gets its share (z)", async () => {
    const values: number[] = [];
    const w = uniformStream(12345);
    let firstDraws = 0;
    for (let b = 0; b < bases.length; b++) {
      const t = tails[b] as Tail;
      for (const seed of SEEDS) {
        const res = (await runBatch(teacher, copies(bases[b] as TeacherExample, COPIES, 10_000 * b), {
          seed,
        })) as NucleusResult[];
        for (const r of res) {
          const draws = r.sampledIds;
          expect(draws.length).toBe(DRAWS);
          expect(Array.from(draws).some((id) => t.nucleus.has(id))).toBe(false);
          pits(t, draws, w, values);
          firstDraws++;
        }
      }
    }
    expect(firstDraws).toBe(bases.length * SEEDS.length * COPIES);
    const v = verdict(values);
    expect(v.n).toBe(bases.length * SEEDS.length * COPIES * DRAWS);
    expect(v.ks, JSON.stringify(v)).toBeLessThan(1.95); // p = 0.001
    expect(Math.abs(v.z), JSON.stringify(v)).toBeLessThan(3.5);
  });

  /** The PIT verdict of a TypeScript Gumbel-top-k sampler whose noise for position (b, seed, c) is `noise(...)`. */
  function biasedVerdict(
    copiesPerSeed: number,
    noise: (out: Float32Array, b: number, seed: number, c: number) => void,
  ) {
    const values: number[] = [];
    const w = uniformStream(12345);
    const g = new Float32Array(V);
    const pert = new Float32Array(V);
    const ids = new Int32Array(DRAWS);
    const vals = new Float32Array(DRAWS);
    for (let b = 0; b < bases.length; b++) {
      const t = tails[b] as Tail;
      const row = rows[b] as Float32Array;
      for (const seed of SEEDS) {
        for (let c = 0; c < copiesPerSeed; c++) {
          noise(g, b, seed, c);
          for (let j = 0; j < V; j++) {
            pert[j] = (row[j] as number) + (g[j] as number);
          }
          for (const j of t.nucleus) {
            pert[j] = Number.NEGATIVE_INFINITY;
          }
          topkRow(pert, DRAWS, ids, vals);
          pits(t, ids, w, values);
        }
      }
    }
    return verdict(values);
  }

  it("has power: Gumbel noise 10% too small (a draw at temperature 0.9) fails the far-tail z-test", () => {
    const u = uniformStream(99);
    const v = biasedVerdict(20, (g) => {
      for (let j = 0; j < V; j++) {
        g[j] = -0.9 * Math.log(-Math.log(u()));
      }
    });
    expect(v.z, JSON.stringify(v)).toBeLessThan(-3.5);
  });

  it("has power: a shared-table sampler (one table of 2^12 Gumbels, a window per position) fails the test", () => {
    // The old design's flaw at a scale a test can see: every position reads its noise from one fixed table.
    const T = 1 << 12;
    const table = new Float32Array(T);
    const tkey = new Uint32Array(3);
    positionKey(0, 0, 0, tkey, 0);
    for (let i = 0; i < T; i++) {
      table[i] = -Math.log(-Math.log(noiseWord(tkey, 0, i) * 2 ** -32 + 2 ** -33));
    }
    const key = new Uint32Array(3);
    const v = biasedVerdict(COPIES / 2, (g, b, seed, c) => {
      positionKey(seed, 10_000 * b + c, 11, key, 0);
      const off = (key[0] as number) % T;
      for (let j = 0; j < V; j++) {
        g[j] = table[(j + off) & (T - 1)] as number;
      }
    });
    expect(v.ks >= 1.95 || Math.abs(v.z) >= 3.5, JSON.stringify(v)).toBe(true);
  });

  it("the TypeScript reference draws the same as the graph on these positions (the PIT above tests both)", async () => {
    const res = (await runBatch(teacher, copies(bases[0] as TeacherExample, 20, 0), { seed: 1 })) as NucleusResult[];
    for (const r of res) {
      const ref = reference(rows[0] as Float32Array, { seed: 1, index: r.index, position: 11 });
      expect(Array.from(r.sampledIds)).toEqual(Array.from(ref.out.sampledIds));
    }
  });
});

// Deep tails, where the extremes of the noise matter: a model whose logits we choose (input_ids -> Gather(table)),
// V = 151,936. Token 0 holds the nucleus (logit 12), tokens 1..10 the head of the tail (logit 0), every other token
// sits 14 nats lower. The deep group holds 1.2% of the tail mass, but a deep token beats the head only with a Gumbel
// about 17 above the head's best: the deep group's share of the first draws is right only if the noise's far
// extremes follow the law. The v1 table (its largest value 15.8) gives it a sixth of its share.
const DEPTH = 14;

async function writeDeepTailModel(dir: string): Promise<void> {
  const table = new Float32Array(V).fill(-DEPTH);
  table.fill(0, 1, 11);
  table[0] = 12;
  const b = new GraphBuilder(17, "t/");
  b.node("Gather", [b.constant("table", DT.FLOAT, [1, V], table), "input_ids"], ["logits"], { axis: 0 });
  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ domain: "", version: 17n }],
    graph: create(GraphProtoSchema, {
      name: "deep_tail",
      node: b.nodes,
      initializer: b.initializers,
      input: [valueInfo("input_ids", DT.INT64, ["batch", "seq"])],
      output: [valueInfo("logits", DT.FLOAT, ["batch", "seq", V])],
    }),
  });
  await writeFile(join(dir, "model.onnx"), toBinary(ModelProtoSchema, model));
  await writeFile(join(dir, "config.json"), JSON.stringify({ vocab_size: V, pad_token_id: 0 }));
}

describe("tail draws on a deep tail (chosen logits): the noise's far extremes", () => {
  let dir: string;
  let teacher: Teacher;
  let f32: Teacher;
  let row: Float32Array;
  let tail: Tail;
  // two tokens, the second extracted (its distribution is the logits at position 0)
  const at = (index: number): TeacherExample => ({
    index,
    inputIds: Int32Array.of(0, 0),
    extractMask: Uint8Array.of(0, 1),
  });
  const PER_SEED = 600;
  // P(first draw in the deep group) = deep mass / tail mass
  const deepMass = (V - 11) * Math.exp(-DEPTH);
  const pDeep = deepMass / (10 + deepMass);
  const zDeep = (count: number, n: number) => (count - n * pDeep) / Math.sqrt(n * pDeep * (1 - pDeep));
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "logitpack-deep-"));
    await writeDeepTailModel(dir);
    teacher = await loadTeacher({ modelDir: dir, device: "cpu", threads: 2, thread: "caller" });
    f32 = await loadTeacher({ modelDir: dir, device: "cpu", threads: 2, thread: "caller", precision: "float32" });
    const [res] = (await runBatch(teacher, [at(0)], { exposeLogits: true })) as [NucleusResult];
    row = (res.logits as Float32Array).slice(0, V);
    expect(res.topCounts[0]).toBe(1);
    tail = tailOf(row, new Set([0]));
  });
  afterAll(async () => {
    await teacher.close();
    await f32.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const precision of ["float64", "float32"] as const) {
    it(`the graph (${precision}): the deep group gets its share of first draws, the PIT and far-tail tests pass`, async () => {
      const values: number[] = [];
      const w = uniformStream(777);
      let deep = 0;
      for (const seed of SEEDS) {
        const batch = Array.from({ length: PER_SEED }, (_, i) => at(i));
        const t = precision === "float64" ? teacher : f32;
        expect(t.precision).toBe(precision);
        for (const x of (await runBatch(t, batch, { seed })) as NucleusResult[]) {
          pits(tail, x.sampledIds, w, values);
          deep += (x.sampledIds[0] as number) > 10 ? 1 : 0;
        }
      }
      const n = SEEDS.length * PER_SEED;
      expect(Math.abs(zDeep(deep, n)), `${deep} deep first draws of ${n}, expected ${n * pDeep}`).toBeLessThan(4);
      const v = verdict(values);
      expect(v.ks, JSON.stringify(v)).toBeLessThan(1.95);
      expect(Math.abs(v.z), JSON.stringify(v)).toBeLessThan(3.5);
    });
  }

  it("the v1 shared table (max of two windows of 2 x 33 x V Gumbels) fails: too few deep first draws", () => {
    const table = gumbelTable(DEFAULT_NOISE_ROWS, V);
    const offs = new Int32Array(2);
    let deep = 0;
    for (const seed of SEEDS) {
      for (let i = 0; i < PER_SEED; i++) {
        // the same positions' keys, the old windows and noise
        noiseOffsets(seed, i, 1, DEFAULT_NOISE_ROWS, V, offs, 0);
        const a = (offs[0] as number) * NOISE_BLOCK;
        const b = (offs[1] as number) * NOISE_BLOCK;
        // the first draw: the argmax of logit + noise over the tail (token 0 is the nucleus; float32 sums, ties to
        // the lower id, as v1's graph)
        let best = Number.NEGATIVE_INFINITY;
        let arg = -1;
        for (let j = 1; j < V; j++) {
          const v = Math.fround((row[j] as number) + Math.max(table[a + j] as number, table[b + j] as number));
          if (v > best) {
            best = v;
            arg = j;
          }
        }
        deep += arg > 10 ? 1 : 0;
      }
    }
    const n = SEEDS.length * PER_SEED;
    expect(zDeep(deep, n), `${deep} deep first draws of ${n}, expected ${n * pDeep}`).toBeLessThan(-4);
  });
});
