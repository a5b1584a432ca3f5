import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { TensorProto_DataType as DT, GraphProtoSchema, ModelProtoSchema } from "onnx-buf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ImportanceResult, loadTeacher, type NucleusResult, runBatch, type Teacher } from "../src/index.js";
import { importanceUniforms } from "../src/noise.js";
import { GraphBuilder, valueInfo } from "../src/onnx/builder.js";
import { logsumexpRow, referenceImportanceRow } from "../src/reference.js";

// A model whose logits we choose: input_ids -> Gather(table) -> logits (no LM head MatMul, so the post-processing
// gathers from the logits themselves). Token r's logits row is row r of the table.
const VOCAB = 1000;
const ROWS = 4;

function logitsTable(): Float32Array {
  const t = new Float32Array(ROWS * VOCAB);
  // row 0: p = 1/2, 1/4, 1/8, and 1/8 spread over the other 997 tokens
  const r0 = t.subarray(0, VOCAB);
  r0.fill(Math.log(0.125 / 997));
  r0[10] = Math.log(0.5);
  r0[20] = Math.log(0.25);
  r0[30] = Math.log(0.125);
  // row 1: one token with nearly all the mass (peaked: float32 would give logsumexp == top logit)
  const r1 = t.subarray(VOCAB, 2 * VOCAB);
  r1.fill(-7.6); // tail mass 999 * exp(-27.6) = 1e-9: float32 cannot show it next to 20, float64 can
  r1[5] = 20;
  // row 2: flat (every token equal): the nucleus hits the cap
  t.subarray(2 * VOCAB, 3 * VOCAB).fill(1.5);
  // row 3: smooth random-ish
  for (let j = 0; j < VOCAB; j++) {
    t[3 * VOCAB + j] = 4 * Math.sin(j * 1.7) + 3 * Math.cos(j * 0.37);
  }
  return t;
}

/** Writes the chosen-logits model into `dir`, with float32 or bfloat16 logits. */
async function writeModel(dir: string, logitsType: DT.FLOAT | DT.BFLOAT16): Promise<void> {
  const b = new GraphBuilder(17, "t/");
  const table = b.constant("table", DT.FLOAT, [ROWS, VOCAB], logitsTable());
  if (logitsType === DT.FLOAT) {
    b.node("Gather", [table, "input_ids"], ["logits"], { axis: 0 });
  } else {
    b.node("Cast", [b.op("Gather", [table, "input_ids"], { axis: 0 })], ["logits"], { to: DT.BFLOAT16 });
  }
  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ domain: "", version: 17n }],
    graph: create(GraphProtoSchema, {
      name: "chosen",
      node: b.nodes,
      initializer: b.initializers,
      input: [valueInfo("input_ids", DT.INT64, ["batch", "seq"])],
      output: [valueInfo("logits", logitsType, ["batch", "seq", VOCAB])],
    }),
  });
  await writeFile(join(dir, "model.onnx"), toBinary(ModelProtoSchema, model));
  await writeFile(join(dir, "config.json"), JSON.stringify({ vocab_size: VOCAB, pad_token_id: 0 }));
}

/** float32 -> bfloat16 -> float32, round to nearest even (what ORT's Cast does). */
function bf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  const v = u[0] as number;
  u[0] = ((v + 0x7fff + ((v >>> 16) & 1)) >>> 16) << 16;
  return f[0] as number;
}

describe("nucleus boundary rule and importance draws on chosen logits", () => {
  let dir: string;
  let teacher: Teacher;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "logitpack-boundary-"));
    await writeModel(dir, DT.FLOAT);
    teacher = await loadTeacher({ modelDir: dir, device: "cpu", threads: 2, thread: "caller" });
  });
  afterAll(async () => {
    await teacher.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("bfloat16 logits: cast to float32 after the model's rounding, same rule", async () => {
    const dir16 = await mkdtemp(join(tmpdir(), "logitpack-bf16-"));
    try {
      await writeModel(dir16, DT.BFLOAT16);
      const t16 = await loadTeacher({ modelDir: dir16, device: "cpu", threads: 2, thread: "caller" });
      try {
        expect(t16.logitsType).toBe("bfloat16");
        const r = (await runBatch(t16, [at(3)], { exposeLogits: true, sampledN: 8 }))[0] as NucleusResult;
        const row = logitsTable().subarray(3 * VOCAB, 4 * VOCAB);
        const rounded = Float32Array.from(row, bf16);
        expect(Array.from(r.logits as Float32Array)).toEqual(Array.from(rounded));
        expect(Math.abs((r.logsumexp[0] as number) - logsumexpRow(rounded))).toBeLessThan(1e-12 * 10);
        expect(r.topCounts[0]).toBeGreaterThan(1);
      } finally {
        await t16.close();
      }
    } finally {
      await rm(dir16, { recursive: true, force: true });
    }
  });

  const at = (row: number) => ({ index: 0, inputIds: Int32Array.of(row, 0), extractMask: Uint8Array.of(0, 1) });

  it("the nucleus is the smallest prefix whose mass reaches top_p (at least one token, at most top_p_max)", async () => {
    expect(teacher.gathersBeforeHead).toBe(false);
    const count = async (topP: number, topPMax = 100) =>
      ((await runBatch(teacher, [at(0)], { topP, topPMax, sampledN: 8 }))[0] as NucleusResult).topCounts[0];
    // masses 0.5, 0.75, 0.875 after 1, 2, 3 tokens
    expect(await count(1e-9)).toBe(1); // never empty (the code excerpt's cumsum <= top_p would give 0)
    expect(await count(0.4)).toBe(1);
    expect(await count(0.7)).toBe(2); // {10, 20} reaches 0.7; `cumsum <= 0.7` would keep only 1
    expect(await count(0.76)).toBe(3);
    expect(await count(0.76, 2)).toBe(2); // the cap
    const r = (await runBatch(teacher, [at(0)], { topP: 0.7, sampledN: 8 }))[0] as NucleusResult;
    expect(Array.from(r.topIds)).toEqual([10, 20]);
    // ~0 (the float32 logits' masses add up to 1 only up to rounding), as the float64 reference computes it
    expect(Math.abs((r.logsumexp[0] as number) - logsumexpRow(logitsTable().subarray(0, VOCAB)))).toBeLessThan(1e-12);
    expect(Array.from(r.sampledIds)).not.toContain(10);
  });

  it("keeps a peaked distribution's tail: logsumexp above the top logit in float64", async () => {
    const r = (await runBatch(teacher, [at(1)]))[0] as NucleusResult;
    expect(r.topCounts[0]).toBe(1);
    const tail = 999 * Math.exp(Math.fround(-7.6) - 20);
    expect((r.logsumexp[0] as number) - 20).toBeGreaterThan(0);
    expect(Math.abs((r.logsumexp[0] as number) - (20 + Math.log1p(tail)))).toBeLessThan(1e-12);
    expect(Math.fround(r.logsumexp[0] as number)).toBe(20); // what float32 would have stored
  });

  it("a flat distribution fills the nucleus up to the cap, ties broken by the lower id", async () => {
    const r = (await runBatch(teacher, [at(2)], { topPMax: 100 }))[0] as NucleusResult;
    expect(r.topCounts[0]).toBe(100);
    expect(Array.from(r.topIds)).toEqual(Array.from({ length: 100 }, (_, j) => j));
    expect(Math.abs((r.logsumexp[0] as number) - (1.5 + Math.log(VOCAB)))).toBeLessThan(1e-12);
  });

  it("importance draws equal the reference draws (same uniforms), at several temperatures", async () => {
    const rounds = 64;
    for (const temperature of [1, 0.5, 3]) {
      for (const row of [0, 2, 3]) {
        const r = (
          await runBatch(teacher, [{ ...at(row), index: 7 }], { mode: "importance", rounds, temperature, seed: 5 })
        )[0] as ImportanceResult;
        const logits = logitsTable().subarray(row * VOCAB, (row + 1) * VOCAB);
        const u = new Float64Array(2 * rounds);
        importanceUniforms(5, 7, 1, rounds, u, 0);
        const ids = new Int32Array(rounds);
        const ref = referenceImportanceRow(logits, 1 / temperature, u, 0, rounds, ids, new Float64Array(1024));
        expect(Array.from(r.rawDraws)).toEqual(Array.from(ids));
        expect(Math.abs((r.logsumexp[0] as number) - logsumexpRow(logits))).toBeLessThan(
          1e-12 * Math.max(1, Math.abs(ref.lse)),
        );
        expect(Math.abs((r.logsumexpT[0] as number) - ref.lseT)).toBeLessThan(1e-12 * Math.max(1, Math.abs(ref.lseT)));
        // unique ids ascending, counts add up, logits are the drawn tokens'
        expect(Array.from(r.ids)).toEqual([...new Set(ids)].sort((a, b) => a - b));
        expect(Array.from(r.draws).reduce((s, x) => s + x, 0)).toBe(rounds);
        r.ids.forEach((id, k) => {
          expect(r.logits[k]).toBe(logits[id]);
        });
      }
    }
  });
});
