/**
 * Fake teacher output for a rendered conversation: for every kept token of an encoded example, a nucleus that holds
 * the real token at a chosen probability (or leaves it out), distractors and a sampled tail. What the extraction
 * would store if the teacher had those distributions; the alignment must find exactly these probabilities again.
 */
import type { EncodedExample } from "@logitpack/chat";
import type { NucleusInput } from "@logitpack/codec";
import { rng } from "./helpers.js";

/** Probability of the real token at kept position t: cycles through likely, unsure, unlikely and not stored (0). */
export const PATTERN = [0.9, 0.55, 0.2, 0.9, 0.7, 0] as const;

export function keptIds(e: EncodedExample): number[] {
  const out: number[] = [];
  e.ids.forEach((id, i) => {
    if (e.extractMask[i] === 1) {
      out.push(id);
    }
  });
  return out;
}

/**
 * `shift` makes the stored positions predict the token `shift` places later (an off-by-one mask), with the same
 * number of positions.
 */
export function teacherInput(index: number, real: readonly number[], vocab: number, shift = 0, seed = 1): NucleusInput {
  const r = rng(seed + index * 31);
  const topCounts: number[] = [];
  const topIds: number[] = [];
  const topLogits: number[] = [];
  const sampledIds: number[] = [];
  const sampledLogits: number[] = [];
  const logsumexp: number[] = [];
  for (let t = 0; t < real.length; t++) {
    const id = real[Math.min(real.length - 1, Math.max(0, t + shift))] as number;
    const p = PATTERN[t % PATTERN.length] as number;
    const ids: number[] = [];
    const probs: number[] = [];
    if (p > 0) {
      ids.push(id);
      probs.push(p);
    }
    let left = 0.97 - Math.max(p, 0);
    while (left > 0.01) {
      const d = 1000 + Math.floor(r() * (vocab - 1000));
      if (d === id || ids.includes(d)) {
        continue;
      }
      const q = Math.min(left, p > 0 ? Math.min(p * 0.9, left) : 0.4);
      ids.push(d);
      probs.push(q);
      left -= q;
    }
    topCounts.push(ids.length);
    ids.forEach((x, j) => {
      topIds.push(x);
      topLogits.push(Math.log(probs[j] as number));
    });
    for (let k = 0; k < 4; k++) {
      let d = 0;
      do {
        d = Math.floor(r() * vocab);
      } while (d === id || ids.includes(d));
      sampledIds.push(d);
      sampledLogits.push(Math.log(0.001 * (1 + r())));
    }
    logsumexp.push(0);
  }
  return { index, topCounts, topIds, topLogits, sampledIds, sampledLogits, logsumexp };
}
