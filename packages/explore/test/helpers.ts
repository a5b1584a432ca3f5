/** Test data: simulated extractions from known full distributions, written with the codec. */
import {
  type EncodedRow,
  encodeImportanceSample,
  encodeLogitFile,
  encodeNucleusSample,
  type ImportanceInput,
  type LogitFile,
  type LogitWriterOptions,
  type NucleusInput,
  openLogitFile,
} from "@logitpack/codec";

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

export function logsumexp(logits: ArrayLike<number>): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) {
    max = Math.max(max, logits[i] as number);
  }
  let s = 0;
  for (let i = 0; i < logits.length; i++) {
    s += Math.exp((logits[i] as number) - max);
  }
  return max + Math.log(s);
}

/** A peaked random full distribution over `vocab` ids: a few strong ids, a long tail. */
export function randomLogits(vocab: number, r: () => number, peak = 8, favourite?: number): Float64Array {
  const l = new Float64Array(vocab);
  for (let v = 0; v < vocab; v++) {
    l[v] = -4 * r() * r();
  }
  const strong = 1 + Math.floor(r() * 4);
  for (let k = 0; k < strong; k++) {
    l[Math.floor(r() * vocab)] = peak * (1 - 0.3 * k) * (0.6 + 0.4 * r());
  }
  if (favourite !== undefined) {
    l[favourite] = peak + 2;
  }
  return l;
}

export interface ExtractOptions {
  topP?: number;
  topPMax?: number;
  sampledN?: number;
  seed?: number;
}

/**
 * What the extractor does for one position (seed 002): sort, nucleus = smallest prefix whose cumulative
 * probability reaches top_p, capped at top_p_max; `sampledN` tail ids by Gumbel top-k from the rest.
 */
export function extractPosition(
  logits: ArrayLike<number>,
  o: Required<ExtractOptions>,
  r: () => number,
): { top: number[]; sampled: number[]; lse: number } {
  const lse = logsumexp(logits);
  const order = Array.from({ length: logits.length }, (_, i) => i).sort(
    (a, b) => (logits[b] as number) - (logits[a] as number),
  );
  const top: number[] = [];
  let cum = 0;
  for (const id of order) {
    if (top.length >= o.topPMax || cum >= o.topP) {
      break;
    }
    top.push(id);
    cum += Math.exp((logits[id] as number) - lse);
  }
  const inTop = new Set(top);
  const keys: [number, number][] = [];
  for (let v = 0; v < logits.length; v++) {
    if (!inTop.has(v)) {
      keys.push([(logits[v] as number) - Math.log(-Math.log(Math.max(r(), 1e-300))), v]);
    }
  }
  keys.sort((a, b) => b[0] - a[0]);
  return { top, sampled: keys.slice(0, o.sampledN).map((k) => k[1]), lse };
}

/** A nucleus-layout input from full logits per position. */
export function extractSample(
  index: number,
  full: readonly ArrayLike<number>[],
  options: ExtractOptions = {},
): NucleusInput {
  const o = { topP: 0.98, topPMax: 100, sampledN: 24, seed: 1, ...options };
  const r = rng(o.seed * 7919 + index);
  const input: NucleusInput & {
    topCounts: number[];
    topIds: number[];
    topLogits: number[];
    sampledIds: number[];
    sampledLogits: number[];
    logsumexp: number[];
  } = {
    index,
    topCounts: [],
    topIds: [],
    topLogits: [],
    sampledIds: [],
    sampledLogits: [],
    logsumexp: [],
  };
  for (const logits of full) {
    const e = extractPosition(logits, o, r);
    input.topCounts.push(e.top.length);
    for (const id of e.top) {
      input.topIds.push(id);
      input.topLogits.push(logits[id] as number);
    }
    for (const id of e.sampled) {
      input.sampledIds.push(id);
      input.sampledLogits.push(logits[id] as number);
    }
    input.logsumexp.push(e.lse);
  }
  return input;
}

/** Importance sampling (seed 004) of full logits: `rounds` draws from softmax(logits / T). */
export function importanceSample(
  index: number,
  full: readonly ArrayLike<number>[],
  rounds: number,
  temperature: number,
  seed = 1,
): ImportanceInput {
  const r = rng(seed * 104729 + index);
  const out = {
    index,
    counts: [] as number[],
    ids: [] as number[],
    draws: [] as number[],
    logits: [] as number[],
    logsumexp: [] as number[],
    logsumexpT: [] as number[],
  };
  for (const logits of full) {
    const scaled = Array.from(logits, (l) => l / temperature);
    const lseT = logsumexp(scaled);
    const cdf = new Float64Array(scaled.length);
    let c = 0;
    for (let v = 0; v < scaled.length; v++) {
      c += Math.exp((scaled[v] as number) - lseT);
      cdf[v] = c;
    }
    const drawn = new Map<number, number>();
    for (let k = 0; k < rounds; k++) {
      const u = r() * c;
      let lo = 0;
      let hi = cdf.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((cdf[mid] as number) < u) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      drawn.set(lo, (drawn.get(lo) ?? 0) + 1);
    }
    const ids = [...drawn.keys()].sort((a, b) => a - b);
    out.counts.push(ids.length);
    for (const id of ids) {
      out.ids.push(id);
      out.draws.push(drawn.get(id) as number);
      out.logits.push(logits[id] as number);
    }
    out.logsumexp.push(logsumexp(logits));
    out.logsumexpT.push(lseT);
  }
  return out;
}

export async function fileOf(
  rows: EncodedRow[],
  options: LogitWriterOptions = {},
  name = "mem.parquet",
): Promise<LogitFile> {
  return openLogitFile(await encodeLogitFile(rows, options), { name });
}

export { encodeImportanceSample, encodeNucleusSample };

/** A synthetic nucleus row like the codec bench's shard: log-normal nucleus sizes, 24 sampled, Qwen3-sized ids. */
export function shardInput(index: number, tokens: number, r: () => number, sampledN = 24): NucleusInput {
  const VOCAB = 151_936;
  const topCounts = new Array<number>(tokens);
  const topIds: number[] = [];
  const topLogits: number[] = [];
  const sampledIds: number[] = [];
  const sampledLogits: number[] = [];
  const lse = new Array<number>(tokens);
  for (let t = 0; t < tokens; t++) {
    const u1 = Math.max(r(), 1e-12);
    const u2 = r();
    const g = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    const c = Math.min(100, Math.max(1, Math.round(Math.exp(1.0 + 1.2 * g))));
    topCounts[t] = c;
    const head = 20 + r() * 10;
    let z = 0;
    for (let j = 0; j < c; j++) {
      const l = head - j * (0.3 + r());
      topIds.push(Math.floor(VOCAB * r() ** 3));
      topLogits.push(l);
      z += Math.exp(l - head);
    }
    for (let j = 0; j < sampledN; j++) {
      sampledIds.push(Math.floor(VOCAB * r()));
      sampledLogits.push(head - 12 - r() * 10);
    }
    // the rest of the vocabulary holds 0.5-30% of the mass: the nucleus mass is realistic (below 1)
    const tailShare = 0.005 + 0.3 * r() ** 2;
    lse[t] = head + Math.log(z / (1 - tailShare));
  }
  return { index, topCounts, topIds, topLogits, sampledIds, sampledLogits, logsumexp: lse };
}
