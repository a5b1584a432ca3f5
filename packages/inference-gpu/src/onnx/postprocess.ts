import { clone } from "@bufbuild/protobuf";
import { TensorProto_DataType as DT, type ModelProto, NodeProtoSchema, type ValueInfoProto } from "onnx-buf";
import { gumbelTable, NOISE_BLOCK, noiseGeometry } from "../noise.js";
import { GraphBuilder, tensor, valueInfo } from "./builder.js";
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
  /** Gumbel table rows (see noise.ts). */
  noiseRows: number;
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
  noise: "logitpack.noise_offsets",
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
  table: "logitpack.gumbel_table",
} as const;

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
      valueInfo(PP.noise, DT.INT32, ["logitpack_chunks", "logitpack_chunk", 2]),
      valueInfo(PP.topP, fp, []),
      valueInfo(PP.topK, DT.INT64, [1]),
      valueInfo(PP.sampledN, DT.INT64, [1]),
    );
    const table2d = b.op("Reshape", [PP.table, b.i64([-1, NOISE_BLOCK])], {}, "table_rows");
    nucleusBody(body, L, iter, fp, V, table2d, options, scanOut);
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

  if (options.mode === "nucleus") {
    const table = gumbelTable(options.noiseRows, V);
    b.initializers.push(tensor(PP.table, DT.FLOAT, [table.length], table));
  }
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
  table2d: string,
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
  // Gumbel noise: the max of the position's two windows of the table (see noise.ts).
  const { paddedVocab } = noiseGeometry(options.noiseRows, V);
  const nBlocks = paddedVocab / NOISE_BLOCK;
  const off = g.op("Gather", [PP.noise, iter], { axis: 0 }, "noise_off");
  const arange = g.constant(
    "arange",
    DT.INT32,
    [1, nBlocks],
    Int32Array.from({ length: nBlocks }, (_, j) => j),
  );
  const window = (half: number): string => {
    const start = g.op("Gather", [off, g.i64([half], [])], { axis: 1 });
    const idx = g.op("Add", [g.unsqueeze(start, [1]), arange], {}, "noise_idx");
    return g.op("Gather", [table2d, idx], { axis: 0 }, "noise_rows");
  };
  const both = g.op("Max", [window(0), window(1)], {}, "noise_max");
  let noise = g.op("Reshape", [both, g.i64([0, -1])], {}, "noise");
  if (paddedVocab !== V) {
    noise = g.op("Slice", [noise, g.i64([0]), g.i64([V]), g.i64([1])]);
  }
  const pert = g.op("Add", [L, noise], {}, "perturbed");
  // Exclude exactly the nucleus (the first `count` of the TopK order) from the tail.
  const atTop = g.op("GatherElements", [pert, ti], { axis: 1 });
  const upd = g.op("Where", [inN, g.f32([Number.NEGATIVE_INFINITY], []), atTop]);
  const masked = g.op("ScatterElements", [pert, ti, upd], { axis: 1 }, "tail");
  const [, si] = topk(g, masked, PP.sampledN, V, options.topkChunk);
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
