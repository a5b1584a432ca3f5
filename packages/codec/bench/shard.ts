/**
 * A realistic synthetic shard for benchmarks: samples of 200-2000 assistant tokens; nucleus sizes like a real
 * model's (most positions 1-5 entries, a long tail up to 100: a discretized log-normal); 24 sampled tail entries;
 * ids over Qwen3's 151,936 logits with a Zipf-like skew; logits shaped like a peaked softmax head.
 */
import type { NucleusInput } from "../src/index.js";

import { rng } from "../test/gen.js";

export { rng };

export const VOCAB = 151_936;

export function nucleusSize(r: () => number, cap = 100): number {
  // log-normal: median ~3, heavy tail, clamp to [1, cap]
  const u1 = Math.max(r(), 1e-12);
  const u2 = r();
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return Math.min(cap, Math.max(1, Math.round(Math.exp(1.0 + 1.2 * z))));
}

export function sampleInput(index: number, tokens: number, r: () => number, sampledN = 24): NucleusInput {
  const topCounts = new Array<number>(tokens);
  const topIds: number[] = [];
  const topLogits: number[] = [];
  const sampledIds: number[] = [];
  const sampledLogits: number[] = [];
  const logsumexp = new Array<number>(tokens);
  for (let t = 0; t < tokens; t++) {
    const c = nucleusSize(r);
    topCounts[t] = c;
    const head = 20 + r() * 10;
    for (let j = 0; j < c; j++) {
      topIds.push(Math.floor(VOCAB * r() ** 3));
      topLogits.push(head - j * (0.3 + r()));
    }
    for (let j = 0; j < sampledN; j++) {
      sampledIds.push(Math.floor(VOCAB * r()));
      sampledLogits.push(head - 12 - r() * 10);
    }
    logsumexp[t] = head + 0.05 + r() * 0.5;
  }
  return { index, topCounts, topIds, topLogits, sampledIds, sampledLogits, logsumexp };
}
