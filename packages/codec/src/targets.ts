import type { LogitBatch, LogitSample, SparseLogits } from "./types.js";

/** How `toSparseTargets` treats the probability outside the kept entries. */
export type TailHandling =
  /** Keep true teacher log-probabilities; the mass left out is returned per position in `tailMass`. */
  | "keep"
  /** Renormalize the kept entries to sum to 1 (log-probabilities relative to the kept mass). */
  | "renormalize";

/** Fixed-width sparse teacher targets for `T` positions, row-major `[T, K]`. */
export interface SparseTargets {
  readonly positions: number;
  readonly k: number;
  /** Token ids, `[T, K]`; 0 in masked-out slots. */
  readonly ids: Int32Array;
  /** Teacher log-probabilities, `[T, K]`; 0 in masked-out slots. */
  readonly logprobs: Float32Array;
  /** 1 where a slot holds an entry, 0 for padding, `[T, K]`. */
  readonly mask: Uint8Array;
  /** Probability mass not represented by the kept entries, `[T]` (after renormalization: what was dropped). */
  readonly tailMass: Float32Array;
}

export interface SparseTargetOptions {
  /** Slots per position (the caller's K). */
  k: number;
  /** Default "keep". */
  tail?: TailHandling;
  /** Reuse these arrays when they are large enough (results are then views of them). */
  into?: SparseTargets;
}

/** What `toSparseTargets` takes: a batch of either layout (what `LogitFile.batches()` yields) or samples. */
export type SparseTargetSource = LogitBatch | readonly LogitSample[];

/** The entries of a batch or sample: the nucleus (nucleus layouts) or the drawn tokens (importance). */
const entriesOf = (x: LogitBatch | LogitSample): SparseLogits => (x.layout === "importance" ? x.drawn : x.top);

/**
 * Nucleus entries of every position of a batch (or of samples, concatenated) as fixed-width `[T, K]` targets:
 * the K most probable nucleus entries, most probable first. For the importance layout the entries are the drawn
 * tokens (their true teacher log-probabilities; `tailMass` is the probability of the tokens never drawn). With `tail: "keep"` log-probabilities are the
 * teacher's own (`logit - logsumexp`) and `tailMass` holds `1 - sum(kept p)`; with `"renormalize"` the kept
 * entries are renormalized to sum to 1 and `tailMass` holds what was dropped before renormalizing.
 */
export function toSparseTargets(source: SparseTargetSource, options: SparseTargetOptions): SparseTargets {
  const { k } = options;
  if (!(k >= 1 && k === Math.floor(k))) {
    throw new RangeError(`k must be a positive integer, got ${k}`);
  }
  const renormalize = options.tail === "renormalize";
  const parts: { top: SparseLogits; lse: Float64Array; p0: number; p1: number; levels: number }[] = [];
  let T = 0;
  if (Array.isArray(source)) {
    for (const s of source as readonly LogitSample[]) {
      parts.push({ top: entriesOf(s), lse: s.logsumexp, p0: 0, p1: s.numTokens, levels: s.levels });
      T += s.numTokens;
    }
  } else {
    const b = source as LogitBatch;
    const p0 = b.rowOffsets[0] as number;
    const p1 = b.rowOffsets[b.numRows] as number;
    parts.push({ top: entriesOf(b), lse: b.logsumexp, p0, p1, levels: b.levels });
    T = p1 - p0;
  }
  const into = options.into;
  const fits = into && into.k === k && into.ids.length >= T * k;
  const ids = fits ? into.ids.subarray(0, T * k) : new Int32Array(T * k);
  const logprobs = fits ? into.logprobs.subarray(0, T * k) : new Float32Array(T * k);
  const mask = fits ? into.mask.subarray(0, T * k) : new Uint8Array(T * k);
  const tailMass = fits ? into.tailMass.subarray(0, T) : new Float32Array(T);
  if (fits) {
    ids.fill(0);
    logprobs.fill(0);
    mask.fill(0);
  }
  // scratch per position (a nucleus has at most 255 entries; importance positions may have more: grown then)
  let order = new Int32Array(256);
  let logits = new Float64Array(256);
  let row = 0;
  for (const part of parts) {
    const { top, lse } = part;
    for (let t = part.p0; t < part.p1; t++, row++) {
      const e0 = top.offsets[t] as number;
      const n = (top.offsets[t + 1] as number) - e0;
      if (n > order.length) {
        order = new Int32Array(n);
        logits = new Float64Array(n);
      }
      const min = top.min[t] as number;
      const scale = ((top.max[t] as number) - min) / part.levels;
      const shift = lse[t] as number;
      // quantized values order exactly like the logits within a position: nuclei stored most probable first
      // (as extraction writes them) need no sorting
      let sorted = true;
      for (let j = 0; j < n; j++) {
        logits[j] = (top.quantized[e0 + j] as number) * scale + min;
        order[j] = j;
        if (j > 0 && (top.quantized[e0 + j] as number) > (top.quantized[e0 + j - 1] as number)) {
          sorted = false;
        }
      }
      const keep = Math.min(n, k);
      // otherwise a partial selection sort (K small)
      for (let a = 0; !sorted && a < keep; a++) {
        let best = a;
        for (let b = a + 1; b < n; b++) {
          if ((logits[order[b] as number] as number) > (logits[order[best] as number] as number)) {
            best = b;
          }
        }
        const tmp = order[a] as number;
        order[a] = order[best] as number;
        order[best] = tmp;
      }
      let kept = 0;
      const base = row * k;
      for (let a = 0; a < keep; a++) {
        const j = order[a] as number;
        const lp = (logits[j] as number) - shift;
        ids[base + a] = top.ids[e0 + j] as number;
        logprobs[base + a] = lp;
        mask[base + a] = 1;
        kept += Math.exp(lp);
      }
      tailMass[row] = Math.max(0, 1 - kept);
      if (renormalize && kept > 0) {
        const logKept = Math.log(kept);
        for (let a = 0; a < keep; a++) {
          logprobs[base + a] = (logprobs[base + a] as number) - logKept;
        }
      }
    }
  }
  return { positions: T, k, ids, logprobs, mask, tailMass };
}
