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

/** The LM head as found in the graph: `MatMul(hidden, weight)` followed by casts/identities up to the logits. */
export interface LmHead {
  hidden: string;
  weight: string;
  /** The nodes between the MatMul and the logits output (Cast, Identity), in order. */
  chain: NodeProto[];
}

export interface ModelInfo {
  opset: number;
  inputs: ModelInput[];
  logits: { name: string; type: LogitsType; vocabSize: number | undefined };
  head: LmHead | undefined;
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

/** Walks back from the logits through Cast/Identity nodes to a MatMul: the LM head, if the graph has that shape. */
function findHead(graph: GraphProto, logits: string): LmHead | undefined {
  const prod = producers(graph);
  const chain: NodeProto[] = [];
  let node = prod.get(logits);
  while (node !== undefined && (node.opType === "Cast" || node.opType === "Identity") && node.domain === "") {
    chain.unshift(node);
    const src = node.input[0];
    node = src === undefined ? undefined : prod.get(src);
  }
  if (node === undefined || node.opType !== "MatMul" || node.domain !== "" || node.input.length !== 2) {
    return undefined;
  }
  const [hidden, weight] = node.input as [string, string];
  // The weight must be 2-D [hidden, vocab] for the gathered rows to keep the logits' meaning.
  const init = graph.initializer.find((t) => t.name === weight);
  if (init !== undefined && init.dims.length !== 2) {
    return undefined;
  }
  return { hidden, weight, chain };
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
  return {
    opset,
    inputs,
    logits: { name: out.name, type, vocabSize },
    head: findHead(graph, out.name),
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
