/**
 * The post-processing in plain TypeScript on a row of full-vocabulary logits: the test oracle of the in-graph
 * version, and the "TypeScript path" of the benchmark. It performs the same arithmetic as the graph (float64
 * logsumexp and nucleus probabilities, the same generator, counters and tie rule), so on the same logits it gives the
 * same nucleus and the same samples, but where two tail values are within float rounding of each other (the graph
 * sums block masses in float32, this in float64).
 */
import { COUNTER, noiseWord, uniform52 } from "./noise.js";
import { IMPORTANCE_BLOCK, TAIL_BLOCK } from "./onnx/postprocess.js";

export interface ReferenceNucleusParams {
  topP: number;
  topK: number;
  sampledN: number;
}

/** A position's noise stream: `key[off .. off + 3)` as written by `positionKey` (noise.ts). */
export interface NoiseKey {
  key: Uint32Array;
  off: number;
}

/** Caller-owned outputs of one position (capacity topK / sampledN). */
export interface NucleusRowOut {
  topIds: Int32Array;
  topLogits: Float32Array;
  sampledIds: Int32Array;
  sampledLogits: Float32Array;
  /** Optional: the perturbed values of the draws and of the next candidate (capacity sampledN + 1), for tie checks. */
  sampledValues?: Float64Array;
}

/** logsumexp of a row in float64: max, then a float64 sum of exp(x - max). */
export function logsumexpRow(row: Float32Array): number {
  let m = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < row.length; j++) {
    const x = row[j] as number;
    if (x > m) {
      m = x;
    }
  }
  let s = 0;
  for (let j = 0; j < row.length; j++) {
    s += Math.exp((row[j] as number) - m);
  }
  return m + Math.log(s);
}

/**
 * Top-k of `vals` (largest first; equal values: lower index first, as ONNX TopK), into `ids`/`out` (length >= k).
 * `skip` (optional) marks indices to leave out. One pass with a k-heap; O(V + k log k) when few values beat the
 * heap's minimum.
 */
export function topkRow(
  vals: Float32Array,
  k: number,
  ids: Int32Array,
  out: Float32Array,
  skip?: (j: number) => boolean,
): void {
  // Min-heap on (value asc, index desc): the root is the worst kept entry.
  const hv = new Float64Array(k);
  const hi = new Int32Array(k);
  let n = 0;
  const worse = (va: number, ia: number, vb: number, ib: number): boolean => va < vb || (va === vb && ia > ib);
  const siftDown = (start: number): void => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < n && worse(hv[l] as number, hi[l] as number, hv[w] as number, hi[w] as number)) {
        w = l;
      }
      if (r < n && worse(hv[r] as number, hi[r] as number, hv[w] as number, hi[w] as number)) {
        w = r;
      }
      if (w === i) {
        return;
      }
      const tv = hv[i] as number;
      const ti = hi[i] as number;
      hv[i] = hv[w] as number;
      hi[i] = hi[w] as number;
      hv[w] = tv;
      hi[w] = ti;
      i = w;
    }
  };
  let minV = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < vals.length; j++) {
    const v = vals[j] as number;
    if (n === k && !(v > minV)) {
      continue; // scanning in index order: an equal value has a higher index, so it is worse
    }
    if (skip?.(j)) {
      continue;
    }
    if (n < k) {
      // sift up
      let i = n++;
      hv[i] = v;
      hi[i] = j;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(hv[i] as number, hi[i] as number, hv[p] as number, hi[p] as number)) {
          break;
        }
        const tv = hv[i] as number;
        const ti = hi[i] as number;
        hv[i] = hv[p] as number;
        hi[i] = hi[p] as number;
        hv[p] = tv;
        hi[p] = ti;
        i = p;
      }
    } else {
      hv[0] = v;
      hi[0] = j;
      siftDown(0);
    }
    if (n === k) {
      minV = hv[0] as number;
    }
  }
  // Pop worst-first into the output from the back.
  for (let t = n - 1; t >= 0; t--) {
    ids[t] = hi[0] as number;
    out[t] = hv[0] as number;
    n--;
    hv[0] = hv[n] as number;
    hi[0] = hi[n] as number;
    siftDown(0);
  }
}

/**
 * One position of the nucleus layout. Returns the nucleus size (the first `count` entries of `out.topIds`) and the
 * logsumexp; `out.sampledIds` gets `sampledN` tail tokens drawn without replacement (Gumbel-top-k's law, computed
 * top-down by blocks as the graph does: src/onnx/postprocess.ts `tailDraws`). `scratch` (length V) receives the tail.
 */
export function referenceNucleusRow(
  row: Float32Array,
  params: ReferenceNucleusParams,
  noise: NoiseKey,
  out: NucleusRowOut,
  scratch: Float32Array,
): { count: number; lse: number } {
  const lse = logsumexpRow(row);
  topkRow(row, params.topK, out.topIds, out.topLogits);
  let count = 0;
  let cum = 0;
  for (let t = 0; t < params.topK; t++) {
    if (cum < params.topP) {
      count++;
    }
    cum += Math.exp((out.topLogits[t] as number) - lse);
  }
  const V = row.length;
  scratch.set(row);
  for (let t = 0; t < count; t++) {
    scratch[out.topIds[t] as number] = Number.NEGATIVE_INFINITY;
  }
  tailDrawsRow(scratch, params.sampledN, noise, out.sampledIds, out.sampledValues);
  for (let t = 0; t < params.sampledN; t++) {
    out.sampledIds[t] = Math.min(out.sampledIds[t] as number, V - 1);
    out.sampledLogits[t] = row[out.sampledIds[t] as number] as number;
  }
  return { count, lse };
}

const LOWEST = -3.4028234663852886e38;

/**
 * The tail draws of one position (`tail`: logits with the nucleus at -inf), in float64: block maxima
 * `lse_b + G_b`, the best min(k, NB) blocks expanded, TopK of their tokens' values (see `tailDraws` in the graph).
 */
export function tailDrawsRow(
  tail: Float32Array,
  k: number,
  noise: NoiseKey,
  ids: Int32Array,
  values?: Float64Array,
): void {
  const S = TAIL_BLOCK;
  const V = tail.length;
  const NB = Math.ceil(V / S);
  const M = new Float64Array(NB);
  for (let b = 0; b < NB; b++) {
    let m = Number.NEGATIVE_INFINITY;
    const end = Math.min(V, (b + 1) * S);
    for (let j = b * S; j < end; j++) {
      m = Math.max(m, tail[j] as number);
    }
    m = Math.max(m, LOWEST);
    let s = 0;
    for (let j = b * S; j < end; j++) {
      s += Math.exp((tail[j] as number) - m);
    }
    const u = uniform52(noise.key, noise.off, COUNTER.block + 2 * b);
    M[b] = m + Math.log(s) - Math.log(-Math.log(u));
  }
  const kb = Math.min(k, NB);
  const order = Int32Array.from({ length: NB }, (_, b) => b).sort(
    (a, b) => (M[b] as number) - (M[a] as number) || a - b,
  );
  const n = kb * S;
  const y = new Float64Array(n);
  const cid = new Int32Array(n);
  const x = new Float64Array(S);
  const wts = new Float64Array(S);
  const cdf = new Float64Array(S);
  for (let r = 0; r < kb; r++) {
    const b = order[r] as number;
    const Mb = M[b] as number;
    let mx = LOWEST;
    for (let s = 0; s < S; s++) {
      const j = b * S + s;
      x[s] = j < V ? (tail[j] as number) : Number.NEGATIVE_INFINITY;
      mx = Math.max(mx, x[s] as number);
    }
    // the maximum's token: inverse CDF of softmax over the block
    let c = 0;
    for (let s = 0; s < S; s++) {
      wts[s] = Math.exp((x[s] as number) - mx);
      c += wts[s] as number;
      cdf[s] = c;
    }
    const eM = Math.exp(Mb - mx);
    const u = Math.min(uniform52(noise.key, noise.off, COUNTER.argmax + 2 * b), 1 - 2 ** -30);
    const target = u * c;
    let arg = 0;
    for (let s = 0; s < S; s++) {
      if ((cdf[s] as number) <= target) {
        arg++;
      }
    }
    arg = Math.min(arg, S - 1);
    for (let s = 0; s < S; s++) {
      const j = b * S + s;
      const w = noiseWord(noise.key, noise.off, COUNTER.token + j);
      const E = -Math.log(w * 2 ** -32 + 2 ** -33);
      let v = s === arg ? Mb : Mb - Math.log(1 + E * (eM / (wts[s] as number)));
      if (Number.isNaN(v)) {
        v = Number.NEGATIVE_INFINITY;
      }
      y[r * S + s] = v;
      cid[r * S + s] = j;
    }
  }
  const pick = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => (y[b] as number) - (y[a] as number) || a - b);
  for (let t = 0; t < k; t++) {
    ids[t] = cid[pick[t] as number] as number;
  }
  if (values !== undefined) {
    for (let t = 0; t < Math.min(values.length, n); t++) {
      values[t] = y[pick[t] as number] as number;
    }
  }
}

/** One position of importance sampling: `rounds` draws (ids, in draw order) from softmax(row · invT). */
export function referenceImportanceRow(
  row: Float32Array,
  invT: number,
  uniforms: Float64Array | Float32Array,
  uOff: number,
  rounds: number,
  drawIds: Int32Array,
  scratch: Float64Array,
): { lse: number; lseT: number } {
  // scratch (length ceil(V / IMPORTANCE_BLOCK) * IMPORTANCE_BLOCK) receives the in-block inclusive CDFs.
  const lse = logsumexpRow(row);
  const V = row.length;
  const BS = IMPORTANCE_BLOCK;
  const NB = Math.ceil(V / BS);
  let mT = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < V; j++) {
    const x = (row[j] as number) * invT;
    if (x > mT) {
      mT = x;
    }
  }
  const cdfOut = new Float64Array(NB);
  const tot = new Float64Array(NB);
  let outer = 0;
  for (let blk = 0; blk < NB; blk++) {
    let c = 0;
    for (let k = 0; k < BS; k++) {
      const j = blk * BS + k;
      if (j < V) {
        c += Math.exp((row[j] as number) * invT - mT);
      }
      scratch[j] = c;
    }
    tot[blk] = c;
    outer += c;
    cdfOut[blk] = outer;
  }
  const grand = outer;
  for (let r = 0; r < rounds; r++) {
    const x1 = (uniforms[uOff + r] as number) * grand;
    let blk = 0;
    for (let i = 0; i < NB; i++) {
      if ((cdfOut[i] as number) <= x1) {
        blk++;
      }
    }
    const x2 = (uniforms[uOff + rounds + r] as number) * (tot[blk] as number);
    let k = 0;
    for (let i = 0; i < BS; i++) {
      if ((scratch[blk * BS + i] as number) <= x2) {
        k++;
      }
    }
    drawIds[r] = blk * BS + k;
  }
  return { lse, lseT: mT + Math.log(grand) };
}
