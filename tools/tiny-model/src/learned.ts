/**
 * The learned tiny teacher: the random tiny decoder (`generate.ts`) plus n-gram statistics of the bundled sample
 * dataset's assistant text (`learned-sample-chats.json`, fitted by `scripts/fit-learned.ts`) folded into the graph,
 * so that its distributions put the sample text's next token at the top most of the time while the random base
 * keeps the nucleus sizes realistic (1 to the cap).
 *
 * Graph (decoder shape, same inputs and outputs as the random one): `c = cid[input_ids]` (a compact id per sample
 * token, 0 for any other token), the hashes of the last 1, 2, 4 and 8 compact ids (`learned-hash.ts`, int64
 * Mul/Add/Mod), each looked up in a hashed table (slot -> row, verified by the full hash); `ctx` is the vector of the
 * longest context found (D floats: the context's boosts written as a sum of the next tokens' random unit directions,
 * 0 when none is found), `logits = concat(alpha * h, ctx) @ [W_out; U]` where column v of `U` is token v's
 * direction (0 for tokens outside the sample). The LM head stays one final MatMul (then a Cast), so inference-gpu's
 * post-processing gathers the kept positions before it.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { NodeProto, TensorProto } from "onnx-buf";
import { ensureGenerated } from "./ensure.js";
import {
  decoderGraph,
  decoderModelBytes,
  HIDDEN,
  makeWeights,
  QWEN3_PAD,
  QWEN3_VOCAB_SIZE,
  tinyConfig,
  writeAtomic,
  writeJson,
} from "./generate.js";
import { HASH_BASE, HASH_Q, LEVELS, SLOTS } from "./learned-hash.js";
import table from "./learned-sample-chats.json" with { type: "json" };
import { DT, f32, i64, node, tensor } from "./onnx.js";

/** Bump when the tables, the constants or the graph change (caches are keyed by it). */
export const LEARNED_MODEL_VERSION = 1;

/** Width of the context vectors (random directions of the sample tokens). */
const CTX = 64;

export interface LearnedTinyModelOptions {
  /** Weight seed of the random base and of the token directions (default 1). */
  seed?: number;
  /** Scale of the random base logits (default 0.5). */
  baseScale?: number;
  /** Boost of a context's only continuation (default 30). */
  boost?: number;
  /** Boost per nat of log-probability of a continuation (default 4). */
  sharpness?: number;
}

export interface LearnedTinyModelInfo {
  version: number;
  kind: "learned";
  shape: "decoder";
  vocabSize: number;
  seed: number;
  /** What it learned: the dataset (repository path) and its hash, the tokenizer and template. */
  learned: { dataset: string; datasetSha256: string; tokenizer: string; template: string; positions: number };
  files: string[];
}

interface Table {
  dataset: string;
  datasetSha256: string;
  tokenizer: string;
  template: string;
  positions: number;
  tokens: number[];
  levels: number[];
  /** Per level: [context hash, [next, count, next, count, ...]]. */
  contexts: [number, number[]][][];
}

/** mulberry32, as in generate.ts (a separate stream for the token directions). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function unitVectors(count: number, dim: number, seed: number): Float32Array {
  const next = mulberry32(seed ^ 0x5eed1e55);
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    let ss = 0;
    for (let k = 0; k < dim; k += 2) {
      const u1 = (next() + 0.5) / 4294967296;
      const u2 = (next() + 0.5) / 4294967296;
      const r = Math.sqrt(-2 * Math.log(u1));
      const a = r * Math.cos(2 * Math.PI * u2);
      const b = r * Math.sin(2 * Math.PI * u2);
      out[i * dim + k] = a;
      out[i * dim + k + 1] = b;
      ss += a * a + b * b;
    }
    const s = 1 / Math.sqrt(ss);
    for (let k = 0; k < dim; k++) {
      out[i * dim + k] = (out[i * dim + k] as number) * s;
    }
  }
  return out;
}

/** `out[dst..dst+CTX) = sum over continuations of boost(p) * direction(next)`; counts are [next, count, ...]. */
function contextVector(
  counts: readonly number[],
  dirs: Float32Array,
  out: Float32Array,
  dst: number,
  boost: number,
  sharpness: number,
): void {
  let n = 0;
  for (let i = 1; i < counts.length; i += 2) {
    n += counts[i] as number;
  }
  for (let i = 0; i < counts.length; i += 2) {
    const next = counts[i] as number;
    const p = (counts[i + 1] as number) / (n + 1);
    const b = boost + sharpness * Math.log(p);
    if (b <= 0) {
      continue;
    }
    for (let k = 0; k < CTX; k++) {
      out[dst + k] = (out[dst + k] as number) + b * (dirs[(next - 1) * CTX + k] as number);
    }
  }
}

/**
 * Write the learned tiny teacher (decoder shape, Qwen3 vocabulary) into `dir`: `model.onnx`, `config.json`,
 * `logitpack-tiny.json`. Deterministic: the same options give the same bytes.
 */
export async function generateLearnedTinyModel(
  dir: string,
  options: LearnedTinyModelOptions = {},
): Promise<LearnedTinyModelInfo> {
  const t = table as unknown as Table;
  const vocab = QWEN3_VOCAB_SIZE;
  const seed = options.seed ?? 1;
  const baseScale = options.baseScale ?? 0.5;
  const boost = options.boost ?? 30;
  const sharpness = options.sharpness ?? 4;
  const w = makeWeights(vocab, seed);
  const dirs = unitVectors(t.tokens.length, CTX, seed);

  const cid = new Int32Array(vocab);
  t.tokens.forEach((tok, i) => {
    cid[tok] = i + 1;
  });
  cid[QWEN3_PAD] = 0; // padding reads as the start of a sequence
  if (t.levels.join() !== LEVELS.join()) {
    throw new Error(`learned-sample-chats.json was fitted for levels ${t.levels.join()}: rerun fit-learned`);
  }
  // hashed context table: slot -> row of `vectors` (0: none) and the full hash (-1: empty); shorter contexts first,
  // so a rare collision drops a longer context (the shorter one is used there)
  const rows = t.contexts.reduce((n, level) => n + level.length, 0);
  const index = new Int32Array(SLOTS);
  const verify = new Int32Array(SLOTS).fill(-1);
  const vectors = new Float32Array((rows + 1) * CTX);
  let row = 0;
  for (const level of t.contexts) {
    for (const [hash, counts] of level) {
      const slot = hash % SLOTS;
      if (verify[slot] !== -1) {
        continue;
      }
      row++;
      index[slot] = row;
      verify[slot] = hash;
      contextVector(counts, dirs, vectors, row * CTX, boost, sharpness);
    }
  }
  // head: rows 0..HIDDEN-1 the random W_out, then the token directions (0 outside the sample)
  const head = new Float32Array((HIDDEN + CTX) * vocab);
  head.set(w.out, 0);
  t.tokens.forEach((tok, i) => {
    for (let k = 0; k < CTX; k++) {
      head[(HIDDEN + k) * vocab + tok] = dirs[i * CTX + k] as number;
    }
  });

  const base = decoderGraph(vocab, w);
  const headAt = base.nodes.findIndex((n) => n.output[0] === "logits_f");
  // compact ids, the ids shifted right by j (0 before the start), the running hash g, one lookup per level
  const learnedNodes: NodeProto[] = [
    node("Gather", ["l_cid", "input_ids"], ["l_c32"]),
    node("Cast", ["l_c32"], ["l_c"], { to: DT.INT64 }),
    node("Add", ["l_c", "l_one"], ["l_g1"]),
  ];
  const maxLevel = LEVELS[LEVELS.length - 1] as number;
  for (let j = 1; j < maxLevel; j++) {
    learnedNodes.push(
      node("Slice", ["l_c", "l_zero1", `l_j${j}`, "l_axis1"], [`l_head${j}`]),
      node("Mul", [`l_head${j}`, "l_zero"], [`l_pad${j}`]),
      node("Slice", ["l_c", "l_zero1", `l_mj${j}`, "l_axis1"], [`l_body${j}`]),
      node("Concat", [`l_pad${j}`, `l_body${j}`], [`l_s${j}`], { axis: 1 }),
      node("Mul", [`l_g${j}`, "l_base"], [`l_gb${j}`]),
      node("Add", [`l_gb${j}`, `l_s${j}`], [`l_ga${j}`]),
      node("Mod", [`l_ga${j}`, "l_q"], [`l_g${j + 1}`]),
    );
  }
  let ctx = "";
  for (const k of LEVELS) {
    learnedNodes.push(
      node("Mul", [`l_g${k}`, "l_base"], [`l_hb${k}`]),
      node("Add", [`l_hb${k}`, `l_k${k}`], [`l_ha${k}`]),
      node("Mod", [`l_ha${k}`, "l_q"], [`l_hash${k}`]),
      node("Mod", [`l_hash${k}`, "l_slots"], [`l_slot${k}`]),
      node("Gather", ["l_index", `l_slot${k}`], [`l_row${k}`]),
      node("Gather", ["l_verify", `l_slot${k}`], [`l_ver32_${k}`]),
      node("Cast", [`l_ver32_${k}`], [`l_ver${k}`], { to: DT.INT64 }),
      node("Equal", [`l_ver${k}`, `l_hash${k}`], [`l_hit${k}`]),
      node("Unsqueeze", [`l_hit${k}`, "l_axis2"], [`l_hit3_${k}`]),
      node("Gather", ["l_vectors", `l_row${k}`], [`l_vec${k}`]),
      node("Where", [`l_hit3_${k}`, `l_vec${k}`, ctx === "" ? "l_zero_vec" : ctx], [`l_ctx${k}`]),
    );
    ctx = `l_ctx${k}`;
  }
  learnedNodes.push(
    node("Mul", ["h", "l_base_scale"], ["l_h"]),
    node("Concat", ["l_h", ctx], ["l_hc"], { axis: 2 }),
    node("MatMul", ["l_hc", "w_out"], ["logits_f"]),
  );
  const nodes = [...base.nodes.slice(0, headAt), ...learnedNodes, ...base.nodes.slice(headAt + 1)];
  const inits: TensorProto[] = base.inits.map((x) =>
    x.name === "w_out" ? tensor("w_out", DT.FLOAT, [HIDDEN + CTX, vocab], head) : x,
  );
  inits.push(
    tensor("l_cid", DT.INT32, [vocab], cid),
    tensor("l_index", DT.INT32, [SLOTS], index),
    tensor("l_verify", DT.INT32, [SLOTS], verify),
    tensor("l_vectors", DT.FLOAT, [rows + 1, CTX], vectors),
    f32("l_zero_vec", new Array<number>(CTX).fill(0)),
    i64("l_zero1", [0]),
    i64("l_axis1", [1]),
    i64("l_axis2", [2]),
    i64("l_zero", [0], []),
    i64("l_one", [1], []),
    i64("l_base", [HASH_BASE], []),
    i64("l_q", [HASH_Q], []),
    i64("l_slots", [SLOTS], []),
    ...LEVELS.map((k) => i64(`l_k${k}`, [k], [])),
    ...Array.from({ length: maxLevel - 1 }, (_, i) => [
      i64(`l_j${i + 1}`, [i + 1]),
      i64(`l_mj${i + 1}`, [-(i + 1)]),
    ]).flat(),
    f32("l_base_scale", [baseScale], []),
  );

  await mkdir(dir, { recursive: true });
  await writeAtomic(join(dir, "model.onnx"), decoderModelBytes(nodes, inits, vocab));
  await writeJson(join(dir, "config.json"), tinyConfig(vocab, "decoder"));
  const info: LearnedTinyModelInfo = {
    version: LEARNED_MODEL_VERSION,
    kind: "learned",
    shape: "decoder",
    vocabSize: vocab,
    seed,
    learned: {
      dataset: t.dataset,
      datasetSha256: t.datasetSha256,
      tokenizer: t.tokenizer,
      template: t.template,
      positions: t.positions,
    },
    files: ["model.onnx", "config.json", "logitpack-tiny.json"],
  };
  await writeJson(join(dir, "logitpack-tiny.json"), info);
  return info;
}

/**
 * The learned tiny teacher's folder under `cacheDir`, generated on first use (a few seconds, about 125 MB) and
 * reused after; safe when several processes ask at once.
 */
export function ensureLearnedTinyModel(cacheDir: string, options: { seed?: number } = {}): Promise<string> {
  const seed = options.seed ?? 1;
  const dir = join(cacheDir, `learned-v${LEARNED_MODEL_VERSION}-decoder-${QWEN3_VOCAB_SIZE}-s${seed}`);
  return ensureGenerated(cacheDir, dir, (tmp) => generateLearnedTinyModel(tmp, { seed }));
}
