import { type EncodedRow, encodeImportanceSample, encodeNucleusSample } from "@logitpack/codec";
import { TensorProto_DataType as DT } from "onnx-buf";
import { InferenceError } from "./errors.js";
import { importanceUniforms, positionKey } from "./noise.js";
import { type ExtractMode, outputNames, PP } from "./onnx/postprocess.js";
import type { WireTensor } from "./runtime.js";
import type { Teacher, TeacherInternals } from "./teacher.js";

/**
 * One example of a batch: its tokens and which of them get logits. Build it from `@logitpack/chat`'s
 * `EncodedExample` as `{ index, inputIds: e.ids, extractMask: e.extractMask }`.
 */
export interface TeacherExample {
  /** Index of the example in the source dataset (also keys its random noise). */
  index: number;
  inputIds: ArrayLike<number>;
  /** Non-zero for the tokens whose predicted distribution is extracted (token 0 never is: nothing predicts it). */
  extractMask: ArrayLike<number>;
}

export interface ExtractOptions {
  /** `nucleus` (the seed layout: nucleus + Gumbel tail, default) or `importance` (seed 004). */
  mode?: ExtractMode;
  /** Nucleus mass (default 0.98). */
  topP?: number;
  /** Largest nucleus (default 100, at most 255). */
  topPMax?: number;
  /** Tail tokens sampled without replacement per position (default 24). */
  sampledN?: number;
  /** Importance sampling: draws with replacement per position (default 50). */
  rounds?: number;
  /** Importance sampling: proposal temperature, q = softmax(logits / T) (default 1). */
  temperature?: number;
  /** Noise seed (default 0). Samples depend only on (seed, example index, token position). */
  seed?: number;
  /** Also return each position's full float32 logits as the post-processing saw them (tests, debugging: large). */
  exposeLogits?: boolean;
}

interface Resolved {
  mode: ExtractMode;
  topP: number;
  topPMax: number;
  sampledN: number;
  rounds: number;
  temperature: number;
  seed: number;
  exposeLogits: boolean;
}

/** Nucleus + tail of one example, unquantized: the input of `encodeNucleusSample`. */
export interface NucleusResult {
  mode: "nucleus";
  index: number;
  /** Token positions whose predicted distribution each entry is (the mask's positions, except token 0). */
  positions: Int32Array;
  topCounts: Uint8Array;
  topIds: Int32Array;
  topLogits: Float32Array;
  sampledIds: Int32Array;
  sampledLogits: Float32Array;
  logsumexp: Float64Array;
  /** [positions, V], with `exposeLogits`. */
  logits?: Float32Array;
}

/** Importance samples of one example: the input of `encodeImportanceSample`. Ids ascending per position. */
export interface ImportanceResult {
  mode: "importance";
  index: number;
  positions: Int32Array;
  counts: Uint16Array;
  ids: Int32Array;
  draws: Uint16Array;
  logits: Float32Array;
  logsumexp: Float64Array;
  logsumexpT: Float64Array;
  /** Every draw in draw order, [positions, rounds] (what `ids`/`draws` aggregate). */
  rawDraws: Int32Array;
  fullLogits?: Float32Array;
}

export type ExampleResult = NucleusResult | ImportanceResult;

function resolveOptions(teacher: Teacher, o: ExtractOptions): Resolved {
  const r: Resolved = {
    mode: o.mode ?? "nucleus",
    topP: o.topP ?? 0.98,
    topPMax: o.topPMax ?? 100,
    sampledN: o.sampledN ?? 24,
    rounds: o.rounds ?? 50,
    temperature: o.temperature ?? 1,
    seed: o.seed ?? 0,
    exposeLogits: o.exposeLogits ?? false,
  };
  if (r.mode !== "nucleus" && r.mode !== "importance") {
    throw new TypeError(`mode must be "nucleus" or "importance", got ${String(r.mode)}`);
  }
  if (!(r.topP > 0 && r.topP <= 1)) {
    throw new RangeError(`topP ${r.topP} must be in (0, 1]`);
  }
  if (!(Number.isInteger(r.topPMax) && r.topPMax >= 1 && r.topPMax <= 255)) {
    throw new RangeError(`topPMax ${r.topPMax} must be an integer in [1, 255] (top_counts is uint8)`);
  }
  if (!(Number.isInteger(r.sampledN) && r.sampledN >= 1)) {
    throw new RangeError(`sampledN ${r.sampledN} must be a positive integer`);
  }
  if (r.topPMax + r.sampledN > teacher.vocabSize) {
    throw new RangeError(
      `topPMax + sampledN (${r.topPMax + r.sampledN}) exceeds the vocabulary (${teacher.vocabSize})`,
    );
  }
  if (teacher.topkChunk > 0 && Math.max(r.topPMax, r.sampledN) > teacher.topkChunk) {
    throw new RangeError(`topPMax and sampledN must be at most the TopK chunk (${teacher.topkChunk})`);
  }
  if (!(Number.isInteger(r.rounds) && r.rounds >= 1 && r.rounds <= 65535)) {
    throw new RangeError(`rounds ${r.rounds} must be an integer in [1, 65535]`);
  }
  if (!(r.temperature > 0 && Number.isFinite(r.temperature))) {
    throw new RangeError(`temperature ${r.temperature} must be positive`);
  }
  if (!(Number.isSafeInteger(r.seed) && r.seed >= 0)) {
    throw new RangeError(`seed ${r.seed} must be a non-negative safe integer`);
  }
  return r;
}

interface Prepared {
  feeds: Record<string, WireTensor>;
  /** Examples that run, their positions and first row. */
  plan: { ex: TeacherExample; positions: Int32Array; start: number }[];
  /** Positions in total. */
  n: number;
}

const empty = (index: number, mode: ExtractMode, expose: boolean): ExampleResult =>
  mode === "nucleus"
    ? {
        mode,
        index,
        positions: new Int32Array(0),
        topCounts: new Uint8Array(0),
        topIds: new Int32Array(0),
        topLogits: new Float32Array(0),
        sampledIds: new Int32Array(0),
        sampledLogits: new Float32Array(0),
        logsumexp: new Float64Array(0),
        ...(expose ? { logits: new Float32Array(0) } : {}),
      }
    : {
        mode,
        index,
        positions: new Int32Array(0),
        counts: new Uint16Array(0),
        ids: new Int32Array(0),
        draws: new Uint16Array(0),
        logits: new Float32Array(0),
        logsumexp: new Float64Array(0),
        logsumexpT: new Float64Array(0),
        rawDraws: new Int32Array(0),
        ...(expose ? { fullLogits: new Float32Array(0) } : {}),
      };

function prepare(t: TeacherInternals, examples: readonly TeacherExample[], o: Resolved): Prepared {
  const V = t.vocabSize;
  const plan: Prepared["plan"] = [];
  let n = 0;
  let T = 1;
  for (const ex of examples) {
    const len = ex.inputIds.length;
    if (ex.extractMask.length !== len) {
      throw new InferenceError("INVALID_BATCH", `extractMask has ${ex.extractMask.length} entries for ${len} tokens`, {
        example: ex.index,
      });
    }
    let count = 0;
    for (let i = 0; i < len; i++) {
      const id = ex.inputIds[i] as number;
      if (!(Number.isInteger(id) && id >= 0 && id < V)) {
        throw new InferenceError("INVALID_BATCH", `token ${i} is ${id}, outside the vocabulary [0, ${V})`, {
          example: ex.index,
        });
      }
      if (i > 0 && ex.extractMask[i]) {
        count++;
      }
    }
    if (count === 0) {
      continue;
    }
    const positions = new Int32Array(count);
    for (let i = 1, k = 0; i < len; i++) {
      if (ex.extractMask[i]) {
        positions[k++] = i;
      }
    }
    plan.push({ ex, positions, start: n });
    n += count;
    T = Math.max(T, len);
  }
  const B = plan.length;
  const feeds: Record<string, WireTensor> = {};
  if (n === 0) {
    return { feeds, plan, n };
  }
  const left = t.paddingSide === "left";
  const ids = new BigInt64Array(B * T).fill(BigInt(t.padTokenId));
  const mask = new BigInt64Array(B * T);
  const pos = new BigInt64Array(B * T).fill(1n);
  for (let b = 0; b < B; b++) {
    const ex = (plan[b] as Prepared["plan"][number]).ex;
    const len = ex.inputIds.length;
    const shift = left ? T - len : 0;
    for (let i = 0; i < len; i++) {
      ids[b * T + shift + i] = BigInt(ex.inputIds[i] as number);
      mask[b * T + shift + i] = 1n;
      pos[b * T + shift + i] = BigInt(i);
    }
  }
  for (const input of t.info.inputs) {
    switch (input.role) {
      case "input_ids":
        feeds[input.name] =
          input.elemType === DT.INT32
            ? { type: "int32", dims: [B, T], data: Int32Array.from(ids, Number) }
            : { type: "int64", dims: [B, T], data: ids };
        break;
      case "attention_mask":
        feeds[input.name] =
          input.elemType === DT.INT32
            ? { type: "int32", dims: [B, T], data: Int32Array.from(mask, Number) }
            : { type: "int64", dims: [B, T], data: mask };
        break;
      case "position_ids":
        feeds[input.name] =
          input.elemType === DT.INT32
            ? { type: "int32", dims: [B, T], data: Int32Array.from(pos, Number) }
            : { type: "int64", dims: [B, T], data: pos };
        break;
      case "token_type_ids":
        feeds[input.name] = { type: "int64", dims: [B, T], data: new BigInt64Array(B * T) };
        break;
      case "use_cache_branch":
        feeds[input.name] = { type: "bool", dims: [1], data: new Uint8Array(1) };
        break;
      case "past_key_values":
        feeds[input.name] = emptyPast(input.name, input.elemType, input.dims, B);
        break;
    }
  }
  // Rows of the wanted positions: the logits of position t - 1 predict token t.
  // chunks of at most chunkPositions, balanced so the padding of the last one is under M rows
  const M = Math.ceil(n / Math.min(n, t.chunkPositions(o.mode)));
  const C = Math.ceil(n / M);
  const rows = new BigInt64Array(M * C);
  const keys = new Float64Array(M * C * 2); // (example index, token position) per row, for the noise
  let r = 0;
  for (let b = 0; b < B; b++) {
    const p = plan[b] as Prepared["plan"][number];
    const shift = left ? T - p.ex.inputIds.length : 0;
    for (const tok of p.positions) {
      rows[r] = BigInt(b * T + shift + tok - 1);
      keys[2 * r] = p.ex.index;
      keys[2 * r + 1] = tok;
      r++;
    }
  }
  for (; r < M * C; r++) {
    // padding rows repeat the last one; their outputs are dropped
    rows[r] = rows[n - 1] as bigint;
    keys[2 * r] = keys[2 * (n - 1)] as number;
    keys[2 * r + 1] = keys[2 * (n - 1) + 1] as number;
  }
  feeds[PP.rows] = { type: "int64", dims: [M, C], data: rows };
  const f64 = t.precision === "float64";
  if (o.mode === "nucleus") {
    feeds[PP.noise] = { type: "int64", dims: [M, C, 2], data: noiseKeys(o.seed, keys, M * C) };
    feeds[PP.topP] = f64
      ? { type: "float64", dims: [], data: Float64Array.of(o.topP) }
      : { type: "float32", dims: [], data: Float32Array.of(o.topP) };
    feeds[PP.topK] = { type: "int64", dims: [1], data: BigInt64Array.of(BigInt(o.topPMax)) };
    feeds[PP.sampledN] = { type: "int64", dims: [1], data: BigInt64Array.of(BigInt(o.sampledN)) };
  } else {
    const R = o.rounds;
    const u = f64 ? new Float64Array(M * C * 2 * R) : new Float32Array(M * C * 2 * R);
    for (let i = 0; i < M * C; i++) {
      importanceUniforms(o.seed, keys[2 * i] as number, keys[2 * i + 1] as number, R, u, i * 2 * R);
    }
    feeds[PP.uniforms] = f64
      ? { type: "float64", dims: [M, C, 2, R], data: u }
      : { type: "float32", dims: [M, C, 2, R], data: u };
    feeds[PP.invTemperature] = f64
      ? { type: "float64", dims: [], data: Float64Array.of(1 / o.temperature) }
      : { type: "float32", dims: [], data: Float32Array.of(1 / o.temperature) };
  }
  return { feeds, plan, n };
}

/**
 * The graph's noise input: per row, the position's Squares key and counter base (noise.ts `positionKey`) as the raw
 * bits of two int64 (the graph casts them to uint64): `key = hi·2^32 + lo`, `base = counterBase·2^32`.
 */
export function noiseKeys(seed: number, keys: Float64Array, rows: number): BigInt64Array {
  const out = new BigInt64Array(rows * 2);
  // the int64 words written as their 32-bit halves (little-endian, as every platform Node runs on): no BigInt per row
  const words = new Uint32Array(out.buffer);
  const k = new Uint32Array(3);
  for (let i = 0; i < rows; i++) {
    positionKey(seed, keys[2 * i] as number, keys[2 * i + 1] as number, k, 0);
    words[4 * i] = k[1] as number;
    words[4 * i + 1] = k[0] as number;
    words[4 * i + 3] = k[2] as number;
  }
  return out;
}

/** An empty past (sequence length 0) for a `past_key_values.*` input: [B, heads, 0, head_dim] as the model says. */
function emptyPast(name: string, elemType: number, dims: (number | string | undefined)[], B: number): WireTensor {
  const shape = dims.map((d, i) => {
    if (i === 0) {
      return B;
    }
    if (typeof d === "number") {
      return d;
    }
    if (dims.length === 4 && i === 2) {
      return 0;
    }
    throw new InferenceError("UNSUPPORTED_MODEL", `cannot tell dimension ${i} (${String(d)}) of input ${name}`);
  });
  if (!shape.includes(0)) {
    throw new InferenceError("UNSUPPORTED_MODEL", `input ${name} has no sequence dimension to leave empty`);
  }
  if (elemType === DT.FLOAT16) {
    return { type: "float16", dims: shape, data: new Uint16Array(0) };
  }
  if (elemType === DT.FLOAT) {
    return { type: "float32", dims: shape, data: new Float32Array(0) };
  }
  throw new InferenceError("UNSUPPORTED_MODEL", `past input ${name} has element type ${elemType}`);
}

/**
 * Run one batch: forward pass and in-graph post-processing for the masked positions of every example. Examples
 * with nothing to extract do not run and get empty results. Results are in the order of `examples`.
 */
export async function runBatch(
  teacher: Teacher,
  examples: readonly TeacherExample[],
  options: ExtractOptions = {},
): Promise<ExampleResult[]> {
  const t = teacher as TeacherInternals;
  const o = resolveOptions(t, options);
  const prep = prepare(t, examples, o);
  if (prep.n === 0) {
    return examples.map((ex) => empty(ex.index, o.mode, o.exposeLogits));
  }
  const key = await t.session(o.mode, o.exposeLogits, o.mode === "importance" && o.temperature === 1);
  const fetches = outputNames(o.mode, o.exposeLogits);
  const out = await t.runner.run(key, prep.feeds, fetches);
  const byExample = new Map<TeacherExample, ExampleResult>();
  for (const p of prep.plan) {
    byExample.set(p.ex, o.mode === "nucleus" ? nucleusResult(t, o, out, p) : importanceResult(t, o, out, p));
  }
  return examples.map((ex) => byExample.get(ex) ?? empty(ex.index, o.mode, o.exposeLogits));
}

function data<T extends WireTensor["data"]>(out: Record<string, WireTensor>, name: string): T {
  const w = out[name];
  if (w === undefined) {
    throw new InferenceError("RUN_FAILED", `missing output ${name}`);
  }
  return w.data as T;
}

function nucleusResult(
  t: TeacherInternals,
  o: Resolved,
  out: Record<string, WireTensor>,
  p: Prepared["plan"][number],
): NucleusResult {
  const K = o.topPMax;
  const S = o.sampledN;
  const n = p.positions.length;
  const counts = data<Int32Array>(out, PP.topCounts);
  const topIds = data<Int32Array>(out, PP.topIds);
  const topLogits = data<Float32Array>(out, PP.topLogits);
  const lse = data<Float64Array | Float32Array>(out, PP.lse);
  const topCounts = new Uint8Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const c = counts[p.start + i] as number;
    topCounts[i] = c;
    total += c;
  }
  const ids = new Int32Array(total);
  const logits = new Float32Array(total);
  for (let i = 0, at = 0; i < n; i++) {
    const c = topCounts[i] as number;
    const from = (p.start + i) * K;
    ids.set(topIds.subarray(from, from + c), at);
    logits.set(topLogits.subarray(from, from + c), at);
    at += c;
  }
  const r: NucleusResult = {
    mode: "nucleus",
    index: p.ex.index,
    positions: p.positions,
    topCounts,
    topIds: ids,
    topLogits: logits,
    sampledIds: data<Int32Array>(out, PP.sampledIds).slice(p.start * S, (p.start + n) * S),
    sampledLogits: data<Float32Array>(out, PP.sampledLogits).slice(p.start * S, (p.start + n) * S),
    logsumexp: Float64Array.from(lse.subarray(p.start, p.start + n)),
  };
  if (o.exposeLogits) {
    r.logits = data<Float32Array>(out, PP.logits).slice(p.start * t.vocabSize, (p.start + n) * t.vocabSize);
  }
  return r;
}

function importanceResult(
  t: TeacherInternals,
  o: Resolved,
  out: Record<string, WireTensor>,
  p: Prepared["plan"][number],
): ImportanceResult {
  const R = o.rounds;
  const n = p.positions.length;
  const draws = data<Int32Array>(out, PP.drawIds).slice(p.start * R, (p.start + n) * R);
  const drawLogits = data<Float32Array>(out, PP.drawLogits);
  const counts = new Uint16Array(n);
  const ids: number[] = [];
  const drawCounts: number[] = [];
  const logits: number[] = [];
  const sorted = new Int32Array(R);
  const order = new Int32Array(R);
  for (let i = 0; i < n; i++) {
    const row = draws.subarray(i * R, (i + 1) * R);
    for (let k = 0; k < R; k++) {
      order[k] = k;
    }
    order.sort((a, b) => (row[a] as number) - (row[b] as number));
    for (let k = 0; k < R; k++) {
      sorted[k] = row[order[k] as number] as number;
    }
    let c = 0;
    for (let k = 0; k < R; ) {
      const id = sorted[k] as number;
      let j = k;
      while (j < R && sorted[j] === id) {
        j++;
      }
      ids.push(id);
      drawCounts.push(j - k);
      logits.push(drawLogits[(p.start + i) * R + (order[k] as number)] as number);
      c++;
      k = j;
    }
    counts[i] = c;
  }
  const lse = data<Float64Array | Float32Array>(out, PP.lse);
  const lseT = data<Float64Array | Float32Array>(out, PP.lseT);
  const r: ImportanceResult = {
    mode: "importance",
    index: p.ex.index,
    positions: p.positions,
    counts,
    ids: Int32Array.from(ids),
    draws: Uint16Array.from(drawCounts),
    logits: Float32Array.from(logits),
    logsumexp: Float64Array.from(lse.subarray(p.start, p.start + n)),
    logsumexpT: Float64Array.from(lseT.subarray(p.start, p.start + n)),
    rawDraws: draws,
  };
  if (o.exposeLogits) {
    r.fullLogits = data<Float32Array>(out, PP.logits).slice(p.start * t.vocabSize, (p.start + n) * t.vocabSize);
  }
  return r;
}

/** Quantize and pack one example's result into the codec's row (seed layout or importance layout). */
export function encodeResult(r: ExampleResult): EncodedRow {
  if (r.mode === "nucleus") {
    return encodeNucleusSample({
      index: r.index,
      topCounts: r.topCounts,
      topIds: r.topIds,
      topLogits: r.topLogits,
      sampledIds: r.sampledIds,
      sampledLogits: r.sampledLogits,
      logsumexp: r.logsumexp,
    });
  }
  return encodeImportanceSample({
    index: r.index,
    counts: r.counts,
    ids: r.ids,
    draws: r.draws,
    logits: r.logits,
    logsumexp: r.logsumexp,
    logsumexpT: r.logsumexpT,
  });
}

/**
 * Extract every batch: yields one encoded row per example, in batch order. The device runs batch k+1 while this
 * thread encodes batch k (and the caller writes or uploads it). Options as `runBatch`.
 */
export async function* extractBatches(
  teacher: Teacher,
  batches: AsyncIterable<readonly TeacherExample[]> | Iterable<readonly TeacherExample[]>,
  options: ExtractOptions = {},
): AsyncGenerator<EncodedRow, void, undefined> {
  resolveOptions(teacher, options); // fail fast on bad options
  let pending: Promise<ExampleResult[]> | undefined;
  for await (const batch of batches) {
    const next = runBatch(teacher, batch, options);
    next.catch(() => undefined); // observed below; avoids an unhandled rejection while we encode
    if (pending !== undefined) {
      for (const r of await pending) {
        yield encodeResult(r);
      }
    }
    pending = next;
  }
  if (pending !== undefined) {
    for (const r of await pending) {
      yield encodeResult(r);
    }
  }
}
