// GPU tests: run with `pnpm --filter @logitpack/inference-gpu test:gpu` on a machine with CUDA (onnxruntime-node
// installed with its CUDA step) or a WebGPU adapter. LOGITPACK_GPU_DEVICE picks the provider (default: auto, which
// must not end on the CPU here). The same oracle as test/oracle.test.ts, on the GPU's results.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Device, loadTeacher, type NucleusResult, runBatch, type Teacher } from "../src/index.js";
import { example, reference, tinyModel, V } from "./helpers.js";

const device = (process.env["LOGITPACK_GPU_DEVICE"] ?? "auto") as Device;

describe(`GPU provider (${device})`, () => {
  let teacher: Teacher;
  beforeAll(async () => {
    teacher = await loadTeacher({ modelDir: await tinyModel("decoder"), device });
  });
  afterAll(() => teacher.close());

  it("runs on a GPU provider", () => {
    expect(teacher.provider).not.toBe("cpu");
  });

  it("matches the TypeScript reference (exactly in float64 on CUDA; to float32 precision on WebGPU)", async () => {
    const batch = [example(5, 300, 10), example(17, 200, 3)];
    const res = (await runBatch(teacher, batch, { seed: 11, exposeLogits: true })) as NucleusResult[];
    const tol = teacher.precision === "float64" ? 1e-12 : 1e-6;
    let mismatched = 0;
    let n = 0;
    for (const r of res) {
      let at = 0;
      for (let i = 0; i < r.positions.length; i++) {
        const row = (r.logits as Float32Array).subarray(i * V, (i + 1) * V);
        const ref = reference(row, { seed: 11, index: r.index, position: r.positions[i] as number });
        const c = r.topCounts[i] as number;
        expect(Math.abs((r.logsumexp[i] as number) - ref.lse)).toBeLessThanOrEqual(tol * Math.abs(ref.lse));
        expect(Array.from(r.topIds.subarray(at, at + Math.min(c, ref.count)))).toEqual(
          Array.from(ref.out.topIds.subarray(0, Math.min(c, ref.count))),
        );
        const nucleus = new Set(r.topIds.subarray(at, at + c));
        const sampled = Array.from(r.sampledIds.subarray(i * 24, (i + 1) * 24));
        expect(sampled.some((id) => nucleus.has(id))).toBe(false);
        expect(new Set(sampled).size).toBe(24);
        if (c !== ref.count || sampled.join() !== Array.from(ref.out.sampledIds).join()) {
          mismatched++;
        }
        at += c;
        n++;
      }
    }
    // float64: identical; float32: only positions at the top_p boundary may differ
    expect(mismatched).toBeLessThanOrEqual(teacher.precision === "float64" ? 0 : Math.ceil(n * 0.01));
  });
});
