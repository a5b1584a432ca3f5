/**
 * Bounded-memory statistics over any number of positions: exact integer histograms for nucleus sizes, fixed-bin
 * histograms for masses on [0, 1], a log-bucketed histogram for tokens per sample. Hot loops work on the codec's
 * flat typed arrays; nothing is allocated per token or per row. States merge (worker threads) and clone.
 */
export const MASS_BINS = 4096;
/** Tokens per sample: exact below this, then 64 buckets per power of two (relative error < 1.6%). */
const TOK_EXACT = 4096;
const TOK_SUB = 64;
const TOK_BINS = TOK_EXACT + 20 * TOK_SUB;

/** Plain data (structured-cloneable): what workers send back. */
export interface AccumulatorState {
  rows: number;
  tokens: number;
  entries: number;
  sizeCounts: Float64Array;
  massBins: Float64Array;
  tailBins: Float64Array;
  massCount: number;
  massSum: number;
  massMin: number;
  massMax: number;
  tailSum: number;
  tokBins: Float64Array;
  tokMin: number;
  tokMax: number;
  /** Positions whose mass could not be computed (no quantization range in a legacy file). */
  massUnknown: number;
}

export function newState(): AccumulatorState {
  return {
    rows: 0,
    tokens: 0,
    entries: 0,
    sizeCounts: new Float64Array(256),
    massBins: new Float64Array(MASS_BINS),
    tailBins: new Float64Array(MASS_BINS),
    massCount: 0,
    massSum: 0,
    massMin: Number.POSITIVE_INFINITY,
    massMax: Number.NEGATIVE_INFINITY,
    tailSum: 0,
    tokBins: new Float64Array(TOK_BINS),
    tokMin: Number.POSITIVE_INFINITY,
    tokMax: Number.NEGATIVE_INFINITY,
    massUnknown: 0,
  };
}

function growSizes(s: AccumulatorState, size: number): void {
  let n = s.sizeCounts.length;
  while (n <= size) {
    n *= 2;
  }
  const grown = new Float64Array(n);
  grown.set(s.sizeCounts);
  s.sizeCounts = grown;
}

export function tokBucket(v: number): number {
  if (v < TOK_EXACT) {
    return v;
  }
  const e = Math.floor(Math.log2(v));
  const base = 2 ** e;
  return Math.min(TOK_BINS - 1, TOK_EXACT + (e - 12) * TOK_SUB + Math.floor(((v - base) / base) * TOK_SUB));
}

/** Lower edge of a tokens-per-sample bucket. */
export function tokBucketValue(b: number): number {
  if (b < TOK_EXACT) {
    return b;
  }
  const k = b - TOK_EXACT;
  const e = 12 + Math.floor(k / TOK_SUB);
  const base = 2 ** e;
  return Math.round(base + ((k % TOK_SUB) / TOK_SUB) * base);
}

/** Records one row (sample) of `tokens` positions. */
export function addRow(s: AccumulatorState, tokens: number): void {
  s.rows++;
  s.tokBins[tokBucket(tokens)]++;
  if (tokens < s.tokMin) {
    s.tokMin = tokens;
  }
  if (tokens > s.tokMax) {
    s.tokMax = tokens;
  }
}

/**
 * Records positions `[p0, p1)`: entries of position `t` are `[offsets[t], offsets[t+1])` of `quantized`, dequantized
 * with `min[t]`, `max[t]` over `levels`, and normalized by `logsumexp[t]`.
 */
export function addPositions(
  s: AccumulatorState,
  offsets: Int32Array,
  quantized: Uint16Array,
  min: Float32Array,
  max: Float32Array,
  logsumexp: Float64Array,
  levels: number,
  p0: number,
  p1: number,
): void {
  let sizes = s.sizeCounts;
  const massBins = s.massBins;
  const tailBins = s.tailBins;
  let massSum = 0;
  let tailSum = 0;
  let massMin = s.massMin;
  let massMax = s.massMax;
  let massCount = 0;
  let unknown = 0;
  let e1 = offsets[p0] as number;
  const e00 = e1;
  for (let t = p0; t < p1; t++) {
    const e0 = e1;
    e1 = offsets[t + 1] as number;
    const c = e1 - e0;
    if (c >= sizes.length) {
      growSizes(s, c);
      sizes = s.sizeCounts;
    }
    sizes[c] = (sizes[c] as number) + 1;
    const mn = min[t] as number;
    const scale = ((max[t] as number) - mn) / levels;
    const shift = mn - (logsumexp[t] as number);
    let m = 0;
    for (let e = e0; e < e1; e++) {
      m += Math.exp((quantized[e] as number) * scale + shift);
    }
    if (Number.isNaN(m)) {
      unknown++;
      continue;
    }
    const tail = m < 1 ? 1 - m : 0;
    massSum += m;
    tailSum += tail;
    massCount++;
    if (m < massMin) {
      massMin = m;
    }
    if (m > massMax) {
      massMax = m;
    }
    let b = (m * MASS_BINS) | 0;
    b = b < 0 ? 0 : b >= MASS_BINS ? MASS_BINS - 1 : b;
    massBins[b] = (massBins[b] as number) + 1;
    let bt = (tail * MASS_BINS) | 0;
    bt = bt >= MASS_BINS ? MASS_BINS - 1 : bt;
    tailBins[bt] = (tailBins[bt] as number) + 1;
  }
  s.tokens += p1 - p0;
  s.entries += e1 - e00;
  s.massSum += massSum;
  s.tailSum += tailSum;
  s.massCount += massCount;
  s.massMin = massMin;
  s.massMax = massMax;
  s.massUnknown += unknown;
}

export function mergeStates(into: AccumulatorState, from: AccumulatorState): AccumulatorState {
  into.rows += from.rows;
  into.tokens += from.tokens;
  into.entries += from.entries;
  if (from.sizeCounts.length > into.sizeCounts.length) {
    growSizes(into, from.sizeCounts.length - 1);
  }
  addInto(into.sizeCounts, from.sizeCounts);
  addInto(into.massBins, from.massBins);
  addInto(into.tailBins, from.tailBins);
  addInto(into.tokBins, from.tokBins);
  into.massCount += from.massCount;
  into.massSum += from.massSum;
  into.tailSum += from.tailSum;
  into.massMin = Math.min(into.massMin, from.massMin);
  into.massMax = Math.max(into.massMax, from.massMax);
  into.tokMin = Math.min(into.tokMin, from.tokMin);
  into.tokMax = Math.max(into.tokMax, from.tokMax);
  into.massUnknown += from.massUnknown;
  return into;
}

function addInto(a: Float64Array, b: Float64Array): void {
  for (let i = 0; i < b.length; i++) {
    a[i] = (a[i] as number) + (b[i] as number);
  }
}

/** Nearest-rank quantile of a count histogram: the first bin whose cumulative count reaches `ceil(p * total)`. */
export function histQuantile(bins: Float64Array, total: number, p: number): number {
  if (total <= 0) {
    return -1;
  }
  const rank = Math.max(1, Math.ceil(p * total));
  let acc = 0;
  for (let i = 0; i < bins.length; i++) {
    acc += bins[i] as number;
    if (acc >= rank) {
      return i;
    }
  }
  return bins.length - 1;
}
