import { fromBinary } from "@bufbuild/protobuf";
import {
  AttributeProto_AttributeType as AT,
  TensorProto_DataType as DT,
  type GraphProto,
  type ModelProto,
  ModelProtoSchema,
  type NodeProto,
  TensorProto_DataLocation,
  type ValueInfoProto,
} from "onnx-buf";
import { InferenceError } from "../errors.js";

/** Element types of the logits we accept. */
export type LogitsType = "float32" | "float16" | "bfloat16";

/** What each model input is for, which decides what we feed it. */
export type InputRole =
  | "input_ids"
  | "attention_mask"
  | "position_ids"
  | "past_key_values"
  | "use_cache_branch"
  | "token_type_ids";

export interface ModelInput {
  name: string;
  role: InputRole;
  elemType: number;
  /** Dimensions: a number, a symbolic name, or undefined when the model does not say. */
  dims: (number | string | undefined)[];
}

/** Ops recognized as the LM head. */
export type LmHeadKind = "MatMul" | "Gemm" | "MatMulNBits";

/**
 * The LM head as found in the graph: one row-wise op over the hidden states (`MatMul(hidden, W)` with W constant,
 * possibly `Transpose`d or tied to the embedding; `Gemm(hidden, W, bias)`; com.microsoft `MatMulNBits` int4/int8
 * weights), then row-wise nodes up to the logits (Cast, Identity, a softcap's Div/Tanh/Mul, a bias Add, a Reshape
 * of the leading axes). The head and the chain are replayed on the gathered rows.
 */
export interface LmHead {
  hidden: string;
  kind: LmHeadKind;
  /** The head node; replayed with its first input replaced by the gathered rows. */
  node: NodeProto;
  /** The nodes between the head and the logits output, in order (Reshapes of the leading axes are left out). */
  chain: NodeProto[];
}

export interface ModelInfo {
  opset: number;
  inputs: ModelInput[];
  logits: { name: string; type: LogitsType; vocabSize: number | undefined };
  head: LmHead | undefined;
  /** Why the head was not recognized (positions are then gathered from the full logits: correct, slower). */
  headFallback: string | undefined;
  /** External data files the model's initializers refer to (relative to the model file). */
  externalFiles: string[];
}

export const MIN_OPSET = 13;

const ELEM_NAMES: Record<number, string> = {
  [DT.FLOAT]: "float32",
  [DT.FLOAT16]: "float16",
  [DT.BFLOAT16]: "bfloat16",
  [DT.DOUBLE]: "float64",
  [DT.INT64]: "int64",
  [DT.INT32]: "int32",
  [DT.BOOL]: "bool",
};

export function elemName(t: number): string {
  return ELEM_NAMES[t] ?? `type ${t}`;
}

export function decodeModel(bytes: Uint8Array): ModelProto {
  try {
    return fromBinary(ModelProtoSchema, bytes);
  } catch (error) {
    throw new InferenceError(
      "UNSUPPORTED_MODEL",
      `not an ONNX model: ${(error as Error).message}`,
      {},
      { cause: error },
    );
  }
}

function tensorInfo(v: ValueInfoProto): { elemType: number; dims: (number | string | undefined)[] } | undefined {
  if (v.type?.value.case !== "tensorType") {
    return undefined;
  }
  const t = v.type.value.value;
  const dims = (t.shape?.dim ?? []).map((d) =>
    d.value.case === "dimValue" ? Number(d.value.value) : d.value.case === "dimParam" ? d.value.value : undefined,
  );
  return { elemType: t.elemType, dims };
}

function roleOf(name: string): InputRole | undefined {
  if (name === "input_ids") {
    return "input_ids";
  }
  if (name === "attention_mask") {
    return "attention_mask";
  }
  if (name === "position_ids") {
    return "position_ids";
  }
  if (name === "use_cache_branch") {
    return "use_cache_branch";
  }
  if (name === "token_type_ids") {
    return "token_type_ids";
  }
  if (name.startsWith("past_key_values") || name.startsWith("past.") || name.startsWith("past_")) {
    return "past_key_values";
  }
  return undefined;
}

/** Producer of each value in a graph. */
function producers(graph: GraphProto): Map<string, NodeProto> {
  const map = new Map<string, NodeProto>();
  for (const n of graph.node) {
    for (const o of n.output) {
      map.set(o, n);
    }
  }
  return map;
}

/** Values that do not depend on any graph input: initializers and what nodes compute from them alone. */
function constantValues(graph: GraphProto): Set<string> {
  const constant = new Set(graph.initializer.map((t) => t.name));
  for (const n of graph.node) {
    if (n.attribute.some((a) => a.type === AT.GRAPH || a.type === AT.GRAPHS)) {
      continue;
    }
    if ((n.opType === "Constant" && n.domain === "") || n.input.every((i) => i === "" || constant.has(i))) {
      for (const o of n.output) {
        constant.add(o);
      }
    }
  }
  return constant;
}

/** The static shape of a constant value (an initializer or a Constant node's tensor), if known. */
function constantDims(graph: GraphProto, prod: Map<string, NodeProto>, name: string): number[] | undefined {
  const init = graph.initializer.find((t) => t.name === name);
  if (init !== undefined) {
    return init.dims.map(Number);
  }
  const n = prod.get(name);
  const t = n?.opType === "Constant" ? n.attribute.find((a) => a.name === "value")?.t : undefined;
  return t?.dims.map(Number);
}

/** Int64 values of a constant initializer (for Reshape targets). */
function constantInts(graph: GraphProto, name: string): number[] | undefined {
  const init = graph.initializer.find((t) => t.name === name);
  if (init === undefined || init.dataType !== DT.INT64) {
    return undefined;
  }
  if (init.int64Data.length > 0) {
    return init.int64Data.map(Number);
  }
  const raw = init.rawData;
  if (raw.length === 0) {
    return undefined;
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return Array.from({ length: raw.length / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
}

const ELEMENTWISE_UNARY = new Set(["Cast", "Identity", "Tanh"]);
const ELEMENTWISE_BINARY = new Set(["Add", "Sub", "Mul", "Div"]);

/**
 * Walks back from the logits through row-wise nodes to the LM head. Returns the head, or why there is none that
 * can be moved behind a gather.
 */
function findHead(graph: GraphProto, logits: string, vocab: number | undefined): LmHead | string {
  const prod = producers(graph);
  const constant = constantValues(graph);
  const chain: NodeProto[] = [];
  let value = logits;
  let node = prod.get(value);
  for (;;) {
    if (node === undefined) {
      return "the logits are a graph input or initializer";
    }
    const op = node.domain === "" || node.domain === "ai.onnx" ? node.opType : `${node.domain}.${node.opType}`;
    if (ELEMENTWISE_UNARY.has(op) && node.input.length === 1) {
      chain.unshift(node);
    } else if (ELEMENTWISE_BINARY.has(op) && node.input.length === 2) {
      // The running value first, a constant scalar or [vocab] vector second (a bias, a softcap's cap).
      const other = node.input[1] as string;
      const dims = constant.has(other) ? constantDims(graph, prod, other) : undefined;
      const size = dims?.reduce((a, d) => a * d, 1);
      const rowWise =
        dims !== undefined && (size === 1 || (vocab !== undefined && size === vocab && dims.at(-1) === vocab));
      if (!rowWise || constant.has(node.input[0] as string)) {
        return `the logits come from ${op} with an operand that is not a constant scalar or [vocab] vector`;
      }
      chain.unshift(node);
    } else if (op === "Reshape") {
      const shapeName = node.input[1] ?? "";
      const concat = prod.get(shapeName);
      // A constant target, or Concat(Shape(...), [V]) as exporters build it.
      const target =
        constantInts(graph, shapeName) ??
        (concat?.opType === "Concat" ? constantInts(graph, concat.input[concat.input.length - 1] ?? "") : undefined);
      if (target === undefined || vocab === undefined || target.at(-1) !== vocab) {
        return "the logits come from a Reshape that may change the vocabulary axis";
      }
      // Leading axes only: [B*T, V] <-> [B, T, V] in row-major order; the gathered rows are [C, V] either way.
    } else {
      break;
    }
    value = node.input[0] as string;
    node = prod.get(value);
  }
  const op = node.domain === "" || node.domain === "ai.onnx" ? node.opType : `${node.domain}.${node.opType}`;
  const [hidden, ...rest] = node.input;
  if (hidden === undefined) {
    return `the logits come from ${op} with no input`;
  }
  const params = rest.filter((r) => r !== "");
  if (params.some((r) => !constant.has(r))) {
    return `the logits come from ${op} whose weights are computed from the inputs`;
  }
  if (op === "MatMul") {
    const dims = constantDims(graph, prod, rest[0] ?? "");
    // A weight of unknown shape (Transpose of the embedding) is checked by ORT: MatMul over [.., H] x [H, V].
    if (dims !== undefined && dims.length !== 2) {
      return `the logits come from a MatMul with a ${dims.length}-D weight`;
    }
    return { hidden, kind: "MatMul", node, chain };
  }
  if (op === "Gemm") {
    const transA = node.attribute.find((a) => a.name === "transA");
    if (transA !== undefined && transA.i !== 0n) {
      return "the logits come from a Gemm with transA=1";
    }
    return { hidden, kind: "Gemm", node, chain };
  }
  if (op === "com.microsoft.MatMulNBits") {
    return { hidden, kind: "MatMulNBits", node, chain };
  }
  if (op === "If" || op === "Loop" || op === "Scan") {
    return `the logits come from an ${op} node (a merged decoder's branches); the head inside is not moved`;
  }
  return `the logits come from ${op}, not a MatMul, Gemm or MatMulNBits head`;
}

/** Inspect a decoded model: its inputs and what we will feed them, the logits output, the LM head. */
export function inspectModel(model: ModelProto, vocabHint?: number): ModelInfo {
  const graph = model.graph;
  if (graph === undefined) {
    throw new InferenceError("UNSUPPORTED_MODEL", "the ONNX model has no graph");
  }
  const opsetEntry = model.opsetImport.find((o) => o.domain === "" || o.domain === "ai.onnx");
  const opset = opsetEntry === undefined ? 0 : Number(opsetEntry.version);
  if (opset < MIN_OPSET) {
    throw new InferenceError(
      "UNSUPPORTED_MODEL",
      `the model uses ONNX opset ${opset}; post-processing needs opset ${MIN_OPSET} or newer`,
      { hint: "re-export the model with opset >= 13 (optimum and torch.onnx.export default to 14 or newer)" },
    );
  }
  const initNames = new Set(graph.initializer.map((t) => t.name));
  const inputs: ModelInput[] = [];
  for (const v of graph.input) {
    if (initNames.has(v.name)) {
      continue; // an initializer listed as input (IR < 4 style) has a default
    }
    const role = roleOf(v.name);
    const info = tensorInfo(v);
    if (role === undefined || info === undefined) {
      throw new InferenceError(
        "UNSUPPORTED_MODEL",
        `model input "${v.name}" is not one we know how to feed (input_ids, attention_mask, position_ids, past_key_values.*, use_cache_branch, token_type_ids)`,
      );
    }
    inputs.push({ name: v.name, role, elemType: info.elemType, dims: info.dims });
  }
  const ids = inputs.find((i) => i.role === "input_ids");
  if (ids === undefined) {
    throw new InferenceError("UNSUPPORTED_MODEL", "the model has no input_ids input");
  }
  if (ids.elemType !== DT.INT64 && ids.elemType !== DT.INT32) {
    throw new InferenceError("UNSUPPORTED_MODEL", `input_ids is ${elemName(ids.elemType)}, expected int64 or int32`);
  }
  const out = graph.output.find((o) => o.name === "logits") ?? graph.output[0];
  const outInfo = out === undefined ? undefined : tensorInfo(out);
  if (out === undefined || outInfo === undefined) {
    throw new InferenceError("UNSUPPORTED_MODEL", "the model has no logits output");
  }
  const type: LogitsType | undefined =
    outInfo.elemType === DT.FLOAT
      ? "float32"
      : outInfo.elemType === DT.FLOAT16
        ? "float16"
        : outInfo.elemType === DT.BFLOAT16
          ? "bfloat16"
          : undefined;
  if (type === undefined) {
    throw new InferenceError(
      "UNSUPPORTED_MODEL",
      `logits output "${out.name}" is ${elemName(outInfo.elemType)}; expected float32, float16 or bfloat16`,
    );
  }
  const last = outInfo.dims[outInfo.dims.length - 1];
  const vocabSize = typeof last === "number" ? last : vocabHint;
  const externalFiles = new Set<string>();
  forEachGraph(graph, (g) => {
    for (const t of g.initializer) {
      if (t.dataLocation === TensorProto_DataLocation.EXTERNAL) {
        const loc = t.externalData.find((e) => e.key === "location");
        if (loc !== undefined) {
          externalFiles.add(loc.value);
        }
      }
    }
  });
  const head = findHead(graph, out.name, vocabSize);
  return {
    opset,
    inputs,
    logits: { name: out.name, type, vocabSize },
    head: typeof head === "string" ? undefined : head,
    headFallback: typeof head === "string" ? head : undefined,
    externalFiles: [...externalFiles],
  };
}

/** Calls `fn` on the graph and every subgraph (If/Loop/Scan bodies), depth first. */
export function forEachGraph(graph: GraphProto, fn: (g: GraphProto) => void): void {
  fn(graph);
  for (const n of graph.node) {
    for (const a of n.attribute) {
      if (a.type === AT.GRAPH && a.g !== undefined) {
        forEachGraph(a.g, fn);
      }
      if (a.type === AT.GRAPHS) {
        for (const g of a.graphs) {
          forEachGraph(g, fn);
        }
      }
    }
  }
}

/** Every value name a node reads, including the outer-scope names its subgraphs read. */
export function nodeReads(node: NodeProto): string[] {
  const reads = node.input.filter((s) => s !== "");
  for (const a of node.attribute) {
    const graphs = a.type === AT.GRAPH && a.g !== undefined ? [a.g] : a.type === AT.GRAPHS ? a.graphs : [];
    for (const g of graphs) {
      forEachGraph(g, (sub) => {
        for (const n of sub.node) {
          for (const i of n.input) {
            if (i !== "") {
              reads.push(i);
            }
          }
        }
        for (const o of sub.output) {
          reads.push(o.name);
        }
      });
    }
  }
  return reads;
}

/**
 * Removes the nodes of `graph` that no graph output needs (dead code after the outputs were replaced), so that
 * e.g. the full-vocabulary LM head over every position is not computed. Subgraph reads count as uses.
 */
export function removeDeadNodes(graph: GraphProto): void {
  const needed = new Set(graph.output.map((o) => o.name));
  const keep = new Array<boolean>(graph.node.length).fill(false);
  for (let i = graph.node.length - 1; i >= 0; i--) {
    const n = graph.node[i] as NodeProto;
    if (n.output.some((o) => needed.has(o))) {
      keep[i] = true;
      for (const r of nodeReads(n)) {
        needed.add(r);
      }
    }
  }
  // Nodes are topologically sorted in a valid model, so one backward pass suffices.
  graph.node = graph.node.filter((_, i) => keep[i]);
  const live = new Set<string>(needed);
  for (const n of graph.node) {
    for (const o of n.output) {
      live.add(o);
    }
  }
  graph.valueInfo = graph.valueInfo.filter((v) => live.has(v.name));
}
