import { create } from "@bufbuild/protobuf";
import {
  AttributeProto_AttributeType as AT,
  type AttributeProto,
  AttributeProtoSchema,
  TensorProto_DataType as DT,
  type NodeProto,
  NodeProtoSchema,
  type TensorProto,
  TensorProto_DataLocation,
  TensorProtoSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from "onnx-buf";

export { DT };

/** An attribute value: numbers are INT when integral unless `float()` wraps them. */
export type AttrValue = number | bigint | string | number[] | { float: number } | { tensor: TensorProto };

export const float = (f: number): { float: number } => ({ float: f });

function attr(name: string, v: AttrValue): AttributeProto {
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
  return create(AttributeProtoSchema, { name, type: AT.TENSOR, t: v.tensor });
}

type Typed = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint16Array | Uint8Array;

function bytesOf(typed: Typed): Uint8Array<ArrayBuffer> {
  return new Uint8Array(typed.buffer as ArrayBuffer, typed.byteOffset, typed.byteLength);
}

/** A tensor with its data inline (`raw_data`, little-endian as the platform). */
export function tensor(name: string, dataType: DT, dims: number[], data: Typed): TensorProto {
  return create(TensorProtoSchema, { name, dataType, dims: dims.map(BigInt), rawData: bytesOf(data) });
}

/** A tensor whose data lives in an external file at `offset`. */
export function externalTensor(
  name: string,
  dataType: DT,
  dims: number[],
  location: string,
  offset: number,
  length: number,
): TensorProto {
  return create(TensorProtoSchema, {
    name,
    dataType,
    dims: dims.map(BigInt),
    dataLocation: TensorProto_DataLocation.EXTERNAL,
    externalData: [
      { key: "location", value: location },
      { key: "offset", value: String(offset) },
      { key: "length", value: String(length) },
    ],
  });
}

export function node(
  opType: string,
  input: string[],
  output: string[],
  attrs: Record<string, AttrValue> = {},
): NodeProto {
  return create(NodeProtoSchema, {
    opType,
    input,
    output,
    name: `${opType}_${output[0] ?? ""}`, // deterministic: the same graph gives the same bytes
    attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
  });
}

export function valueInfo(name: string, elemType: DT, dims: (number | string)[]): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name,
    type: {
      value: {
        case: "tensorType",
        value: {
          elemType,
          shape: {
            dim: dims.map((d) => ({
              value:
                typeof d === "string"
                  ? { case: "dimParam" as const, value: d }
                  : { case: "dimValue" as const, value: BigInt(d) },
            })),
          },
        },
      },
    },
  });
}

export const i64 = (name: string, values: number[], dims: number[] = [values.length]): TensorProto =>
  tensor(name, DT.INT64, dims, BigInt64Array.from(values.map(BigInt)));
export const f32 = (name: string, values: number[], dims: number[] = [values.length]): TensorProto =>
  tensor(name, DT.FLOAT, dims, Float32Array.from(values));
