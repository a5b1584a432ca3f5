/**
 * The post-processing in plain TypeScript on a row of full-vocabulary logits: the test oracle of the in-graph
 * version, and the "TypeScript path" of the benchmark. It performs the same arithmetic as the graph (float64
 * logsumexp and nucleus probabilities, float32 perturbed logits, the same noise windows and tie rule), so on the
 * same logits it gives the same nucleus and the same samples.
 */
import { IMPORTANCE_BLOCK } from "./onnx/postprocess.js";

export interface ReferenceNucleusParams {
  topP: number;
  topK: number;
  sampledN: number;
}

/** Where a position's Gumbel noise comes from: `max(table[a·W + j], table[b·W + j])` for token j (noise.ts). */
export interface NoiseWindow {
  table: Float32Array;
  /** Block offsets (in units of `blockWidth` values) of the two windows. */
  a: number;
  b: number;
  blockWidth: number;
}

/** Caller-owned outputs of one position (capacity topK / sampledN). */
export interface NucleusRowOut {
  topIds: Int32Array;
  topLogits: Float32Array;
  sampledIds: Int32Array;
  sampledLogits: Float32Array;
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
 * logsumexp; `out.sampledIds` gets `sampledN` tail tokens drawn by Gumbel-top-k over the tokens outside the nucleus.
 * `scratch` (length V) receives the perturbed logits.
 */
export function referenceNucleusRow(
  row: Float32Array,
  params: ReferenceNucleusParams,
  noise: NoiseWindow,
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
  const { table, blockWidth } = noise;
  const a = noise.a * blockWidth;
  const b = noise.b * blockWidth;
  const V = row.length;
  for (let j = 0; j < V; j++) {
    const g1 = table[a + j] as number;
    const g2 = table[b + j] as number;
    scratch[j] = (row[j] as number) + Math.max(g1, g2);
  }
  for (let t = 0; t < count; t++) {
    scratch[out.topIds[t] as number] = Number.NEGATIVE_INFINITY;
  }
  topkRow(scratch, params.sampledN, out.sampledIds, new Float32Array(params.sampledN));
  for (let t = 0; t < params.sampledN; t++) {
    out.sampledLogits[t] = row[out.sampledIds[t] as number] as number;
  }
  return { count, lse };
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
