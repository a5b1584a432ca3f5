import { clone } from "@bufbuild/protobuf";
import { TensorProto_DataType as DT, type ModelProto, NodeProtoSchema, type ValueInfoProto } from "onnx-buf";
import { COUNTER } from "../noise.js";
import { GraphBuilder, valueInfo } from "./builder.js";
import { type ModelInfo, removeDeadNodes } from "./model.js";

export type ExtractMode = "nucleus" | "importance";
export type Precision = "float64" | "float32";

export interface PostprocessOptions {
  mode: ExtractMode;
  /**
   * `float64`: logsumexp, nucleus probabilities and importance CDFs in double (CPU, CUDA); `float32`: the
   * max-shifted float forms (WebGPU has no double).
   */
  precision: Precision;
  /** Logits per position (the vocabulary). */
  vocabSize: number;
  /** TopK over the vocabulary in chunks of this many columns, then over the chunks' winners (0: one TopK). */
  topkChunk: number;
  /** Also output the gathered float32 logits (`logitpack.logits`, [M, C, V]): for tests only. */
  exposeLogits?: boolean;
  /**
   * Importance sampling at temperature 1: q = p, so the proposal's normalizer is the logsumexp and the scaling is
   * skipped (a separate, cheaper graph; `logitpack.inv_temperature` is then ignored).
   */
  unitTemperature?: boolean;
}

/** Names of the inputs and outputs the post-processing adds. */
export const PP = {
  rows: "logitpack.rows",
  noise: "logitpack.noise_key",
  topP: "logitpack.top_p",
  topK: "logitpack.top_k",
  sampledN: "logitpack.sampled_n",
  uniforms: "logitpack.uniforms",
  invTemperature: "logitpack.inv_temperature",
  topIds: "logitpack.top_ids",
  topLogits: "logitpack.top_logits",
  topCounts: "logitpack.top_counts",
  lse: "logitpack.logsumexp",
  lseT: "logitpack.logsumexp_t",
  sampledIds: "logitpack.sampled_ids",
  sampledLogits: "logitpack.sampled_logits",
  drawIds: "logitpack.draw_ids",
  drawLogits: "logitpack.draw_logits",
  logits: "logitpack.logits",
} as const;

/** Tail blocks: block maxima are drawn first, then the tokens of the `sampled_n` best blocks (see `tailDraws`). */
export const TAIL_BLOCK = 128;

/** Block size of the two-level inverse CDF of importance sampling (~sqrt(V): R·(V/B + B) comparisons per position). */
export const IMPORTANCE_BLOCK = 512;

export function outputNames(mode: ExtractMode, exposeLogits = false): string[] {
  const base =
    mode === "nucleus"
      ? [PP.topIds, PP.topLogits, PP.topCounts, PP.lse, PP.sampledIds, PP.sampledLogits]
      : [PP.drawIds, PP.drawLogits, PP.lse, PP.lseT];
  return exposeLogits ? [...base, PP.logits] : base;
}

/**
 * Appends the post-processing to a decoded model, in place, and returns it. The model then takes, besides its own
 * inputs, `logitpack.rows` (int64 [M, C]: flat `b·T + t` indices of the positions whose logits are wanted, in M
 * chunks of C) and the mode's parameters, and outputs only the small per-position tensors (`outputNames`), each
 * [M, C, ...]. A Loop runs the chunks one after another, so the [C, V] intermediates bound the memory.
 *
 * Where the logits come from `MatMul(hidden, W)` (+ casts), the wanted rows of `hidden` are gathered *before* the
 * MatMul, and the original full-vocabulary head is removed: prompt positions cost no vocabulary-sized work.
 */
export function appendPostprocess(model: ModelProto, info: ModelInfo, options: PostprocessOptions): ModelProto {
  const graph = model.graph;
  if (graph === undefined) {
    throw new TypeError("model has no graph");
  }
  const V = options.vocabSize;
  const fp = options.precision === "float64" ? DT.DOUBLE : DT.FLOAT;
  const b = new GraphBuilder(info.opset, "logitpack/");
  const newInputs: ValueInfoProto[] = [valueInfo(PP.rows, DT.INT64, ["logitpack_chunks", "logitpack_chunk"])];

  // Rows to gather from: the LM head's input, or the logits themselves.
  const flat = b.op("Flatten", [info.head ? info.head.hidden : info.logits.name], { axis: -1 }, "flat");
  const body = b.sub();
  const iter = body.fresh("iter");
  const condIn = body.fresh("cond_in");
  const rowsI = body.op("Gather", [PP.rows, iter], { axis: 0 }, "rows_i");
  let L = body.op("Gather", [flat, rowsI], { axis: 0 }, "gathered");
  if (info.head) {
    const head = clone(NodeProtoSchema, info.head.node);
    head.input = [L, ...head.input.slice(1)];
    head.output = [body.fresh("head")];
    head.name = body.fresh("replayed_head");
    body.nodes.push(head);
    L = head.output[0] as string;
    for (const n of info.head.chain) {
      const replayed = clone(NodeProtoSchema, n);
      replayed.input = [L, ...replayed.input.slice(1)];
      replayed.output = [body.fresh(`head_${n.opType}`)];
      replayed.name = body.fresh("replayed");
      body.nodes.push(replayed);
      L = replayed.output[0] as string;
    }
  }
  if (info.logits.type !== "float32") {
    L = body.cast(L, DT.FLOAT);
  }
  const scanOut: { name: string; type: DT }[] = [];
  if (options.mode === "nucleus") {
    newInputs.push(
      valueInfo(PP.noise, DT.INT64, ["logitpack_chunks", "logitpack_chunk", 2]),
      valueInfo(PP.topP, fp, []),
      valueInfo(PP.topK, DT.INT64, [1]),
      valueInfo(PP.sampledN, DT.INT64, [1]),
    );
    nucleusBody(body, L, iter, fp, V, options, scanOut);
  } else {
    newInputs.push(
      valueInfo(PP.uniforms, fp, ["logitpack_chunks", "logitpack_chunk", 2, "logitpack_rounds"]),
      valueInfo(PP.invTemperature, fp, []),
    );
    importanceBody(body, L, iter, fp, V, options.unitTemperature ?? false, scanOut);
  }
  if (options.exposeLogits) {
    scanOut.push({ name: body.op("Identity", [L], {}, "logits_out"), type: DT.FLOAT });
  }
  const condOut = body.op("Identity", [condIn], {}, "cond_out");
  const bodyGraph = body.graph(
    "logitpack_body",
    [valueInfo(iter, DT.INT64, []), valueInfo(condIn, DT.BOOL, [])],
    [valueInfo(condOut, DT.BOOL, []), ...scanOut.map((s) => valueInfo(s.name, s.type))],
  );
  const shape = b.op("Shape", [PP.rows], {}, "rows_shape");
  const trips = b.op("Gather", [shape, b.i64([0], [])], { axis: 0 }, "trips");
  const outs = outputNames(options.mode, options.exposeLogits);
  b.node("Loop", [trips, ""], outs, { body: { graph: bodyGraph } });

  graph.node.push(...b.nodes);
  graph.initializer.push(...b.initializers);
  graph.input.push(...newInputs);
  graph.output = outs.map((name, i) => valueInfo(name, (scanOut[i] as { type: DT }).type));
  removeDeadNodes(graph);
  return model;
}

/** TopK along the last axis, whole or in chunks (identical results, ties to the lower index either way). */
function topk(g: GraphBuilder, x: string, k: string, V: number, chunk: number): [string, string] {
  if (chunk <= 0 || chunk >= V) {
    return g.topk(x, k);
  }
  const nb = Math.ceil(V / chunk);
  const pad = nb * chunk - V;
  const xp = pad > 0 ? g.op("Pad", [x, g.i64([0, 0, 0, pad]), g.f32([Number.NEGATIVE_INFINITY], [])]) : x;
  const x3 = g.op("Reshape", [xp, g.i64([-1, nb, chunk])]);
  const [v1, i1] = g.topk(x3, k);
  const base = g.i64(
    Array.from({ length: nb }, (_, c) => c * chunk),
    [1, nb, 1],
  );
  const gi = g.op("Add", [i1, base]);
  const vflat = g.op("Reshape", [v1, g.i64([0, -1])]);
  const iflat = g.op("Reshape", [gi, g.i64([0, -1])]);
  const [v2, pos] = g.topk(vflat, k);
  return [v2, g.op("GatherElements", [iflat, pos], { axis: 1 })];
}

/** logsumexp over the last axis, [C, 1], in `fp`: ReduceLogSumExp in double, max-shifted sums in float. */
function logsumexp(g: GraphBuilder, L: string, fp: DT): string {
  if (fp === DT.DOUBLE) {
    return g.reduce("ReduceLogSumExp", g.cast(L, DT.DOUBLE), [1], true);
  }
  const m = g.reduce("ReduceMax", L, [1], true);
  const s = g.reduce("ReduceSum", g.op("Exp", [g.op("Sub", [L, m])]), [1], true);
  return g.op("Add", [m, g.op("Log", [s])]);
}

function nucleusBody(
  g: GraphBuilder,
  L: string,
  iter: string,
  fp: DT,
  V: number,
  options: PostprocessOptions,
  out: { name: string; type: DT }[],
): void {
  const lse = logsumexp(g, L, fp);
  const [tv, ti] = topk(g, L, PP.topK, V, options.topkChunk);
  const tvf = fp === DT.DOUBLE ? g.cast(tv, DT.DOUBLE) : tv;
  const p = g.op("Exp", [g.op("Sub", [tvf, lse])], {}, "p");
  const excl = g.op("CumSum", [p, g.i64([1], [])], { exclusive: 1 }, "excl");
  // The nucleus rule: token t is in while the mass before it is below top_p (so >= 1 token, <= top_k tokens).
  const inN = g.op("Less", [excl, PP.topP], {}, "in_nucleus");
  const count = g.reduce("ReduceSum", g.cast(inN, DT.INT32), [1], false);
  // The tail: the logits with exactly the nucleus (the first `count` of the TopK order) masked to -inf.
  const atTop = g.op("GatherElements", [L, ti], { axis: 1 });
  const upd = g.op("Where", [inN, g.f32([Number.NEGATIVE_INFINITY], []), atTop]);
  const tail = g.op("ScatterElements", [L, ti, upd], { axis: 1 }, "tail");
  const nk = g.cast(g.op("Gather", [PP.noise, iter], { axis: 0 }, "noise_key"), DT.UINT64);
  const key = g.op("Gather", [nk, g.i64([0], [1])], { axis: 1 }, "key"); // [C, 1]
  const base = g.op("Gather", [nk, g.i64([1], [1])], { axis: 1 }, "counter_base"); // [C, 1]
  const si = tailDraws(g, tail, key, base, fp, V);
  const sl = g.op("GatherElements", [L, si], { axis: 1 }, "sampled_logits");
  out.push(
    { name: g.cast(ti, DT.INT32), type: DT.INT32 },
    { name: g.op("Identity", [tv]), type: DT.FLOAT },
    { name: count, type: DT.INT32 },
    { name: g.squeeze(lse, [1]), type: fp },
    { name: g.cast(si, DT.INT32), type: DT.INT32 },
    { name: sl, type: DT.FLOAT },
  );
}

/** A uint64 constant (raw bits; values below 2^63 here). */
function u64(g: GraphBuilder, values: readonly (number | bigint)[], dims: readonly number[] = [values.length]): string {
  return g.constant(
    "u64",
    DT.UINT64,
    dims,
    BigInt64Array.from(values, (v) => BigInt.asIntN(64, BigInt(v))),
  );
}

/**
 * Widynski's squares32 (noise.ts) on uint64 tensors: `key` and `ctr` broadcast; returns uint64 values < 2^32.
 * Only Mul, Add and Div (by 2^32, the right shift) on uint64: ops of every opset >= 13, with CPU and CUDA kernels.
 */
export function squaresGraph(g: GraphBuilder, key: string, ctr: string): string {
  const k32 = u64(g, [2 ** 32], []);
  const swap = (x: string): string => g.op("Add", [g.op("Div", [x, k32]), g.op("Mul", [x, k32])], {}, "swap");
  const sq = (x: string, w: string): string => g.op("Add", [g.op("Mul", [x, x]), w]);
  const y = g.op("Mul", [ctr, key], {}, "squares_y");
  const z = g.op("Add", [y, key], {}, "squares_z");
  let x = swap(sq(y, y));
  x = swap(sq(x, z));
  x = swap(sq(x, y));
  return g.op("Div", [sq(x, z), k32], {}, "squares");
}

/**
 * Uniforms in (0, 1) in `fp` from generator words: float64 `(2v + 1) / 2^53` with v = hi·2^20 + floor(lo / 2^12)
 * (52 bits) when `lo` is given, `(2·hi + 1) / 2^33` (32 bits) when not; float32 `(2·floor(hi / 2^8) + 1) / 2^25`
 * (24 bits). All exact (noise.ts computes the same values).
 */
export function uniforms(g: GraphBuilder, fp: DT, hi: string, lo?: string): string {
  if (fp === DT.FLOAT) {
    const v = g.cast(g.op("Div", [hi, u64(g, [256], [])]), DT.FLOAT);
    return g.op("Add", [g.op("Mul", [v, g.f32([2 ** -24], [])]), g.f32([2 ** -25], [])], {}, "uniform");
  }
  if (lo === undefined) {
    const v = g.cast(hi, DT.DOUBLE);
    return g.op("Add", [g.op("Mul", [v, g.f64([2 ** -32], [])]), g.f64([2 ** -33], [])], {}, "uniform");
  }
  const v52 = g.op("Add", [g.op("Mul", [hi, u64(g, [2 ** 20], [])]), g.op("Div", [lo, u64(g, [4096], [])])]);
  const v = g.cast(v52, DT.DOUBLE);
  return g.op("Add", [g.op("Mul", [v, g.f64([2 ** -52], [])]), g.f64([2 ** -53], [])], {}, "uniform");
}

/**
 * Exp(1) variates from 52-bit uniforms (words hi, lo), accurate where they are small (the Gumbels' upper tail,
 * up to G = 36.7). float64: `-log(U)`, U = (2v + 1) / 2^53, exact near 1. float32 (no double, and float32 cannot
 * hold U near 1): `-log(1 - W)` for the uniform W = (2v + 1) / 2^53, which float32 holds to 2^-24 relative at any
 * size, by its series `W + W²/2` where W < 2^-12 (relative error < 2^-25).
 */
function exponential52(g: GraphBuilder, fp: DT, hi: string, lo: string): string {
  if (fp === DT.DOUBLE) {
    return g.op("Neg", [g.op("Log", [uniforms(g, fp, hi, lo)])], {}, "exponential");
  }
  const whi = g.op("Mul", [g.cast(hi, DT.FLOAT), g.f32([2 ** -32], [])]);
  const wlo = g.op("Mul", [g.cast(g.op("Div", [lo, u64(g, [4096], [])]), DT.FLOAT), g.f32([2 ** -52], [])]);
  const W = g.op("Add", [g.op("Add", [whi, wlo]), g.f32([2 ** -53], [])], {}, "w");
  const series = g.op("Mul", [W, g.op("Add", [g.op("Mul", [W, g.f32([0.5], [])]), g.f32([1], [])])]);
  const direct = g.op("Neg", [g.op("Log", [g.op("Sub", [g.f32([1], []), W])])]);
  return g.op("Where", [g.op("Less", [W, g.f32([2 ** -12], [])]), series, direct], {}, "exponential");
}

/**
 * `sampled_n` tail tokens without replacement in proportion to their probabilities: exactly the law of
 * Gumbel-top-k (the top of `tail_j + G_j`, G i.i.d. Gumbel), computed top-down so that only the best blocks need
 * per-token noise. The tail (nucleus at -inf) is cut in blocks of TAIL_BLOCK tokens with log-masses `lse_b`.
 * 1. Each block's maximum perturbed value is `M_b = lse_b + G_b` (max-stability), G_b from the generator (52-bit
 *    uniform, float64 on CPU/CUDA), independent across blocks.
 * 2. The k = sampled_n overall best tokens lie in the k blocks of largest M_b (a token ranked i has at most i - 1
 *    block maxima above it), so only those blocks are expanded.
 * 3. In an expanded block, the maximum's token is drawn from softmax(tail_b) (inverse CDF, 52-bit uniform), and
 *    every other token's value is `M_b - log(1 + E_j·exp(M_b - tail_j))`, E_j = -log(U_j) ~ Exp(1): the exponential
 *    race `exp(-value)`, given the block's first arrival at exp(-M_b), is memoryless, so the others arrive after it
 *    independently at their own rates.
 * 4. TopK of those values: the draws, in draw order.
 * Only [C, V] work: the block log-masses (max, exp, sum). The noise is per (position key, counter): token j's
 * uniform is counter j, so a token's noise does not depend on which other blocks were expanded.
 */
function tailDraws(g: GraphBuilder, tail: string, key: string, base: string, fp: DT, V: number): string {
  const S = TAIL_BLOCK;
  const NB = Math.ceil(V / S);
  const pad = NB * S - V;
  const lowest = -3.4028234663852886e38;
  const tp = pad > 0 ? g.op("Pad", [tail, g.i64([0, 0, 0, pad]), g.f32([Number.NEGATIVE_INFINITY], [])]) : tail;
  const t3 = g.op("Reshape", [tp, g.i64([0, NB, S])], {}, "tail_blocks"); // [C, NB, S]
  // block log-masses, float32 max-shifted (a block that is all -inf gets -inf)
  const bm = g.op("Max", [g.reduce("ReduceMax", t3, [2], true), g.f32([lowest], [])]);
  const bs = g.reduce("ReduceSum", g.op("Exp", [g.op("Sub", [t3, bm])]), [2], false);
  const lseb = g.op("Add", [g.squeeze(bm, [2]), g.op("Log", [bs])], {}, "block_lse"); // [C, NB]
  const lsebf = fp === DT.DOUBLE ? g.cast(lseb, DT.DOUBLE) : lseb;
  const ctr = (c: string): string => g.op("Add", [base, c], {}, "counter");
  const blockIds = Array.from({ length: NB }, (_, b) => b);
  const cG = u64(
    g,
    blockIds.map((b) => COUNTER.block + 2 * b),
    [1, NB],
  );
  const one = u64(g, [1], []);
  const gHi = squaresGraph(g, key, ctr(cG));
  const gLo = squaresGraph(g, key, ctr(g.op("Add", [cG, one])));
  const gumbel = g.op("Neg", [g.op("Log", [exponential52(g, fp, gHi, gLo)])], {}, "block_gumbel");
  const M = g.op("Add", [lsebf, gumbel], {}, "block_max"); // [C, NB]
  // the best min(k, NB) blocks
  const kb = g.op("Min", [PP.sampledN, g.i64([NB])]);
  const [Mtop, Btop] = g.topk(M, kb); // [C, kb]
  const C = g.op("Gather", [g.op("Shape", [tail]), g.i64([0], [])], { axis: 0 });
  const rowBase = g.op("Mul", [g.op("Range", [g.i64([0], []), C, g.i64([1], [])]), g.i64([NB], [])]);
  const flatBlock = g.op("Add", [Btop, g.unsqueeze(rowBase, [1])]);
  const sel = g.op("Gather", [g.op("Reshape", [t3, g.i64([-1, S])]), flatBlock], { axis: 0 }, "expanded"); // [C, kb, S]
  const self = fp === DT.DOUBLE ? g.cast(sel, DT.DOUBLE) : sel;
  const Mu = g.unsqueeze(Mtop, [2]); // [C, kb, 1]
  // the token holding each expanded block's maximum: inverse CDF of softmax(tail_b)
  const neg = fp === DT.DOUBLE ? g.f64([lowest], []) : g.f32([lowest], []);
  const mx = g.op("Max", [g.reduce("ReduceMax", self, [2], true), neg]);
  const wts = g.op("Exp", [g.op("Sub", [self, mx])], {}, "block_weights"); // exp(tail_j - max_b)
  const cdf = g.op("CumSum", [wts, g.i64([2], [])], {}, "block_cdf");
  const tot = g.op("Slice", [cdf, g.i64([S - 1]), g.i64([S]), g.i64([2])]); // [C, kb, 1]
  const cA = g.op("Add", [g.op("Mul", [g.cast(Btop, DT.UINT64), u64(g, [2], [])]), u64(g, [COUNTER.argmax], [])]);
  const aHi = squaresGraph(g, key, ctr(cA));
  const aLo = squaresGraph(g, key, ctr(g.op("Add", [cA, one])));
  const uMax = fp === DT.DOUBLE ? g.f64([1 - 2 ** -30], []) : g.f32([1 - 2 ** -22], []);
  const uA = g.op("Min", [uniforms(g, fp, aHi, fp === DT.DOUBLE ? aLo : undefined), uMax]);
  const x = g.op("Mul", [g.unsqueeze(uA, [2]), tot]);
  const le = g.op("LessOrEqual", [cdf, x]);
  const arg = g.op("Min", [g.reduce("ReduceSum", g.cast(le, DT.INT64), [2], true), g.i64([S - 1], [])]); // [C, kb, 1]
  // every token of the expanded blocks: its id, its counter, its value
  const arangeS = g.i64(
    Array.from({ length: S }, (_, j) => j),
    [1, 1, S],
  );
  const ids = g.op("Add", [g.unsqueeze(g.op("Mul", [Btop, g.i64([S], [])]), [2]), arangeS], {}, "expanded_ids");
  const key3 = g.unsqueeze(key, [2]); // [C, 1, 1]
  const tokenCtr = g.op("Add", [g.unsqueeze(base, [2]), g.cast(ids, DT.UINT64)]);
  const w = squaresGraph(g, key3, g.op("Add", [tokenCtr, u64(g, [COUNTER.token], [])]));
  const E = g.op("Neg", [g.op("Log", [uniforms(g, fp, w)])], {}, "exponential");
  const unit = fp === DT.DOUBLE ? g.f64([1], []) : g.f32([1], []);
  // exp(M_b - tail_j) = exp(M_b - max_b) / exp(tail_j - max_b): one exponential per token, not two
  const rate = g.op("Div", [g.op("Exp", [g.op("Sub", [Mu, mx])]), wts]);
  let y = g.op("Sub", [Mu, g.op("Log", [g.op("Add", [unit, g.op("Mul", [E, rate])])])], {}, "later");
  y = g.op("Where", [g.op("Equal", [arangeS, arg]), Mu, y]);
  const ninf = fp === DT.DOUBLE ? g.f64([Number.NEGATIVE_INFINITY], []) : g.f32([Number.NEGATIVE_INFINITY], []);
  y = g.op("Where", [g.op("IsNaN", [y]), ninf, y], {}, "values");
  const yflat = g.op("Reshape", [y, g.i64([0, -1])]);
  const idflat = g.op("Reshape", [ids, g.i64([0, -1])]);
  const [, pos] = g.topk(yflat, PP.sampledN);
  // padded ids (>= V) come up only if the tail has fewer than sampled_n tokens
  return g.op("Min", [g.op("GatherElements", [idflat, pos], { axis: 1 }), g.i64([V - 1], [])], {}, "draws");
}

/**
 * `rounds` draws with replacement from q = softmax(L / T) by a two-level inverse CDF: a block of IMPORTANCE_BLOCK
 * tokens by the block masses, then a token within the block, each from its own uniform. Exact up to the CDF's
 * rounding; `u · total < total` always (uniforms <= 1 - 2^-22), so a zero-mass token is never drawn.
 */
function importanceBody(
  g: GraphBuilder,
  L: string,
  iter: string,
  fp: DT,
  V: number,
  unitTemperature: boolean,
  out: { name: string; type: DT }[],
): void {
  const BS = IMPORTANCE_BLOCK;
  const NB = Math.ceil(V / BS);
  const pad = NB * BS - V;
  const Lf = fp === DT.DOUBLE ? g.cast(L, DT.DOUBLE) : L;
  // max(L · invT) = max(L) · invT exactly (invT > 0, rounding is monotonic): reduce the float32 logits
  const m = g.reduce("ReduceMax", L, [1], true);
  const mf = fp === DT.DOUBLE ? g.cast(m, DT.DOUBLE) : m;
  const Lt = unitTemperature ? Lf : g.op("Mul", [Lf, PP.invTemperature], {}, "scaled");
  const mT = unitTemperature ? mf : g.op("Mul", [mf, PP.invTemperature]);
  const qu = g.op("Exp", [g.op("Sub", [Lt, mT])], {}, "q_unnormalized");
  const zero = fp === DT.DOUBLE ? g.f64([0], []) : g.f32([0], []);
  const qp = pad > 0 ? g.op("Pad", [qu, g.i64([0, 0, 0, pad]), zero]) : qu;
  const q3 = g.op("Reshape", [qp, g.i64([-1, NB, BS])]);
  const cdfIn = g.op("CumSum", [q3, g.i64([2], [])], {}, "cdf_in");
  const tot3 = g.op("Slice", [cdfIn, g.i64([BS - 1]), g.i64([BS]), g.i64([2])]);
  const tot = g.op("Reshape", [tot3, g.i64([-1, NB])], {}, "block_mass");
  const cdfOut = g.op("CumSum", [tot, g.i64([1], [])], {}, "cdf_out");
  const grand = g.op("Slice", [cdfOut, g.i64([NB - 1]), g.i64([NB]), g.i64([1])], {}, "grand");
  const lseT = g.op("Add", [mT, g.op("Log", [grand])]);
  // at temperature 1 the proposal's normalizer is the logsumexp (float64 sums of float64 exps, in CDF order)
  const lse = unitTemperature ? lseT : logsumexp(g, L, fp);
  const u = g.op("Gather", [PP.uniforms, iter], { axis: 0 }, "u");
  const u1 = g.op("Gather", [u, g.i64([0], [])], { axis: 1 });
  const u2 = g.op("Gather", [u, g.i64([1], [])], { axis: 1 });
  const x1 = g.op("Mul", [u1, grand]);
  const le1 = g.op("LessOrEqual", [g.unsqueeze(cdfOut, [1]), g.unsqueeze(x1, [2])]);
  const blk = g.reduce("ReduceSum", g.cast(le1, DT.INT64), [2], false);
  const x2 = g.op("Mul", [u2, g.op("GatherElements", [tot, blk], { axis: 1 })]);
  const C = g.op("Gather", [g.op("Shape", [L]), g.i64([0], [])], { axis: 0 });
  const rowBase = g.op("Mul", [g.op("Range", [g.i64([0], []), C, g.i64([1], [])]), g.i64([NB], [])]);
  const flatRow = g.op("Add", [blk, g.unsqueeze(rowBase, [1])]);
  const rows = g.op("Gather", [g.op("Reshape", [cdfIn, g.i64([-1, BS])]), flatRow], { axis: 0 });
  const le2 = g.op("LessOrEqual", [rows, g.unsqueeze(x2, [2])]);
  const within = g.reduce("ReduceSum", g.cast(le2, DT.INT64), [2], false);
  const ids = g.op("Add", [g.op("Mul", [blk, g.i64([BS], [])]), within], {}, "draws");
  out.push(
    { name: g.cast(ids, DT.INT32), type: DT.INT32 },
    { name: g.op("GatherElements", [L, ids], { axis: 1 }), type: DT.FLOAT },
    { name: g.squeeze(lse, [1]), type: fp },
    { name: g.squeeze(lseT, [1]), type: fp },
  );
}
