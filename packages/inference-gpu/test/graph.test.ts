import { readFile } from "node:fs/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import { TensorProto_DataType as DT, GraphProtoSchema, ModelProtoSchema } from "onnx-buf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ExampleResult,
  type InferenceError,
  loadTeacher,
  type NucleusResult,
  runBatch,
  type Teacher,
} from "../src/index.js";
import { GraphBuilder, valueInfo } from "../src/onnx/builder.js";
import { decodeModel, inspectModel } from "../src/onnx/model.js";
import { appendPostprocess, outputNames } from "../src/onnx/postprocess.js";
import { example, reference, tinyModel, V } from "./helpers.js";

const opts = { mode: "nucleus", precision: "float64", vocabSize: V, topkChunk: 0 } as const;

describe("graph surgery", () => {
  it("replaces the outputs, removes the full-vocabulary head and the unused cache outputs, keeps unknown fields", async () => {
    const bytes = await readFile(`${await tinyModel("decoder")}/model.onnx`);
    // an unknown top-level field (number 99, varint 1) must survive decode -> append -> encode
    const withUnknown = new Uint8Array(bytes.length + 3);
    withUnknown.set(bytes);
    withUnknown.set([0x98, 0x06, 0x01], bytes.length);
    const model = decodeModel(withUnknown);
    const info = inspectModel(model);
    expect(info.head).toBeDefined();
    expect(info.head?.chain.map((n) => n.opType)).toEqual(["Cast"]);
    expect(info.inputs.map((i) => i.role)).toEqual([
      "input_ids",
      "attention_mask",
      "position_ids",
      "past_key_values",
      "past_key_values",
    ]);
    appendPostprocess(model, info, opts);
    const g = model.graph;
    expect(g?.output.map((o) => o.name)).toEqual(outputNames("nucleus"));
    const produced = new Set(g?.node.flatMap((n) => n.output));
    expect(produced.has("logits")).toBe(false); // the [B, T, V] head is gone
    expect(produced.has("logits_f")).toBe(false);
    expect(produced.has("present.0.key")).toBe(false);
    expect(g?.node.filter((n) => n.opType === "Loop").length).toBe(1);
    // opset 14: Squeeze/Unsqueeze/ReduceSum take axes as inputs, ReduceMax/ReduceLogSumExp as attributes
    const body = g?.node.find((n) => n.opType === "Loop")?.attribute[0]?.g;
    const rlse = body?.node.find((n) => n.opType === "ReduceLogSumExp");
    expect(rlse?.attribute.some((a) => a.name === "axes")).toBe(true);
    const out = toBinary(ModelProtoSchema, model);
    expect(Array.from(out.subarray(out.length - 3))).toEqual([0x98, 0x06, 0x01]);
    expect(model.opsetImport[0]?.version).toBe(14n); // the model's opset is kept
  });

  it("uses the axes-as-input forms at opset 18 (plain export)", async () => {
    const model = decodeModel(await readFile(`${await tinyModel("plain")}/model.onnx`));
    const info = inspectModel(model);
    expect(info.externalFiles).toEqual(["model.onnx_data"]);
    appendPostprocess(model, info, opts);
    const body = model.graph?.node.find((n) => n.opType === "Loop")?.attribute[0]?.g;
    const rlse = body?.node.find((n) => n.opType === "ReduceLogSumExp");
    expect(rlse?.input.length).toBe(2);
  });

  it("refuses opsets below 13 and models without logits or with unknown inputs", () => {
    const build = (opset: number, input: string, outType: DT) => {
      const b = new GraphBuilder(opset, "t/");
      const e = b.f32([0, 1, 2, 3], [2, 2]);
      b.node("Gather", [e, input], ["logits"]);
      return create(ModelProtoSchema, {
        irVersion: 8n,
        opsetImport: [{ domain: "", version: BigInt(opset) }],
        graph: create(GraphProtoSchema, {
          name: "t",
          node: b.nodes,
          initializer: b.initializers,
          input: [valueInfo(input, DT.INT64, ["b", "t"])],
          output: [valueInfo("logits", outType, ["b", "t", 2])],
        }),
      });
    };
    const codeOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as InferenceError).code;
      }
      return "none";
    };
    expect(codeOf(() => inspectModel(build(11, "input_ids", DT.FLOAT)))).toBe("UNSUPPORTED_MODEL");
    expect(codeOf(() => inspectModel(build(13, "pixel_values", DT.FLOAT)))).toBe("UNSUPPORTED_MODEL");
    expect(codeOf(() => inspectModel(build(13, "input_ids", DT.INT32)))).toBe("UNSUPPORTED_MODEL");
    expect(codeOf(() => inspectModel(build(13, "input_ids", DT.FLOAT)))).toBe("none");
    // no LM head MatMul here: the post-processing gathers from the logits instead
    expect(inspectModel(build(13, "input_ids", DT.FLOAT)).head).toBeUndefined();
    expect(codeOf(() => decodeModel(Uint8Array.of(0xff, 0xff, 0xff)))).toBe("UNSUPPORTED_MODEL");
  });
});

describe("graph variants on CPU", () => {
  let base: Teacher;
  let chunked: Teacher;
  let f32: Teacher;
  beforeAll(async () => {
    const modelDir = await tinyModel("decoder");
    base = await loadTeacher({ modelDir, device: "cpu", threads: 2 });
    chunked = await loadTeacher({ modelDir, device: "cpu", threads: 2, topkChunk: 2048 });
    f32 = await loadTeacher({ modelDir, device: "cpu", threads: 2, precision: "float32", topkChunk: 2048 });
  });
  afterAll(async () => {
    await base.close();
    await chunked.close();
    await f32.close();
  });

  const batch = [example(1, 40, 5), example(2, 60, 20)];
  const strip = (r: ExampleResult) =>
    JSON.stringify(r, (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as Int32Array) : v));

  it("chunked TopK (the WebGPU form) gives identical results", async () => {
    const a = await runBatch(base, batch, { seed: 9 });
    const b = await runBatch(chunked, batch, { seed: 9 });
    expect(b.map(strip)).toEqual(a.map(strip));
    expect(chunked.topkChunk).toBe(2048);
  });

  it("float32 (the WebGPU form): logsumexp to 1e-6, nucleus equal but at the top_p boundary, tail outside its nucleus", async () => {
    const res = (await runBatch(f32, batch, { seed: 9, exposeLogits: true })) as NucleusResult[];
    expect(f32.precision).toBe("float32");
    let boundary = 0;
    let n = 0;
    for (const r of res) {
      let at = 0;
      for (let i = 0; i < r.positions.length; i++) {
        const row = (r.logits as Float32Array).subarray(i * V, (i + 1) * V);
        const ref = reference(row, { seed: 9, index: r.index, position: r.positions[i] as number });
        expect(Math.abs((r.logsumexp[i] as number) - ref.lse)).toBeLessThanOrEqual(1e-6 * Math.abs(ref.lse));
        const c = r.topCounts[i] as number;
        if (c !== ref.count) {
          // only where the mass before the boundary token is within float32 rounding of top_p
          let before = 0;
          for (let t = 0; t < Math.min(c, ref.count); t++) {
            before += Math.exp((ref.out.topLogits[t] as number) - ref.lse);
          }
          expect(Math.abs(before - 0.98)).toBeLessThan(1e-5);
          expect(Math.abs(c - ref.count)).toBe(1);
          boundary++;
        }
        expect(Array.from(r.topIds.subarray(at, at + c))).toEqual(Array.from(ref.out.topIds.subarray(0, c)));
        const nucleus = new Set(r.topIds.subarray(at, at + c));
        expect(Array.from(r.sampledIds.subarray(i * 24, (i + 1) * 24)).some((id) => nucleus.has(id))).toBe(false);
        at += c;
        n++;
      }
    }
    expect(n).toBe(35 + 40);
    expect(boundary).toBeLessThanOrEqual(2);
  });
});
