import { create } from "@bufbuild/protobuf";
import {
  AttributeProto_AttributeType as AT,
  type AttributeProto,
  AttributeProtoSchema,
  TensorProto_DataType as DT,
  type GraphProto,
  GraphProtoSchema,
  type NodeProto,
  NodeProtoSchema,
  type TensorProto,
  TensorProtoSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from "onnx-buf";

export { DT };

/** Attribute values: integral numbers are INT, `{ float }` FLOAT, arrays INTS, `{ graph }` GRAPH. */
export type AttrValue = number | bigint | string | number[] | { float: number } | { graph: GraphProto };

export function attribute(name: string, v: AttrValue): AttributeProto {
  if (typeof v === "bigint") {
    return create(AttributeProtoSchema, { name, type: AT.INT, i: v });
  }
  if (typeof v === "number") {
    return create(AttributeProtoSchema, { name, type: AT.INT, i: BigInt(v) });
  }
  if (typeof v === "string") {
    return create(AttributeProtoSchema, { name, type: AT.STRING, s: new TextEncoder().encode(v) });
  }
  if (Array.isArray(v)) {
    return create(AttributeProtoSchema, { name, type: AT.INTS, ints: v.map(BigInt) });
  }
  if ("float" in v) {
    return create(AttributeProtoSchema, { name, type: AT.FLOAT, f: v.float });
  }
  return create(AttributeProtoSchema, { name, type: AT.GRAPH, g: v.graph });
}

type Typed = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/** A tensor with inline `raw_data` (little-endian: the platform's order, as on every platform ORT ships for). */
export function tensor(name: string, dataType: DT, dims: readonly number[], data: Typed): TensorProto {
  const raw = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  return create(TensorProtoSchema, { name, dataType, dims: dims.map(BigInt), rawData: raw });
}

/** A tensor value-info; `dims` undefined leaves the shape unknown (rank too). */
export function valueInfo(name: string, elemType: DT, dims?: readonly (number | string)[]): ValueInfoProto {
  const shape =
    dims === undefined
      ? undefined
      : {
          dim: dims.map((d) => ({
            value:
              typeof d === "string"
                ? { case: "dimParam" as const, value: d }
                : { case: "dimValue" as const, value: BigInt(d) },
          })),
        };
  return create(ValueInfoProtoSchema, {
    name,
    type: { value: { case: "tensorType", value: shape === undefined ? { elemType } : { elemType, shape } } },
  });
}

/**
 * Appends nodes to a (sub)graph with unique names under `prefix`, and writes the opset-dependent forms of the
 * ops it uses (axes as an attribute or an input) for the model's opset.
 */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  /** Constants, shared with subgraph builders: they belong in the main graph, where subgraphs can read them. */
  readonly initializers: TensorProto[];
  readonly opset: number;
  readonly #prefix: string;
  readonly #counter: { n: number };

  constructor(opset: number, prefix: string, shared?: { counter: { n: number }; initializers: TensorProto[] }) {
    this.opset = opset;
    this.#prefix = prefix;
    this.#counter = shared?.counter ?? { n: 0 };
    this.initializers = shared?.initializers ?? [];
  }

  /** A builder for a subgraph (Loop body): own nodes, shared names and constants. */
  sub(): GraphBuilder {
    return new GraphBuilder(this.opset, this.#prefix, { counter: this.#counter, initializers: this.initializers });
  }

  fresh(hint: string): string {
    this.#counter.n++;
    return `${this.#prefix}${hint}_${this.#counter.n}`;
  }

  /** One node with a single output; returns the output's name. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, hint = opType): string {
    const out = this.fresh(hint);
    this.node(opType, inputs, [out], attrs);
    return out;
  }

  /** One node with several outputs; returns their names. */
  opN(opType: string, inputs: readonly string[], n: number, attrs: Record<string, AttrValue> = {}): string[] {
    const outs = Array.from({ length: n }, (_, i) => this.fresh(`${opType}${i}`));
    this.node(opType, inputs, outs, attrs);
    return outs;
  }

  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
  ): void {
    this.#counter.n++;
    this.nodes.push(
      create(NodeProtoSchema, {
        opType,
        input: [...inputs],
        output: [...outputs],
        name: `${this.#prefix}${opType}_${this.#counter.n}`,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
  }

  /** A constant initializer (in the shared list, for the main graph). */
  constant(hint: string, dataType: DT, dims: readonly number[], data: Typed): string {
    const name = this.fresh(hint);
    this.initializers.push(tensor(name, dataType, dims, data));
    return name;
  }

  i64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant("i64", DT.INT64, dims, BigInt64Array.from(values.map(BigInt)));
  }

  i32(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant("i32", DT.INT32, dims, Int32Array.from(values));
  }

  f32(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant("f32", DT.FLOAT, dims, Float32Array.from(values));
  }

  f64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant("f64", DT.DOUBLE, dims, Float64Array.from(values));
  }

  cast(x: string, to: DT): string {
    return this.op("Cast", [x], { to }, "cast");
  }

  /**
   * ReduceMax / ReduceSum / ReduceLogSumExp over `axes`. `axes` is an input from opset 13 for ReduceSum and from
   * opset 18 for the others, an attribute before.
   */
  reduce(opType: "ReduceMax" | "ReduceSum" | "ReduceLogSumExp", x: string, axes: number[], keepdims: boolean): string {
    const asInput = opType === "ReduceSum" ? this.opset >= 13 : this.opset >= 18;
    const k = keepdims ? 1 : 0;
    return asInput
      ? this.op(opType, [x, this.i64(axes)], { keepdims: k }, opType)
      : this.op(opType, [x], { axes, keepdims: k }, opType);
  }

  unsqueeze(x: string, axes: number[]): string {
    return this.opset >= 13 ? this.op("Unsqueeze", [x, this.i64(axes)]) : this.op("Unsqueeze", [x], { axes });
  }

  squeeze(x: string, axes: number[]): string {
    return this.opset >= 13 ? this.op("Squeeze", [x, this.i64(axes)]) : this.op("Squeeze", [x], { axes });
  }

  /** TopK along the last axis, largest first, sorted; `k` is the name of an int64 [1] tensor. */
  topk(x: string, k: string): [values: string, indices: string] {
    const [v, i] = this.opN("TopK", [x, k], 2, { axis: -1, largest: 1, sorted: 1 });
    return [v as string, i as string];
  }

  /** A graph of this builder's nodes (no initializers: subgraphs read the main graph's). */
  graph(name: string, inputs: ValueInfoProto[], outputs: ValueInfoProto[]): GraphProto {
    return create(GraphProtoSchema, { name, node: this.nodes, input: inputs, output: outputs });
  }
}
