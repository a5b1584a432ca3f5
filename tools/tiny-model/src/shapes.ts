/**
 * Tiny teachers in the graph shapes real exports have, for the graph-support tests of @logitpack/inference-gpu:
 *
 * - `q4-head`: the LM head as com.microsoft `MatMulNBits` (int4 blocks of 32 with zero points, as onnx-community's
 *   q4 exports), a `SimplifiedLayerNormalization` before it, weights in external data (`{file}_data`).
 * - `fused`: ORT-fused layers: `SimplifiedLayerNormalization`, com.microsoft `RotaryEmbedding`, `MultiHeadAttention`
 *   (causal), `SkipSimplifiedLayerNormalization`; the head a `Gemm` (transB) between Reshapes.
 * - `gqa`: `fused` with com.microsoft `GroupQueryAttention` instead (as onnx-community's newer exports), fed an empty
 *   float32 past (`past_key_values.0.*`, `present.0.*`), `seqlens_k` and `total_sequence_length` computed from the
 *   attention mask inside the graph.
 * - `merged`: a merged decoder (`decoder_model_merged.onnx` style): an `If` on `use_cache_branch` holding the
 *   layers and the head in both branches, past key/values in float16, float16 logits.
 * - `tied-bf16`: the head tied to the embedding (`MatMul(h, Transpose(embed))`), a Gemma-style softcap
 *   (Div, Tanh, Mul), bfloat16 logits.
 *
 * Deterministic: the same options give the same bytes. Each writes `{file}` (default `model.onnx`), its data file
 * if any, and `config.json`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  AttributeProto_AttributeType as AT,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from "onnx-buf";
import { fillNormal, mulberry32 } from "./generate.js";
import { DT, externalTensor, f32, float, i64, node, tensor, valueInfo } from "./onnx.js";

export type TinyGraphShape = "q4-head" | "fused" | "gqa" | "merged" | "tied-bf16";
export const TINY_GRAPH_SHAPES: readonly TinyGraphShape[] = ["q4-head", "fused", "gqa", "merged", "tied-bf16"];

export interface TinyGraphOptions {
  shape: TinyGraphShape;
  /** Logits per position (default 32,000). */
  vocabSize?: number;
  seed?: number;
  /** Model file name (default `model.onnx`); external data goes to `{file}_data`. */
  file?: string;
  /** Keep the embedding in `{file}_data` (external data) for every shape (`q4-head` always does). */
  external?: boolean;
  /** `q4-head` only: float16 logits (a Cast after the head), as in q4f16 exports. */
  float16Logits?: boolean;
}

const H = 64;
const HEADS = 2;
const HEAD_DIM = 32;
const MS = "com.microsoft";

function ms(opType: string, input: string[], output: string[], attrs: Parameters<typeof node>[3] = {}): NodeProto {
  const n = node(opType, input, output, attrs);
  n.domain = MS;
  return n;
}

interface W {
  embed: Float32Array; // [V, H], row norms log-uniform in [5.5, 12]
  mix: Float32Array; // [H, H]
  out: Float32Array; // [H, V]
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  o: Float32Array;
}

function weights(V: number, seed: number): W {
  const next = mulberry32(seed * 7919 + 17);
  const mat = (n: number, scale: number) => {
    const a = new Float32Array(n);
    fillNormal(a, next, scale);
    return a;
  };
  const embed = mat(V * H, 1);
  for (let r = 0; r < V; r++) {
    let ss = 0;
    for (let k = 0; k < H; k++) {
      ss += (embed[r * H + k] as number) ** 2;
    }
    const u = (next() + 0.5) / 4294967296;
    const norm = Math.exp(Math.log(5.5) + u * (Math.log(12) - Math.log(5.5)));
    for (let k = 0; k < H; k++) {
      embed[r * H + k] = ((embed[r * H + k] as number) * norm) / Math.sqrt(ss);
    }
  }
  const s = 1 / Math.sqrt(H);
  return {
    embed,
    mix: mat(H * H, s),
    out: mat(H * V, 1),
    q: mat(H * H, s),
    k: mat(H * H, s),
    v: mat(H * H, s),
    o: mat(H * H, s),
  };
}

/** `h = x + 0.5 tanh(prefix_mean(x) @ Wmix)` (each position sees its prefix), then `scaled = rmsnorm(h) * |x|`. */
function mixAndNorm(x: string, out: string): NodeProto[] {
  return [
    node("CumSum", [x, "axis1"], ["cs"]),
    node("Shape", [x], ["x_shape"]),
    node("Gather", ["x_shape", "idx1"], ["seq_len"]),
    node("Cast", ["seq_len"], ["seq_len_f"], { to: DT.FLOAT }),
    node("Add", ["seq_len_f", "one"], ["limit"]),
    node("Range", ["one", "limit", "one"], ["counts"]),
    node("Unsqueeze", ["counts", "unsq_last"], ["counts_2d"]),
    node("Div", ["cs", "counts_2d"], ["mean"]),
    node("MatMul", ["mean", "w_mix"], ["mixed"]),
    node("Tanh", ["mixed"], ["mixed_t"]),
    node("Mul", ["mixed_t", "half"], ["mixed_h"]),
    node("Add", [x, "mixed_h"], ["h"]),
    node("SimplifiedLayerNormalization", ["h", "gamma"], ["h_norm"], { axis: -1, epsilon: float(1e-6) }),
    node("ReduceL2", [x], ["x_norm"], { axes: [-1], keepdims: 1 }),
    node("Mul", ["h_norm", "x_norm"], [out]),
  ];
}

function commonInits(w: W): TensorProto[] {
  return [
    tensor("w_mix", DT.FLOAT, [H, H], w.mix),
    tensor("gamma", DT.FLOAT, [H], new Float32Array(H).fill(1 / Math.sqrt(H))),
    f32("half", [0.5], []),
    f32("one", [1], []),
    i64("axis1", [1], []),
    i64("idx1", [1], []),
    i64("unsq_last", [1]),
  ];
}

/** int4 block quantization of `w` [K, N] for MatMulNBits: B [N, K/32, 16], scales [N * K/32], zero points. */
function quantize4(w: Float32Array, K: number, N: number) {
  const block = 32;
  const blocks = K / block;
  const B = new Uint8Array(N * blocks * (block / 2));
  const scales = new Float32Array(N * blocks);
  const zp = new Uint8Array(N * Math.ceil(blocks / 2));
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      let lo = 0;
      let hi = 0;
      for (let k = b * block; k < (b + 1) * block; k++) {
        const v = w[k * N + n] as number;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      const scale = (hi - lo) / 15 || 1;
      const z = Math.min(15, Math.max(0, Math.round(-lo / scale)));
      scales[n * blocks + b] = scale;
      zp[n * Math.ceil(blocks / 2) + (b >> 1)] |= z << ((b & 1) * 4);
      for (let j = 0; j < block; j++) {
        const v = w[(b * block + j) * N + n] as number;
        const q = Math.min(15, Math.max(0, Math.round(v / scale + z)));
        B[(n * blocks + b) * (block / 2) + (j >> 1)] |= q << ((j & 1) * 4);
      }
    }
  }
  return { B, scales, zp, blocks };
}

function bytes(t: Float32Array | Uint8Array): Uint8Array {
  return new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
}

function model(
  opset: number,
  nodes: NodeProto[],
  inits: TensorProto[],
  inputs: ValueInfoProto[],
  outputs: ValueInfoProto[],
): Uint8Array {
  return toBinary(
    ModelProtoSchema,
    create(ModelProtoSchema, {
      irVersion: 8n,
      producerName: "logitpack-tiny-model",
      opsetImport: [
        { domain: "", version: BigInt(opset) },
        { domain: MS, version: 1n },
      ],
      graph: create(GraphProtoSchema, {
        name: "tiny",
        node: nodes,
        input: inputs,
        output: outputs,
        initializer: inits,
      }),
    }),
  );
}

const ids = () => valueInfo("input_ids", DT.INT64, ["batch_size", "sequence_length"]);

/** Writes the shape's model into `dir`; returns the files written (relative names). */
export async function generateTinyGraph(dir: string, options: TinyGraphOptions): Promise<string[]> {
  const V = options.vocabSize ?? 32_000;
  const seed = options.seed ?? 1;
  const file = options.file ?? "model.onnx";
  const w = weights(V, seed);
  await mkdir(dir, { recursive: true });
  const files = [file, "config.json"];
  const logitsDims = ["batch_size", "sequence_length", V];
  const data = `${file}_data`;
  const embedInit = async (): Promise<TensorProto> => {
    if (!options.external) {
      return tensor("embed", DT.FLOAT, [V, H], w.embed);
    }
    await writeFile(join(dir, data), bytes(w.embed));
    files.push(data);
    return externalTensor("embed", DT.FLOAT, [V, H], data, 0, w.embed.byteLength);
  };
  let onnx: Uint8Array;
  switch (options.shape) {
    case "q4-head": {
      const q = quantize4(w.out, H, V);
      const E = w.embed.byteLength;
      const blob = new Uint8Array(E + q.B.byteLength);
      blob.set(bytes(w.embed), 0);
      blob.set(q.B, E);
      await writeFile(join(dir, data), blob);
      files.push(data);
      onnx = model(
        17,
        [
          node("Gather", ["embed", "input_ids"], ["x"]),
          ...mixAndNorm("x", "scaled"),
          ms(
            "MatMulNBits",
            ["scaled", "head_q4", "head_scales", "head_zp"],
            [options.float16Logits ? "logits_f" : "logits"],
            {
              K: H,
              N: V,
              bits: 4,
              block_size: 32,
            },
          ),
          ...(options.float16Logits ? [node("Cast", ["logits_f"], ["logits"], { to: DT.FLOAT16 })] : []),
        ],
        [
          externalTensor("embed", DT.FLOAT, [V, H], data, 0, E),
          externalTensor("head_q4", DT.UINT8, [V, q.blocks, 16], data, E, q.B.byteLength),
          tensor("head_scales", DT.FLOAT, [V * q.blocks], q.scales),
          tensor("head_zp", DT.UINT8, [V * Math.ceil(q.blocks / 2)], q.zp),
          ...commonInits(w),
        ],
        [ids()],
        [valueInfo("logits", options.float16Logits ? DT.FLOAT16 : DT.FLOAT, logitsDims)],
      );
      break;
    }
    case "fused":
    case "gqa": {
      const gqa = options.shape === "gqa";
      const maxPos = 4096;
      const cos = new Float32Array(maxPos * (HEAD_DIM / 2));
      const sin = new Float32Array(maxPos * (HEAD_DIM / 2));
      for (let p = 0; p < maxPos; p++) {
        for (let i = 0; i < HEAD_DIM / 2; i++) {
          const a = p * 10000 ** (-(2 * i) / HEAD_DIM);
          cos[p * (HEAD_DIM / 2) + i] = Math.cos(a);
          sin[p * (HEAD_DIM / 2) + i] = Math.sin(a);
        }
      }
      const wvh = new Float32Array(V * H); // the head as Gemm's transB weight [V, H]
      for (let k = 0; k < H; k++) {
        for (let v = 0; v < V; v++) {
          wvh[v * H + k] = w.out[k * V + v] as number;
        }
      }
      const bias = new Float32Array(V);
      for (let v = 0; v < V; v++) {
        bias[v] = 0.25 * Math.sin(v * 0.37);
      }
      onnx = model(
        17,
        [
          node("Gather", ["embed", "input_ids"], ["x"]),
          node("SimplifiedLayerNormalization", ["x", "g1"], ["n1"], { axis: -1, epsilon: float(1e-6) }),
          node("MatMul", ["n1", "w_q"], ["q"]),
          node("MatMul", ["n1", "w_k"], ["k"]),
          node("MatMul", ["n1", "w_v"], ["v"]),
          ms("RotaryEmbedding", ["q", "position_ids", "cos_cache", "sin_cache"], ["q_rot"], { num_heads: HEADS }),
          ms("RotaryEmbedding", ["k", "position_ids", "cos_cache", "sin_cache"], ["k_rot"], { num_heads: HEADS }),
          ...(gqa
            ? [
                node("ReduceSum", ["attention_mask", "axes_1"], ["mask_len"], { keepdims: 0 }),
                node("Sub", ["mask_len", "one_i64"], ["seqlens_k_64"]),
                node("Cast", ["seqlens_k_64"], ["seqlens_k"], { to: DT.INT32 }),
                node("Shape", ["attention_mask"], ["mask_shape"]),
                node("Gather", ["mask_shape", "idx1_i"], ["total_len_64"]),
                node("Cast", ["total_len_64"], ["total_len"], { to: DT.INT32 }),
                ms(
                  "GroupQueryAttention",
                  ["q_rot", "k_rot", "v", "past_key_values.0.key", "past_key_values.0.value", "seqlens_k", "total_len"],
                  ["attn", "present.0.key", "present.0.value"],
                  { num_heads: HEADS, kv_num_heads: HEADS },
                ),
              ]
            : [
                node("Cast", ["attention_mask"], ["mask_i32"], { to: DT.INT32 }),
                ms("MultiHeadAttention", ["q_rot", "k_rot", "v", "", "mask_i32"], ["attn"], {
                  num_heads: HEADS,
                  unidirectional: 1,
                }),
              ]),
          node("MatMul", ["attn", "w_o"], ["o"]),
          ms("SkipSimplifiedLayerNormalization", ["o", "x", "g2"], ["n2", "", "", "resid"], {
            epsilon: float(1e-6),
          }),
          node("ReduceL2", ["x"], ["x_norm"], { axes: [-1], keepdims: 1 }),
          node("Mul", ["n2", "x_norm"], ["scaled"]),
          node("Reshape", ["scaled", "flat_shape"], ["flat"]),
          node("Gemm", ["flat", "w_head", "b_head"], ["logits_2d"], { transB: 1 }),
          node("Shape", ["input_ids"], ["ids_shape"]),
          node("Concat", ["ids_shape", "vocab_1"], ["logits_shape"], { axis: 0 }),
          node("Reshape", ["logits_2d", "logits_shape"], ["logits"]),
        ],
        [
          await embedInit(),
          tensor("g1", DT.FLOAT, [H], new Float32Array(H).fill(1)),
          tensor("g2", DT.FLOAT, [H], new Float32Array(H).fill(1 / Math.sqrt(H))),
          tensor("w_q", DT.FLOAT, [H, H], w.q),
          tensor("w_k", DT.FLOAT, [H, H], w.k),
          tensor("w_v", DT.FLOAT, [H, H], w.v),
          tensor("w_o", DT.FLOAT, [H, H], w.o),
          tensor("cos_cache", DT.FLOAT, [maxPos, HEAD_DIM / 2], cos),
          tensor("sin_cache", DT.FLOAT, [maxPos, HEAD_DIM / 2], sin),
          i64("flat_shape", [-1, H]),
          ...(gqa ? [i64("axes_1", [1]), i64("one_i64", [1], []), i64("idx1_i", [1], [])] : []),
          i64("vocab_1", [V]),
          tensor("w_head", DT.FLOAT, [V, H], wvh),
          tensor("b_head", DT.FLOAT, [V], bias),
        ],
        [
          ids(),
          valueInfo("attention_mask", DT.INT64, ["batch_size", gqa ? "total_sequence_length" : "sequence_length"]),
          valueInfo("position_ids", DT.INT64, ["batch_size", "sequence_length"]),
          ...(gqa
            ? ["key", "value"].map((kv) =>
                valueInfo(`past_key_values.0.${kv}`, DT.FLOAT, ["batch_size", HEADS, "past_sequence_length", HEAD_DIM]),
              )
            : []),
        ],
        [
          valueInfo("logits", DT.FLOAT, logitsDims),
          ...(gqa
            ? ["key", "value"].map((kv) =>
                valueInfo(`present.0.${kv}`, DT.FLOAT, ["batch_size", HEADS, "total_sequence_length", HEAD_DIM]),
              )
            : []),
        ],
      );
      break;
    }
    case "merged": {
      const branch = (name: string, withPast: boolean) => {
        const p = `${name}_`;
        const nodes: NodeProto[] = [
          ...mixAndNorm("x", "scaled").map((n) => {
            n.input = n.input.map((i) =>
              ["x", "w_mix", "gamma", "half", "one", "axis1", "idx1", "unsq_last"].includes(i) ? i : p + i,
            );
            n.output = n.output.map((o) => p + o);
            n.name = p + n.name;
            return n;
          }),
          node("MatMul", [`${p}scaled`, "w_out"], [`${p}logits_f`]),
          node("Cast", [`${p}logits_f`], [`${p}logits`], { to: DT.FLOAT16 }),
          node("Reshape", ["x", "kv_shape"], [`${p}kv_4d`]),
          node("Transpose", [`${p}kv_4d`], [`${p}kv_t`], { perm: [0, 2, 1, 3] }),
          node("Cast", [`${p}kv_t`], [`${p}kv_h`], { to: DT.FLOAT16 }),
        ];
        for (const kv of ["key", "value"]) {
          nodes.push(
            withPast
              ? node("Concat", [`past_key_values.0.${kv}`, `${p}kv_h`], [`${p}present_${kv}`], { axis: 2 })
              : node("Identity", [`${p}kv_h`], [`${p}present_${kv}`]),
          );
        }
        const kvDims = ["batch_size", HEADS, "total_sequence_length", HEAD_DIM];
        return create(GraphProtoSchema, {
          name,
          node: nodes,
          output: [
            valueInfo(`${p}logits`, DT.FLOAT16, logitsDims),
            valueInfo(`${p}present_key`, DT.FLOAT16, kvDims),
            valueInfo(`${p}present_value`, DT.FLOAT16, kvDims),
          ],
        });
      };
      const ifNode = node("If", ["use_cache_branch_1"], ["logits", "present.0.key", "present.0.value"]);
      ifNode.attribute = [
        create(AttributeProtoSchema, { name: "then_branch", type: AT.GRAPH, g: branch("with_past", true) }),
        create(AttributeProtoSchema, { name: "else_branch", type: AT.GRAPH, g: branch("no_past", false) }),
      ];
      const kvDims = ["batch_size", HEADS, "past_sequence_length", HEAD_DIM];
      onnx = model(
        14,
        [
          node("Gather", ["embed", "input_ids"], ["x"]),
          node("Squeeze", ["use_cache_branch", "axes0"], ["use_cache_branch_1"]),
          ifNode,
        ],
        [
          await embedInit(),
          tensor("w_out", DT.FLOAT, [H, V], w.out),
          i64("kv_shape", [0, 0, HEADS, HEAD_DIM]),
          i64("axes0", [0]),
          ...commonInits(w),
        ],
        [
          ids(),
          valueInfo("attention_mask", DT.INT64, ["batch_size", "total_sequence_length"]),
          valueInfo("past_key_values.0.key", DT.FLOAT16, kvDims),
          valueInfo("past_key_values.0.value", DT.FLOAT16, kvDims),
          valueInfo("use_cache_branch", DT.BOOL, [1]),
        ],
        [
          valueInfo("logits", DT.FLOAT16, logitsDims),
          valueInfo("present.0.key", DT.FLOAT16, ["batch_size", HEADS, "total_sequence_length", HEAD_DIM]),
          valueInfo("present.0.value", DT.FLOAT16, ["batch_size", HEADS, "total_sequence_length", HEAD_DIM]),
        ],
      );
      break;
    }
    case "tied-bf16": {
      onnx = model(
        17,
        [
          node("Gather", ["embed", "input_ids"], ["x"]),
          ...mixAndNorm("x", "scaled"),
          node("Transpose", ["embed"], ["embed_t"], { perm: [1, 0] }),
          node("MatMul", ["scaled", "embed_t"], ["raw_logits"]),
          node("Div", ["raw_logits", "cap"], ["capped"]),
          node("Tanh", ["capped"], ["capped_t"]),
          node("Mul", ["capped_t", "cap"], ["logits_f"]),
          node("Cast", ["logits_f"], ["logits"], { to: DT.BFLOAT16 }),
        ],
        [await embedInit(), f32("cap", [30], []), ...commonInits(w)],
        [ids()],
        [valueInfo("logits", DT.BFLOAT16, logitsDims)],
      );
      break;
    }
  }
  await writeFile(join(dir, file), onnx);
  const config = {
    architectures: ["LogitpackTinyForCausalLM"],
    model_type: "logitpack-tiny",
    vocab_size: V,
    hidden_size: H,
    num_hidden_layers: 1,
    num_attention_heads: HEADS,
    num_key_value_heads: HEADS,
    head_dim: HEAD_DIM,
    pad_token_id: 0,
    eos_token_id: 1,
  };
  await writeFile(join(dir, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
  return files;
}
