import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InferenceError, loadTeacher, PROVIDER_HINTS, runBatch, type Teacher } from "../src/index.js";
import { providerMissing } from "../src/runtime.js";
import { example, tinyModel } from "./helpers.js";

async function failure(p: Promise<unknown>): Promise<InferenceError> {
  try {
    await p;
  } catch (error) {
    expect(error).toBeInstanceOf(InferenceError);
    return error as InferenceError;
  }
  throw new Error("expected a failure");
}

describe("execution providers", () => {
  for (const provider of ["cuda", "webgpu"] as const) {
    it(`--device ${provider}: works where it is installed, else a typed error with the install hint`, async () => {
      const modelDir = await tinyModel("decoder");
      const missing = providerMissing(provider);
      if (missing === undefined) {
        // a machine with the provider: it must load (or report why the device failed, still typed)
        try {
          const t = await loadTeacher({ modelDir, device: provider });
          expect(t.provider).toBe(provider);
          await t.close();
        } catch (error) {
          expect((error as InferenceError).code).toBe("PROVIDER_UNAVAILABLE");
        }
        return;
      }
      const e = await failure(loadTeacher({ modelDir, device: provider }));
      expect(e.code).toBe("PROVIDER_UNAVAILABLE");
      expect(e.provider).toBe(provider);
      expect(e.hint).toBe(PROVIDER_HINTS[provider]);
      expect(e.message).toContain(missing);
      expect(e.message).toContain(provider === "cuda" ? "ONNXRUNTIME_NODE_INSTALL=cuda12" : "Vulkan");
    });
  }

  it("--device auto falls back (CUDA, WebGPU, CPU) and says which provider it got and why the others failed", async () => {
    const t = await loadTeacher({ modelDir: await tinyModel("decoder"), device: "auto", threads: 2 });
    try {
      const expected = providerMissing("cuda") === undefined ? undefined : "cpu";
      if (expected === "cpu" && providerMissing("webgpu") !== undefined) {
        expect(t.provider).toBe("cpu");
        expect(t.providerFailures.map((f) => f.provider)).toEqual(["cuda", "webgpu"]);
        expect(t.precision).toBe("float64");
      } else {
        expect(["cuda", "webgpu", "cpu"]).toContain(t.provider);
      }
      const [r] = await runBatch(t, [example(1, 12, 2)]);
      expect(r?.positions.length).toBe(10);
    } finally {
      await t.close();
    }
  });
});

describe("errors", () => {
  let teacher: Teacher;
  let empty: string;
  beforeAll(async () => {
    teacher = await loadTeacher({ modelDir: await tinyModel("decoder"), device: "cpu", threads: 2 });
    empty = await mkdtemp(join(tmpdir(), "logitpack-empty-"));
  });
  afterAll(async () => {
    await teacher.close();
    await rm(empty, { recursive: true, force: true });
  });

  it("a folder without a model: MODEL_NOT_FOUND", async () => {
    expect((await failure(loadTeacher({ modelDir: empty }))).code).toBe("MODEL_NOT_FOUND");
  });

  it("bad batches: INVALID_BATCH naming the example", async () => {
    const bad = { index: 77, inputIds: Int32Array.of(1, 2, 151_936), extractMask: Uint8Array.of(0, 1, 1) };
    const e = await failure(runBatch(teacher, [bad]));
    expect(e.code).toBe("INVALID_BATCH");
    expect(e.example).toBe(77);
    const mismatch = { index: 78, inputIds: Int32Array.of(1, 2, 3), extractMask: Uint8Array.of(0, 1) };
    expect((await failure(runBatch(teacher, [mismatch]))).code).toBe("INVALID_BATCH");
  });

  it("bad options: RangeError / TypeError", async () => {
    const ex = [example(1, 5)];
    await expect(runBatch(teacher, ex, { topP: 0 })).rejects.toBeInstanceOf(RangeError);
    await expect(runBatch(teacher, ex, { topP: 1.5 })).rejects.toBeInstanceOf(RangeError);
    await expect(runBatch(teacher, ex, { topPMax: 256 })).rejects.toBeInstanceOf(RangeError);
    await expect(runBatch(teacher, ex, { sampledN: 0 })).rejects.toBeInstanceOf(RangeError);
    await expect(runBatch(teacher, ex, { rounds: 0, mode: "importance" })).rejects.toBeInstanceOf(RangeError);
    await expect(runBatch(teacher, ex, { temperature: 0, mode: "importance" })).rejects.toBeInstanceOf(RangeError);
    await expect(runBatch(teacher, ex, { seed: -1 })).rejects.toBeInstanceOf(RangeError);
    await expect(runBatch(teacher, ex, { mode: "greedy" as never })).rejects.toBeInstanceOf(TypeError);
  });

  it("a closed teacher: CLOSED", async () => {
    const t = await loadTeacher({ modelDir: await tinyModel("decoder"), device: "cpu", threads: 1 });
    await t.close();
    expect((await failure(runBatch(t, [example(1, 5)]))).code).toBe("CLOSED");
  });
});
