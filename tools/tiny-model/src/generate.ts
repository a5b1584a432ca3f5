import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { GraphProtoSchema, ModelProtoSchema, type NodeProto, type TensorProto } from "onnx-buf";
import { DT, externalTensor, f32, i64, node, tensor, valueInfo } from "./onnx.js";

/**
 * Bump when the weights or the graphs change: caches are keyed by it, so an old cached model is never reused.
 */
export const TINY_MODEL_VERSION = 1;

/** The Qwen3 vocabulary size (logits per position). */
export const QWEN3_VOCAB_SIZE = 151_936;

export type TinyModelShape = "plain" | "decoder";

export interface TinyModelOptions {
  /**
   * `plain`: `input_ids -> logits` (float32), weights in an external data file `model.onnx_data`, opset 18.
   * `decoder`: an optimum / transformers.js-style decoder: `input_ids`, `attention_mask`, `position_ids`,
   * `past_key_values.0.{key,value}` (float16, fed empty) -> `logits` (float16), `present.0.{key,value}`; weights
   * inline, opset 14.
   */
  shape: TinyModelShape;
  /** Logits per position (default the Qwen3 vocabulary, 151,936). Smaller values are for quick tests. */
  vocabSize?: number;
  /** Weight seed (default 1). */
  seed?: number;
}

/** What a generated model is, as written to `logitpack-tiny.json` next to it. */
export interface TinyModelInfo {
  version: number;
  shape: TinyModelShape;
  vocabSize: number;
  hiddenSize: number;
  seed: number;
  files: string[];
}

export const HIDDEN = 64;
export const HEADS = 2;
export const HEAD_DIM = 32;
/** Token embedding norms are log-uniform in this range: each token sets its own "temperature". */
const NORM_MIN = 5.5;
const NORM_MAX = 12;
export const QWEN3_PAD = 151_643; // <|endoftext|>
export const QWEN3_EOS = 151_645; // <|im_end|>

/** mulberry32: a small, fast, deterministic 32-bit generator. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Standard normals (Box-Muller) into `out`, scaled by `scale`. */
export function fillNormal(out: Float32Array, next: () => number, scale: number): void {
  const twoPi = 2 * Math.PI;
  for (let i = 0; i < out.length; i += 2) {
    const u1 = (next() + 0.5) / 4294967296;
    const u2 = (next() + 0.5) / 4294967296;
    const r = Math.sqrt(-2 * Math.log(u1)) * scale;
    out[i] = r * Math.cos(twoPi * u2);
    if (i + 1 < out.length) {
      out[i + 1] = r * Math.sin(twoPi * u2);
    }
  }
}

export interface Weights {
  embed: Float32Array; // [V, H]
  mix: Float32Array; // [H, H]
  out: Float32Array; // [H, V]
}

export function makeWeights(vocab: number, seed: number): Weights {
  const next = mulberry32(seed);
  const embed = new Float32Array(vocab * HIDDEN);
  fillNormal(embed, next, 1);
  for (let v = 0; v < vocab; v++) {
    let ss = 0;
    for (let k = 0; k < HIDDEN; k++) {
      const x = embed[v * HIDDEN + k] as number;
      ss += x * x;
    }
    const u = (next() + 0.5) / 4294967296;
    const norm = Math.exp(Math.log(NORM_MIN) + u * (Math.log(NORM_MAX) - Math.log(NORM_MIN)));
    const s = norm / Math.sqrt(ss);
    for (let k = 0; k < HIDDEN; k++) {
      embed[v * HIDDEN + k] = (embed[v * HIDDEN + k] as number) * s;
    }
  }
  const mix = new Float32Array(HIDDEN * HIDDEN);
  fillNormal(mix, next, 1 / Math.sqrt(HIDDEN));
  const out = new Float32Array(HIDDEN * vocab);
  fillNormal(out, next, 1);
  return { embed, mix, out };
}

/** `x [B,T,H]` -> `h = x + 0.5 * tanh((mean + extra) @ Wmix)`; returns node list and the name of `h`. */
function mixNodes(x: string, mean: string, h: string): NodeProto[] {
  return [
    node("MatMul", [mean, "w_mix"], ["mixed"]),
    node("Tanh", ["mixed"], ["mixed_t"]),
    node("Mul", ["mixed_t", "half"], ["mixed_h"]),
    node("Add", [x, "mixed_h"], [h]),
  ];
}

function plainGraph(vocab: number, w: Weights, external: boolean): { nodes: NodeProto[]; inits: TensorProto[] } {
  const E = vocab * HIDDEN * 4;
  const inits: TensorProto[] = external
    ? [
        externalTensor("embed", DT.FLOAT, [vocab, HIDDEN], "model.onnx_data", 0, E),
        externalTensor("w_out", DT.FLOAT, [HIDDEN, vocab], "model.onnx_data", E, E),
      ]
    : [tensor("embed", DT.FLOAT, [vocab, HIDDEN], w.embed), tensor("w_out", DT.FLOAT, [HIDDEN, vocab], w.out)];
  inits.push(
    tensor("w_mix", DT.FLOAT, [HIDDEN, HIDDEN], w.mix),
    f32("half", [0.5], []),
    f32("one", [1], []),
    i64("axis1", [1], []),
    i64("idx1", [1], []),
    i64("unsq_last", [1]),
  );
  const nodes = [
    node("Gather", ["embed", "input_ids"], ["x"]),
    node("CumSum", ["x", "axis1"], ["cs"]),
    node("Shape", ["input_ids"], ["ids_shape"]),
    node("Gather", ["ids_shape", "idx1"], ["seq_len"]),
    node("Cast", ["seq_len"], ["seq_len_f"], { to: DT.FLOAT }),
    node("Add", ["seq_len_f", "one"], ["limit"]),
    node("Range", ["one", "limit", "one"], ["counts"]),
    node("Unsqueeze", ["counts", "unsq_last"], ["counts_2d"]),
    node("Div", ["cs", "counts_2d"], ["mean"]),
    ...mixNodes("x", "mean", "h"),
    node("MatMul", ["h", "w_out"], ["logits"]),
  ];
  return { nodes, inits };
}

export function decoderGraph(vocab: number, w: Weights): { nodes: NodeProto[]; inits: TensorProto[] } {
  const freqs = new Float32Array(HIDDEN / 2);
  for (let k = 0; k < freqs.length; k++) {
    freqs[k] = 10000 ** (-k / freqs.length);
  }
  const inits: TensorProto[] = [
    tensor("embed", DT.FLOAT, [vocab, HIDDEN], w.embed),
    tensor("w_out", DT.FLOAT, [HIDDEN, vocab], w.out),
    tensor("w_mix", DT.FLOAT, [HIDDEN, HIDDEN], w.mix),
    tensor("freqs", DT.FLOAT, [HIDDEN / 2], freqs),
    f32("half", [0.5], []),
    f32("one", [1], []),
    i64("axis1", [1], []),
    i64("idx2", [2], []),
    i64("axes0", [0]),
    i64("axes1", [1]),
    i64("axes2", [2]),
    i64("big", [2 ** 62]),
    i64("kv_shape", [0, 0, HEADS, HEAD_DIM]),
  ];
  const kv = (src: string, name: "key" | "value"): NodeProto[] => [
    node("Reshape", [src, "kv_shape"], [`${name}_4d`]),
    node("Transpose", [`${name}_4d`], [`${name}_t`], { perm: [0, 2, 1, 3] }),
    node("Cast", [`${name}_t`], [`${name}_h`], { to: DT.FLOAT16 }),
    node("Concat", [`past_key_values.0.${name}`, `${name}_h`], [`present.0.${name}`], { axis: 2 }),
  ];
  const nodes = [
    // The current tokens' part of the attention mask (the mask also covers the past).
    node("Shape", ["past_key_values.0.key"], ["past_shape"]),
    node("Gather", ["past_shape", "idx2"], ["past_len"]),
    node("Unsqueeze", ["past_len", "axes0"], ["past_len_1"]),
    node("Slice", ["attention_mask", "past_len_1", "big", "axes1"], ["mask_cur"]),
    node("Cast", ["mask_cur"], ["mask_f"], { to: DT.FLOAT }),
    node("Unsqueeze", ["mask_f", "axes2"], ["mask_3d"]),
    node("Gather", ["embed", "input_ids"], ["x"]),
    node("Mul", ["x", "mask_3d"], ["x_masked"]),
    node("CumSum", ["x_masked", "axis1"], ["cs"]),
    node("CumSum", ["mask_3d", "axis1"], ["cnt"]),
    node("Max", ["cnt", "one"], ["cnt1"]),
    node("Div", ["cs", "cnt1"], ["mean"]),
    // Sinusoidal position features from position_ids (so wrong position ids change the logits).
    node("Cast", ["position_ids"], ["pos_f"], { to: DT.FLOAT }),
    node("Unsqueeze", ["pos_f", "axes2"], ["pos_3d"]),
    node("Mul", ["pos_3d", "freqs"], ["angles"]),
    node("Sin", ["angles"], ["sin"]),
    node("Cos", ["angles"], ["cos"]),
    node("Concat", ["sin", "cos"], ["pe"], { axis: 2 }),
    node("Mul", ["pe", "half"], ["pe_h"]),
    node("Add", ["mean", "pe_h"], ["mean_pe"]),
    ...mixNodes("x", "mean_pe", "h"),
    node("MatMul", ["h", "w_out"], ["logits_f"]),
    node("Cast", ["logits_f"], ["logits"], { to: DT.FLOAT16 }),
    ...kv("x", "key"),
    ...kv("h", "value"),
  ];
  return { nodes, inits };
}

export function modelBytes(
  opset: number,
  nodes: NodeProto[],
  inits: TensorProto[],
  inputs: ReturnType<typeof valueInfo>[],
  outputs: ReturnType<typeof valueInfo>[],
): Uint8Array {
  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: "logitpack-tiny-model",
    producerVersion: String(TINY_MODEL_VERSION),
    opsetImport: [{ domain: "", version: BigInt(opset) }],
    graph: create(GraphProtoSchema, { name: "tiny", node: nodes, input: inputs, output: outputs, initializer: inits }),
  });
  return toBinary(ModelProtoSchema, model);
}

/**
 * Write the tiny model into `dir` (created; existing files are overwritten): `model.onnx` (+ `model.onnx_data`
 * for `plain`), `config.json`, `logitpack-tiny.json`. Deterministic: the same options give the same bytes.
 */
export async function generateTinyModel(dir: string, options: TinyModelOptions): Promise<TinyModelInfo> {
  const vocab = options.vocabSize ?? QWEN3_VOCAB_SIZE;
  const seed = options.seed ?? 1;
  if (!(Number.isInteger(vocab) && vocab >= 16 && vocab <= 262_144)) {
    throw new RangeError(`vocabSize ${vocab} must be an integer in [16, 262144]`);
  }
  const w = makeWeights(vocab, seed);
  await mkdir(dir, { recursive: true });
  const files = ["model.onnx", "config.json", "logitpack-tiny.json"];
  if (options.shape === "plain") {
    const { nodes, inits } = plainGraph(vocab, w, true);
    const bytes = modelBytes(
      18,
      nodes,
      inits,
      [valueInfo("input_ids", DT.INT64, ["batch_size", "sequence_length"])],
      [valueInfo("logits", DT.FLOAT, ["batch_size", "sequence_length", vocab])],
    );
    const data = new Uint8Array(w.embed.byteLength + w.out.byteLength);
    data.set(new Uint8Array(w.embed.buffer), 0);
    data.set(new Uint8Array(w.out.buffer), w.embed.byteLength);
    await writeAtomic(join(dir, "model.onnx_data"), data);
    await writeAtomic(join(dir, "model.onnx"), bytes);
    files.push("model.onnx_data");
  } else {
    const { nodes, inits } = decoderGraph(vocab, w);
    await writeAtomic(join(dir, "model.onnx"), decoderModelBytes(nodes, inits, vocab));
  }
  await writeJson(join(dir, "config.json"), tinyConfig(vocab, options.shape));
  const info: TinyModelInfo = {
    version: TINY_MODEL_VERSION,
    shape: options.shape,
    vocabSize: vocab,
    hiddenSize: HIDDEN,
    seed,
    files,
  };
  await writeJson(join(dir, "logitpack-tiny.json"), info);
  return info;
}

/** The `config.json` of a tiny model (what transformers-style loaders and the CLI read). */
export function tinyConfig(vocab: number, shape: "decoder" | "plain"): Record<string, unknown> {
  return {
    architectures: ["LogitpackTinyForCausalLM"],
    model_type: "logitpack-tiny",
    vocab_size: vocab,
    hidden_size: HIDDEN,
    num_hidden_layers: 1,
    num_attention_heads: HEADS,
    num_key_value_heads: HEADS,
    head_dim: HEAD_DIM,
    pad_token_id: vocab === QWEN3_VOCAB_SIZE ? QWEN3_PAD : 0,
    eos_token_id: vocab === QWEN3_VOCAB_SIZE ? QWEN3_EOS : 1,
    torch_dtype: shape === "decoder" ? "float16" : "float32",
    use_cache: shape === "decoder",
  };
}

/** Writes `value` as indented JSON with a final newline, atomically. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeAtomic(path, new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`));
}

export async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/**
 * The optimum-style decoder's model bytes (opset 14): input_ids, attention_mask, position_ids and one empty
 * past key/value in; float16 logits and the present key/value out.
 */
export function decoderModelBytes(
  nodes: Parameters<typeof modelBytes>[1],
  inits: Parameters<typeof modelBytes>[2],
  vocab: number,
): Uint8Array {
  const kvDims = ["batch_size", HEADS, "past_sequence_length", HEAD_DIM];
  const presentDims = ["batch_size", HEADS, "total_sequence_length", HEAD_DIM];
  return modelBytes(
    14,
    nodes,
    inits,
    [
      valueInfo("input_ids", DT.INT64, ["batch_size", "sequence_length"]),
      valueInfo("attention_mask", DT.INT64, ["batch_size", "total_sequence_length"]),
      valueInfo("position_ids", DT.INT64, ["batch_size", "sequence_length"]),
      valueInfo("past_key_values.0.key", DT.FLOAT16, kvDims),
      valueInfo("past_key_values.0.value", DT.FLOAT16, kvDims),
    ],
    [
      valueInfo("logits", DT.FLOAT16, ["batch_size", "sequence_length", vocab]),
      valueInfo("present.0.key", DT.FLOAT16, presentDims),
      valueInfo("present.0.value", DT.FLOAT16, presentDims),
    ],
  );
}
