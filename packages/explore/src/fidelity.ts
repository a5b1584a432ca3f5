import type { LogitSample } from "@logitpack/codec";
import { ExploreError } from "./errors.js";
import { type Summary, summarize } from "./internal/summary.js";

export interface FidelityOptions {
  /**
   * Full-vocabulary logits of stored position `t` (the model run again on the same text: the tiny test model, or any
   * model the user has). Called once per position, in order.
   */
  fullLogits: (position: number) => ArrayLike<number> | Promise<ArrayLike<number>>;
  /** Positions to check (default all). */
  positions?: readonly number[];
}

/** Per-position fidelity of a stored sample against the full distribution, and summaries. */
export interface FidelityReport {
  index: number;
  layout: LogitSample["layout"];
  vocabSize: number;
  positions: Int32Array;
  /**
   * KL(p || q) in nats, p the full distribution, q the reconstruction: every stored entry (nucleus, sampled tail
   * or drawn) at its stored probability `exp(logit - logsumexp)`, the remaining mass spread evenly over the ids not
   * stored.
   */
  kl: Float64Array;
  /** True probability (under p) of the stored nucleus ids: how much mass the nucleus really captures. */
  nucleusMassTrue: Float64Array;
  /** The same mass from the stored (quantized) logits and logsumexp. */
  nucleusMassStored: Float64Array;
  /** True tail mass `1 - nucleusMassTrue`. */
  tailMassTrue: Float64Array;
  /** Tail estimate a training loop uses: `1 - nucleusMassStored`. */
  tailMassEstimated: Float64Array;
  /** `tailMassEstimated - tailMassTrue`. */
  tailError: Float64Array;
  /** Stored logsumexp minus the recomputed one. */
  logsumexpError: Float64Array;
  /** Largest |stored logit - true logit| over the stored entries (quantization error). */
  maxLogitError: Float64Array;
  /** 1 when the stored nucleus ids are exactly the most probable ids (no better id left out). */
  nucleusIsTop: Uint8Array;
  /** Importance layout: total variation between the normalized importance weights and p (NaN otherwise). */
  weightsTv: Float64Array;
  summary: {
    kl: Summary;
    nucleusMassTrue: Summary;
    absTailError: Summary;
    absLogsumexpError: Summary;
    maxLogitError: Summary;
    weightsTv: Summary;
    /** Share of positions whose nucleus is exactly the top ids. */
    nucleusIsTopShare: number;
  };
}

/**
 * Compares a stored sample with full distributions recomputed for the same positions: KL divergence of the
 * reconstruction, nucleus mass captured, the error of the tail estimate, of logsumexp and of the stored logits.
 */
export async function fidelityReport(sample: LogitSample, options: FidelityOptions): Promise<FidelityReport> {
  const positions = Int32Array.from(options.positions ?? Array.from({ length: sample.numTokens }, (_, t) => t));
  const n = positions.length;
  const kl = new Float64Array(n);
  const massTrue = new Float64Array(n);
  const massStored = new Float64Array(n);
  const tailTrue = new Float64Array(n);
  const tailEst = new Float64Array(n);
  const tailErr = new Float64Array(n);
  const lseErr = new Float64Array(n);
  const maxLogitErr = new Float64Array(n);
  const isTop = new Uint8Array(n);
  const tv = new Float64Array(n).fill(Number.NaN);
  const head = sample.layout === "importance" ? sample.drawn : sample.top;
  const tail = sample.layout === "importance" ? undefined : sample.sampled;
  let vocab = -1;
  let mark = new Uint8Array(0);
  let storedQ = new Float64Array(0);
  for (let k = 0; k < n; k++) {
    const t = positions[k] as number;
    if (!(t >= 0 && t < sample.numTokens)) {
      throw new RangeError(`position ${t} is outside 0..${sample.numTokens - 1}`);
    }
    const logits = await options.fullLogits(t);
    if (vocab < 0) {
      vocab = logits.length;
      mark = new Uint8Array(vocab);
      storedQ = new Float64Array(vocab);
    } else if (logits.length !== vocab) {
      throw new ExploreError(
        "INVALID_DISTRIBUTION",
        `position ${t}: ${logits.length} logits, earlier positions had ${vocab}`,
      );
    }
    // full distribution: logsumexp in double precision
    let maxL = Number.NEGATIVE_INFINITY;
    for (let v = 0; v < vocab; v++) {
      const l = logits[v] as number;
      if (Number.isNaN(l)) {
        throw new ExploreError("INVALID_DISTRIBUTION", `position ${t}: logit ${v} is NaN`);
      }
      if (l > maxL) {
        maxL = l;
      }
    }
    let sum = 0;
    for (let v = 0; v < vocab; v++) {
      sum += Math.exp((logits[v] as number) - maxL);
    }
    const lse = maxL + Math.log(sum);
    const storedLse = sample.logsumexp[t] as number;
    lseErr[k] = storedLse - lse;
    // stored entries: 1 = nucleus / drawn, 2 = sampled tail
    let storedMass = 0;
    let stored = 0;
    let nucleusStored = 0;
    let nucleusTrue = 0;
    let maxErr = 0;
    let minNucleusP = Number.POSITIVE_INFINITY;
    const visit = (s: typeof head, tag: number) => {
      const e0 = s.offsets[t] as number;
      const e1 = s.offsets[t + 1] as number;
      const min = s.min[t] as number;
      const scale = ((s.max[t] as number) - min) / sample.levels;
      for (let e = e0; e < e1; e++) {
        const id = s.ids[e] as number;
        if (!(id >= 0 && id < vocab)) {
          throw new ExploreError(
            "INVALID_DISTRIBUTION",
            `position ${t}: stored id ${id} is outside the ${vocab} logits`,
          );
        }
        const l = (s.quantized[e] as number) * scale + min;
        const q = Math.exp(l - storedLse);
        if (mark[id] === 0) {
          stored++;
          storedMass += q;
        }
        mark[id] = tag;
        storedQ[id] = q;
        maxErr = Math.max(maxErr, Math.abs(l - (logits[id] as number)));
        if (tag === 1) {
          const p = Math.exp((logits[id] as number) - lse);
          nucleusStored += q;
          nucleusTrue += p;
          minNucleusP = Math.min(minNucleusP, p);
        }
      }
    };
    visit(head, 1);
    if (tail) {
      visit(tail, 2);
    }
    const rest = vocab - stored;
    const restQ = rest > 0 ? Math.max(1 - storedMass, 1e-12) / rest : 0;
    const logRestQ = Math.log(restQ);
    let div = 0;
    let maxOtherP = 0;
    for (let v = 0; v < vocab; v++) {
      const lp = (logits[v] as number) - lse;
      const p = Math.exp(lp);
      if (p === 0) {
        continue;
      }
      const m = mark[v] as number;
      div += p * (lp - (m === 0 ? logRestQ : Math.log(Math.max(storedQ[v] as number, 1e-300))));
      if (m !== 1 && p > maxOtherP) {
        maxOtherP = p;
      }
    }
    kl[k] = Math.max(0, div);
    massTrue[k] = nucleusTrue;
    massStored[k] = nucleusStored;
    tailTrue[k] = Math.max(0, 1 - nucleusTrue);
    tailEst[k] = Math.max(0, 1 - nucleusStored);
    tailErr[k] = (tailEst[k] as number) - (tailTrue[k] as number);
    maxLogitErr[k] = maxErr;
    isTop[k] = minNucleusP === Number.POSITIVE_INFINITY || maxOtherP <= minNucleusP * (1 + 1e-6) ? 1 : 0;
    if (sample.layout === "importance") {
      tv[k] = importanceTv(sample, t, logits, lse);
    }
    // reset the marks of this position
    const reset = (s: typeof head) => {
      for (let e = s.offsets[t] as number; e < (s.offsets[t + 1] as number); e++) {
        mark[s.ids[e] as number] = 0;
      }
    };
    reset(head);
    if (tail) {
      reset(tail);
    }
  }
  let topCount = 0;
  for (const x of isTop) {
    topCount += x;
  }
  return {
    index: sample.index,
    layout: sample.layout,
    vocabSize: vocab,
    positions,
    kl,
    nucleusMassTrue: massTrue,
    nucleusMassStored: massStored,
    tailMassTrue: tailTrue,
    tailMassEstimated: tailEst,
    tailError: tailErr,
    logsumexpError: lseErr,
    maxLogitError: maxLogitErr,
    nucleusIsTop: isTop,
    weightsTv: tv,
    summary: {
      kl: summarize(kl),
      nucleusMassTrue: summarize(massTrue),
      absTailError: summarize(tailErr.map(Math.abs)),
      absLogsumexpError: summarize(lseErr.map(Math.abs)),
      maxLogitError: summarize(maxLogitErr),
      weightsTv: summarize(tv),
      nucleusIsTopShare: n > 0 ? topCount / n : Number.NaN,
    },
  };
}

function importanceTv(sample: LogitSample, t: number, logits: ArrayLike<number>, lse: number): number {
  if (sample.layout !== "importance") {
    return Number.NaN;
  }
  const s = sample.drawn;
  const e0 = s.offsets[t] as number;
  const e1 = s.offsets[t + 1] as number;
  const min = s.min[t] as number;
  const scale = ((s.max[t] as number) - min) / sample.levels;
  const lseT = sample.logsumexpT[t] as number;
  const invT = 1 / sample.temperature;
  const lw = new Float64Array(e1 - e0);
  let maxLw = Number.NEGATIVE_INFINITY;
  for (let e = e0; e < e1; e++) {
    const l = (s.quantized[e] as number) * scale + min;
    const x = Math.log(sample.draws[e] as number) + (l - (sample.logsumexp[t] as number)) - (l * invT - lseT);
    lw[e - e0] = x;
    maxLw = Math.max(maxLw, x);
  }
  let z = 0;
  for (let j = 0; j < lw.length; j++) {
    z += Math.exp((lw[j] as number) - maxLw);
  }
  let diff = 0;
  let covered = 0;
  for (let e = e0; e < e1; e++) {
    const w = Math.exp((lw[e - e0] as number) - maxLw) / z;
    const p = Math.exp((logits[s.ids[e] as number] as number) - lse);
    covered += p;
    diff += Math.abs(w - p);
  }
  return 0.5 * (diff + Math.max(0, 1 - covered));
}
