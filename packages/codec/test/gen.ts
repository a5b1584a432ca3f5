/** Deterministic generators of samples for tests and benchmarks. */
import type { NucleusInput } from "../src/index.js";

/** xorshift32 in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

export interface GenOptions {
  tokens: number;
  /** Nucleus size per position: a fixed number or a sampler. */
  count?: number | ((r: () => number) => number);
  sampledN?: number;
  /** Ids drawn below this (default 262,144: the format's whole range). */
  vocab?: number;
  /** Make every position's logits equal (max == min). */
  degenerate?: boolean;
}

export function randomInput(index: number, r: () => number, o: GenOptions): NucleusInput {
  const vocab = o.vocab ?? 262_144;
  const sampledN = o.sampledN ?? 24;
  const topCounts: number[] = [];
  const topIds: number[] = [];
  const topLogits: number[] = [];
  const sampledIds: number[] = [];
  const sampledLogits: number[] = [];
  const logsumexp: number[] = [];
  for (let t = 0; t < o.tokens; t++) {
    const c = typeof o.count === "number" ? o.count : o.count ? o.count(r) : 1 + Math.floor(r() * 10);
    topCounts.push(c);
    const head = r() * 40 - 10;
    for (let j = 0; j < c; j++) {
      // include the extremes of the id range now and then
      const x = r();
      topIds.push(x < 0.02 ? vocab - 1 : x < 0.04 ? 0 : Math.floor(r() * vocab));
      topLogits.push(o.degenerate ? head : head - r() * 20);
    }
    for (let j = 0; j < sampledN; j++) {
      sampledIds.push(Math.floor(r() * vocab));
      sampledLogits.push(o.degenerate ? head - 30 : head - 20 - r() * 15);
    }
    logsumexp.push(head + r());
  }
  return { index, topCounts, topIds, topLogits, sampledIds, sampledLogits, logsumexp };
}
