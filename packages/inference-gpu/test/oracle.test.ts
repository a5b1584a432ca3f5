import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTeacher, type NucleusResult, runBatch, type Teacher, type TinyModelShape } from "../src/index.js";
import { LocalRunner, type WireTensor } from "../src/runtime.js";
import { example, reference, tinyModel, V } from "./helpers.js";

// The in-graph post-processing against the plain TypeScript reference on the same float32 logits, for both export
// shapes of the tiny model: identical nucleus (ids, counts, logits), logsumexp within 1e-12, identical tail samples.
for (const shape of ["plain", "decoder"] as TinyModelShape[]) {
  describe(`${shape} export`, () => {
    let teacher: Teacher;
    let modelDir: string;
    beforeAll(async () => {
      modelDir = await tinyModel(shape);
      teacher = await loadTeacher({ modelDir, device: "cpu", threads: 2, chunkPositions: 64 });
    });
    afterAll(() => teacher.close());

    it("reports what it loaded", () => {
      expect(teacher.provider).toBe("cpu");
      expect(teacher.vocabSize).toBe(V);
      expect(teacher.precision).toBe("float64");
      expect(teacher.gathersBeforeHead).toBe(true);
      expect(teacher.logitsType).toBe(shape === "plain" ? "float32" : "float16");
      expect(teacher.opset).toBe(shape === "plain" ? 18 : 14);
    });

    it("matches the TypeScript reference at every position", async () => {
      const batch = [example(5, 70, 10), example(17, 33, 3), example(2, 90, 45)];
      const seed = 11;
      const results = (await runBatch(teacher, batch, { seed, exposeLogits: true })) as NucleusResult[];
      let positions = 0;
      const sizes: number[] = [];
      for (const r of results) {
        const logits = r.logits as Float32Array;
        let at = 0;
        for (let i = 0; i < r.positions.length; i++) {
          const row = logits.subarray(i * V, (i + 1) * V);
          const ref = reference(row, { seed, index: r.index, position: r.positions[i] as number });
          const count = r.topCounts[i] as number;
          expect(count, `example ${r.index} position ${r.positions[i]}`).toBe(ref.count);
          expect(Array.from(r.topIds.subarray(at, at + count))).toEqual(Array.from(ref.out.topIds.subarray(0, count)));
          expect(Array.from(r.topLogits.subarray(at, at + count))).toEqual(
            Array.from(ref.out.topLogits.subarray(0, count)),
          );
          expect(Math.abs((r.logsumexp[i] as number) - ref.lse)).toBeLessThanOrEqual(1e-12 * Math.abs(ref.lse));
          const sampled = Array.from(r.sampledIds.subarray(i * 24, (i + 1) * 24));
          expect(sampled).toEqual(Array.from(ref.out.sampledIds));
          const nucleus = new Set(r.topIds.subarray(at, at + count));
          expect(sampled.some((id) => nucleus.has(id))).toBe(false);
          expect(new Set(sampled).size).toBe(24);
          for (let k = 0; k < 24; k++) {
            expect(r.sampledLogits[i * 24 + k]).toBe(row[sampled[k] as number]);
          }
          // The logsumexp really is the full-vocabulary one: the nucleus mass it implies is what the rule used.
          expect(Math.exp((r.topLogits[at] as number) - (r.logsumexp[i] as number))).toBeLessThanOrEqual(1);
          sizes.push(count);
          at += count;
          positions++;
        }
      }
      expect(positions).toBe(60 + 30 + 45);
      // Heavy head and long tail: nucleus sizes from 1 up to the cap.
      expect(Math.min(...sizes)).toBe(1);
      expect(Math.max(...sizes)).toBe(100);
    });

    it("gathers the same logits the model outputs (LM head applied to the gathered rows only)", async () => {
      const ex = example(8, 48, 1);
      const [r] = (await runBatch(teacher, [ex], { exposeLogits: true })) as [NucleusResult];
      const raw = new LocalRunner();
      try {
        await raw.create("raw", { model: `${modelDir}/model.onnx`, providers: ["cpu"], threads: 2 });
        const T = ex.inputIds.length;
        const feeds: Record<string, WireTensor> = {
          input_ids: { type: "int64", dims: [1, T], data: BigInt64Array.from(ex.inputIds, BigInt) },
        };
        if (shape === "decoder") {
          feeds["attention_mask"] = { type: "int64", dims: [1, T], data: new BigInt64Array(T).fill(1n) };
          feeds["position_ids"] = {
            type: "int64",
            dims: [1, T],
            data: BigInt64Array.from({ length: T }, (_, i) => BigInt(i)),
          };
          for (const kv of ["key", "value"]) {
            feeds[`past_key_values.0.${kv}`] = { type: "float16", dims: [1, 2, 0, 32], data: new Uint16Array(0) };
          }
        }
        const out = await raw.run("raw", feeds, ["logits"]);
        const full = out["logits"] as WireTensor;
        const gathered = r.logits as Float32Array;
        let maxErr = 0;
        for (let i = 0; i < r.positions.length; i++) {
          const t = (r.positions[i] as number) - 1; // the logits of position t predict token t + 1
          for (let j = 0; j < V; j += 7) {
            const a = gathered[i * V + j] as number;
            const b =
              shape === "plain"
                ? ((full.data as Float32Array)[t * V + j] as number)
                : halfToFloat((full.data as Uint16Array)[t * V + j] as number);
            maxErr = Math.max(maxErr, Math.abs(a - b) / Math.max(1, Math.abs(b)));
          }
        }
        // float32: the same MatMul on fewer rows (bit-identical here); float16 logits: identical after rounding
        expect(maxErr).toBeLessThanOrEqual(shape === "plain" ? 1e-6 : 1e-3);
      } finally {
        await raw.close();
      }
    });
  });
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) {
    return s * f * 2 ** -24;
  }
  if (e === 31) {
    return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  }
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
