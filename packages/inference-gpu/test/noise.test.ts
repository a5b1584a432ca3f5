import { create, toBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema } from "onnx-buf";
import { describe, expect, it } from "vitest";
import { COUNTER, noiseWord, positionKey, squares32, uniform52 } from "../src/noise.js";
import { DT, GraphBuilder, valueInfo } from "../src/onnx/builder.js";
import { squaresGraph, uniforms } from "../src/onnx/postprocess.js";
import { LocalRunner } from "../src/runtime.js";
import { chiSquare, chiSquareQuantile } from "./helpers.js";

// Independent truth for the generator: Widynski's squares32 as printed in the paper (arXiv:2004.06278), in BigInt.
const MASK = (1n << 64n) - 1n;
function squaresBig(ctr: bigint, key: bigint): bigint {
  const y = (ctr * key) & MASK;
  const z = (y + key) & MASK;
  let x = (y * y + y) & MASK;
  x = ((x >> 32n) | (x << 32n)) & MASK;
  x = (x * x + z) & MASK;
  x = ((x >> 32n) | (x << 32n)) & MASK;
  x = (x * x + y) & MASK;
  x = ((x >> 32n) | (x << 32n)) & MASK;
  return ((x * x + z) & MASK) >> 32n;
}

/** A small deterministic stream of uint32 for test inputs (not the generator under test). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

const P_ABOVE = (g: number) => -Math.expm1(-Math.exp(-g)); // P(G > g) for a standard Gumbel

describe("noise generator (squares32, keyed per position)", () => {
  it("the TypeScript squares32 is the paper's function (BigInt reference), on 20,000 random inputs", () => {
    const r = lcg(1);
    for (let i = 0; i < 20_000; i++) {
      const [ch, cl, kh, kl] = [r(), r(), r(), (r() | 1) >>> 0];
      const want = squaresBig((BigInt(ch) << 32n) | BigInt(cl), (BigInt(kh) << 32n) | BigInt(kl));
      expect(squares32(ch, cl, kh, kl)).toBe(Number(want));
    }
  });

  it("the graph computes the same words and uniforms, bit for bit (ONNX Runtime CPU, opset 13)", async () => {
    const N = 64; // positions
    const K = 256; // counters each
    const g = new GraphBuilder(13, "t/");
    const key = g.cast("key", DT.UINT64);
    const base = g.cast("base", DT.UINT64);
    const ctr = g.op("Add", [base, g.cast("ctr", DT.UINT64)]);
    const ctr1 = g.op("Add", [ctr, g.constant("one", DT.UINT64, [], BigInt64Array.of(1n))]);
    const hi = squaresGraph(g, key, ctr);
    const lo = squaresGraph(g, key, ctr1);
    g.node("Cast", [hi], ["words"], { to: DT.INT64 });
    g.node("Identity", [uniforms(g, DT.DOUBLE, hi, lo)], ["u52"]);
    g.node("Identity", [uniforms(g, DT.DOUBLE, hi)], ["u32"]);
    g.node("Identity", [uniforms(g, DT.FLOAT, hi)], ["u24"]);
    const model = create(ModelProtoSchema, {
      irVersion: 8n,
      opsetImport: [{ domain: "", version: 13n }],
      graph: {
        name: "squares",
        node: g.nodes,
        initializer: g.initializers,
        input: [
          valueInfo("key", DT.INT64, [N, 1]),
          valueInfo("base", DT.INT64, [N, 1]),
          valueInfo("ctr", DT.INT64, [N, K]),
        ],
        output: [
          valueInfo("words", DT.INT64, [N, K]),
          valueInfo("u52", DT.DOUBLE, [N, K]),
          valueInfo("u32", DT.DOUBLE, [N, K]),
          valueInfo("u24", DT.FLOAT, [N, K]),
        ],
      },
    });
    const keys = new Uint32Array(3 * N);
    const keyT = new BigInt64Array(N);
    const baseT = new BigInt64Array(N);
    const ctrT = new BigInt64Array(N * K);
    const counters = new Float64Array(N * K);
    const r = lcg(7);
    for (let p = 0; p < N; p++) {
      positionKey(r() % 7, r() * 1000 + (r() % 1000), r() % 4096, keys, 3 * p);
      keyT[p] = BigInt.asIntN(64, (BigInt(keys[3 * p] as number) << 32n) | BigInt(keys[3 * p + 1] as number));
      baseT[p] = BigInt.asIntN(64, BigInt(keys[3 * p + 2] as number) << 32n);
      for (let k = 0; k < K; k++) {
        // counters from every range the sampler uses
        const c = [COUNTER.token + (r() % 151_936), COUNTER.block + 2 * (r() % 600), COUNTER.importance + 2 * k][k % 3];
        counters[p * K + k] = c as number;
        ctrT[p * K + k] = BigInt(c as number);
      }
    }
    const runner = new LocalRunner();
    try {
      await runner.create("squares", { model: toBinary(ModelProtoSchema, model), providers: ["cpu"], threads: 1 });
      const out = await runner.run(
        "squares",
        {
          key: { type: "int64", dims: [N, 1], data: keyT },
          base: { type: "int64", dims: [N, 1], data: baseT },
          ctr: { type: "int64", dims: [N, K], data: ctrT },
        },
        ["words", "u52", "u32", "u24"],
      );
      const words = out["words"]?.data as BigInt64Array;
      const u52 = out["u52"]?.data as Float64Array;
      const u32 = out["u32"]?.data as Float64Array;
      const u24 = out["u24"]?.data as Float32Array;
      for (let p = 0; p < N; p++) {
        for (let k = 0; k < K; k++) {
          const c = counters[p * K + k] as number;
          const w = noiseWord(keys, 3 * p, c);
          expect(Number(words[p * K + k])).toBe(w);
          expect(u52[p * K + k]).toBe(uniform52(keys, 3 * p, c));
          expect(u32[p * K + k]).toBe(w * 2 ** -32 + 2 ** -33);
          expect(u24[p * K + k]).toBe(Math.fround(Math.floor(w / 256) * 2 ** -24 + 2 ** -25));
        }
      }
    } finally {
      await runner.close();
    }
  });

  it("uniform: KS and chi-square on 1,000,000 words over 4,000 position keys; adjacent positions independent", () => {
    const P = 4000;
    const PER = 250;
    const key = new Uint32Array(3);
    const next = new Uint32Array(3);
    const n = P * PER;
    const us = new Float64Array(n);
    const binsHi = new Array<number>(1024).fill(0);
    const binsLo = new Array<number>(1024).fill(0);
    const joint = new Array<number>(256).fill(0);
    let i = 0;
    for (let p = 0; p < P; p++) {
      positionKey(3, 1000 + (p >> 4), p & 15, key, 0);
      positionKey(3, 1000 + ((p + 1) >> 4), (p + 1) & 15, next, 0);
      for (let j = 0; j < PER; j++) {
        const w = noiseWord(key, 0, j * 601); // token counters spread over the vocabulary
        us[i++] = (w + 0.5) / 2 ** 32;
        binsHi[w >>> 22] = (binsHi[w >>> 22] as number) + 1;
        binsLo[w & 1023] = (binsLo[w & 1023] as number) + 1;
        const v = noiseWord(next, 0, j * 601); // same counter, the next position
        const cell = ((w >>> 28) << 4) | (v >>> 28);
        joint[cell] = (joint[cell] as number) + 1;
      }
    }
    us.sort();
    let d = 0;
    for (let k = 0; k < n; k++) {
      const x = us[k] as number;
      d = Math.max(d, Math.abs(x - k / n), Math.abs((k + 1) / n - x));
    }
    expect(d * Math.sqrt(n)).toBeLessThan(1.95); // Kolmogorov, p = 0.001
    const flat = (m: number) => new Array<number>(m).fill(1 / m);
    expect(chiSquare(binsHi, flat(1024))).toBeLessThan(chiSquareQuantile(1023, 0.999));
    expect(chiSquare(binsLo, flat(1024))).toBeLessThan(chiSquareQuantile(1023, 0.999));
    expect(chiSquare(joint, flat(256))).toBeLessThan(chiSquareQuantile(255, 0.999));
  });

  it("Gumbel tails follow the law: counts above G = 8, 10, 12 from 2,000,000 tokens' noise (32-bit) and blocks' (52-bit)", () => {
    const key = new Uint32Array(3);
    const P = 2000;
    const PER = 1000;
    const thresholds = [8, 10, 12];
    const above32 = [0, 0, 0];
    const above52 = [0, 0, 0];
    let max32 = Number.NEGATIVE_INFINITY;
    for (let p = 0; p < P; p++) {
      positionKey(11, p, 7, key, 0);
      for (let j = 0; j < PER; j++) {
        // as the graph: E = -log(U), U = (2w + 1) / 2^33; a token's Gumbel is -log(E)
        const g32 = -Math.log(-Math.log(noiseWord(key, 0, COUNTER.token + j) * 2 ** -32 + 2 ** -33));
        const g52 = -Math.log(-Math.log(uniform52(key, 0, COUNTER.block + 2 * j)));
        max32 = Math.max(max32, g32);
        thresholds.forEach((t, k) => {
          above32[k] = (above32[k] as number) + (g32 > t ? 1 : 0);
          above52[k] = (above52[k] as number) + (g52 > t ? 1 : 0);
        });
      }
    }
    const n = P * PER;
    thresholds.forEach((t, k) => {
      const expected = n * P_ABOVE(t);
      for (const got of [above32[k] as number, above52[k] as number]) {
        // Poisson counts: |z| < 4
        expect(Math.abs(got - expected) / Math.sqrt(expected), `G > ${t}: ${got} vs ${expected}`).toBeLessThan(4);
      }
    });
    // not capped low: the largest of 2e6 Gumbels is about ln(2e6) + 0.58 = 15.1 (below 12.5 with probability 2e-4)
    expect(max32).toBeGreaterThan(12.5);
  });
});
