import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { clone, create, toBinary } from "@bufbuild/protobuf";
import { generateTinyGraph, TINY_GRAPH_SHAPES, type TinyGraphShape } from "@logitpack/tiny-model";
import {
  TensorProto_DataType as DT,
  ModelProtoSchema,
  NodeProtoSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from "onnx-buf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTeacher, type NucleusResult, runBatch, type Teacher, type TeacherExample } from "../src/index.js";
import { decodeModel } from "../src/onnx/model.js";
import { LocalRunner, type WireTensor } from "../src/runtime.js";
import { CACHE_DIR, reference, example as sharedExample } from "./helpers.js";

// Real exports' graph shapes (tools/tiny-model shapes.ts): each teacher's extraction against the TypeScript reference
// on the logits of the unmodified graph (run separately, full vocabulary at every position): identical nucleus ids
// and counts, logsumexp within 1e-12 relative of the float64 reference.
const V = 32_000;

const EXPECTED_HEAD: Record<TinyGraphShape, string | RegExp> = {
  "q4-head": "gathered before MatMulNBits",
  fused: "gathered before Gemm",
  gqa: "gathered before Gemm",
  merged: /^full logits: the logits come from an If node/,
  "tied-bf16": "gathered before MatMul",
};

/** An example over this file's vocabulary. */
function example(index: number, len: number, from: number): TeacherExample {
  return sharedExample(index, len, from, index, V);
}

/** The unmodified graph with a float32 copy of the logits as an extra output (ORT's Node API has no bfloat16). */
async function fullLogits(modelPath: string, ex: TeacherExample): Promise<Float32Array> {
  const model = decodeModel(await readFile(modelPath));
  const graph = model.graph as NonNullable<typeof model.graph>;
  graph.node.push(
    create(NodeProtoSchema, {
      opType: "Cast",
      input: ["logits"],
      output: ["logits_f32"],
      name: "to_f32",
      attribute: [{ name: "to", type: 2, i: BigInt(DT.FLOAT) }],
    }),
  );
  const out = clone(ValueInfoProtoSchema, graph.output[0] as ValueInfoProto);
  out.name = "logits_f32";
  if (out.type?.value.case === "tensorType") {
    out.type.value.value.elemType = DT.FLOAT;
  }
  graph.output[0] = out; // replaces the logits output (a bfloat16 output cannot even be declared to ORT's Node API)
  const runner = new LocalRunner();
  try {
    const created = await runner.create("raw", {
      model: toBinary(ModelProtoSchema, model),
      providers: ["cpu"],
      threads: 2,
      externalDataFolder: join(modelPath, ".."),
    });
    const T = ex.inputIds.length;
    const feeds: Record<string, WireTensor> = {
      input_ids: { type: "int64", dims: [1, T], data: BigInt64Array.from(ex.inputIds, BigInt) },
    };
    const names = created.inputNames;
    if (names.includes("attention_mask")) {
      feeds["attention_mask"] = { type: "int64", dims: [1, T], data: new BigInt64Array(T).fill(1n) };
    }
    if (names.includes("position_ids")) {
      feeds["position_ids"] = {
        type: "int64",
        dims: [1, T],
        data: BigInt64Array.from({ length: T }, (_, i) => BigInt(i)),
      };
    }
    if (names.includes("use_cache_branch")) {
      feeds["use_cache_branch"] = { type: "bool", dims: [1], data: new Uint8Array(1) };
      for (const kv of ["key", "value"]) {
        feeds[`past_key_values.0.${kv}`] = { type: "float16", dims: [1, 2, 0, 32], data: new Uint16Array(0) };
      }
    } else if (names.includes("past_key_values.0.key")) {
      for (const kv of ["key", "value"]) {
        feeds[`past_key_values.0.${kv}`] = { type: "float32", dims: [1, 2, 0, 32], data: new Float32Array(0) };
      }
    }
    const res = (await runner.run("raw", feeds, ["logits_f32"]))["logits_f32"] as WireTensor;
    return res.data as Float32Array;
  } finally {
    await runner.close();
  }
}

for (const shape of TINY_GRAPH_SHAPES) {
  describe(`${shape} graph`, () => {
    let teacher: Teacher;
    let modelPath: string;
    beforeAll(async () => {
      const dir = join(CACHE_DIR, `graph-${shape}-${V}`);
      await generateTinyGraph(dir, { shape, vocabSize: V });
      modelPath = join(dir, "model.onnx");
      teacher = await loadTeacher({ modelDir: dir, device: "cpu", threads: 2, chunkPositions: 32 });
    });
    afterAll(() => teacher?.close());

    it("finds the LM head (or says why not)", () => {
      const want = EXPECTED_HEAD[shape];
      if (typeof want === "string") {
        expect(teacher.lmHead).toBe(want);
        expect(teacher.gathersBeforeHead).toBe(true);
      } else {
        expect(teacher.lmHead).toMatch(want);
        expect(teacher.gathersBeforeHead).toBe(false);
      }
      expect(teacher.logitsType).toBe(shape === "merged" ? "float16" : shape === "tied-bf16" ? "bfloat16" : "float32");
    });

    it("matches the reference on the graph's full logits", async () => {
      const seed = 3;
      const exs = [example(1, 40, 5), example(2, 23, 1)];
      let positions = 0;
      const sizes: number[] = [];
      for (const ex of exs) {
        const [r] = (await runBatch(teacher, [ex], { seed })) as [NucleusResult];
        const full = await fullLogits(modelPath, ex);
        let at = 0;
        for (let i = 0; i < r.positions.length; i++) {
          const t = (r.positions[i] as number) - 1;
          const row = full.subarray(t * V, (t + 1) * V);
          const ref = reference(row, { seed, index: ex.index, position: r.positions[i] as number });
          const count = r.topCounts[i] as number;
          const where = `${shape} example ${ex.index} position ${r.positions[i]}`;
          expect(count, where).toBe(ref.count);
          expect(Array.from(r.topIds.subarray(at, at + count)), where).toEqual(
            Array.from(ref.out.topIds.subarray(0, count)),
          );
          expect(Math.abs((r.logsumexp[i] as number) - ref.lse), where).toBeLessThanOrEqual(1e-12 * Math.abs(ref.lse));
          sizes.push(count);
          at += count;
          positions++;
        }
      }
      expect(positions).toBe(35 + 22);
      expect(Math.max(...sizes)).toBeGreaterThan(Math.min(...sizes));
    });

    // Bit-identical except behind MatMulNBits: ORT's int4 kernel accumulates in an order that depends on the number
    // of rows, so logits (and the logsumexp) move by float32 rounding with the batch/chunk (seen: 7e-9 relative).
    it("gives the same results in a padded batch as one example at a time", async () => {
      const tolerance = shape === "q4-head" ? 1e-7 : 1e-12;
      const exs = [example(1, 40, 5), example(2, 23, 1), example(3, 31, 30)];
      const together = (await runBatch(teacher, exs, { seed: 5 })) as NucleusResult[];
      for (const [k, ex] of exs.entries()) {
        const [alone] = (await runBatch(teacher, [ex], { seed: 5 })) as [NucleusResult];
        const r = together[k] as NucleusResult;
        expect(Array.from(r.topCounts)).toEqual(Array.from(alone.topCounts));
        expect(Array.from(r.topIds)).toEqual(Array.from(alone.topIds));
        for (let i = 0; i < r.logsumexp.length; i++) {
          const a = alone.logsumexp[i] as number;
          expect(Math.abs((r.logsumexp[i] as number) - a)).toBeLessThanOrEqual(tolerance * Math.abs(a));
        }
      }
    });
  });
}
