import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type HubServer, startHubServer } from "@logitpack/hub-server";
import { downloadModel } from "@logitpack/hub-stream";
import { COMMUNITY_DTYPES, type CommunityDtype, tinyCommunityRepo } from "@logitpack/tiny-model";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InferenceError, loadTeacher, type NucleusResult, runBatch } from "../src/index.js";

// An onnx-community-shaped repo of the tiny teacher in every dtype variant, served by the local Hub server: each
// variant downloads (its own files only) into the HF cache (snapshot symlinks to blobs, external data resolved
// through them), loads with the LM head found as for its graph shape (see shapes.test.ts for the reference checks)
// and extracts.
const V = 4096;
const HEAD: Record<CommunityDtype, string | RegExp> = {
  fp32: "gathered before Gemm",
  fp16: /^full logits: the logits come from an If node/,
  q4: "gathered before MatMulNBits",
  q4f16: "gathered before MatMulNBits",
  int8: "gathered before MatMul",
  uint8: "gathered before MatMul",
  bnb4: "gathered before MatMulNBits",
  quantized: "gathered before Gemm",
};

describe("onnx-community-shaped repo through the local Hub", () => {
  let hub: HubServer;
  let cache: string;
  beforeAll(async () => {
    hub = await startHubServer();
    cache = await mkdtemp(join(tmpdir(), "igpu-hub-"));
    await hub.seed("onnx-community/tiny-teacher-ONNX", await tinyCommunityRepo({ vocabSize: V }));
  });
  afterAll(async () => {
    await hub.close();
    await rm(cache, { recursive: true, force: true });
  });

  for (const dtype of Object.keys(COMMUNITY_DTYPES) as CommunityDtype[]) {
    it(`${dtype}: downloads only its files, loads from the cache and extracts`, async () => {
      const start = hub.log.length;
      const model = await downloadModel({
        repo: "onnx-community/tiny-teacher-ONNX",
        dtype,
        hubUrl: hub.url,
        cacheDir: cache,
      });
      const file = `onnx/model${COMMUNITY_DTYPES[dtype]}.onnx`;
      expect(model.modelFile).toBe(file);
      const got = hub.log
        .slice(start)
        .filter((r) => r.route === "resolve" && r.method === "GET")
        .map((r) => r.path.split("/resolve/main/")[1]);
      // Only this variant's files (a data file whose bytes another variant shares is a cached blob: no GET).
      expect(got).toContain(file);
      expect(got.every((p) => p === "config.json" || p === file || p === `${file}_data`)).toBe(true);
      expect(model.files).toEqual(["config.json", file, `${file}_data`]);
      const teacher = await loadTeacher({ modelDir: model.dir, modelFile: model.modelFile, device: "cpu", threads: 2 });
      try {
        const want = HEAD[dtype];
        if (typeof want === "string") {
          expect(teacher.lmHead).toBe(want);
        } else {
          expect(teacher.lmHead).toMatch(want);
        }
        const ids = Int32Array.from({ length: 20 }, (_, i) => (i * 977 + 13) % V);
        const [r] = (await runBatch(
          teacher,
          [{ index: 0, inputIds: ids, extractMask: new Uint8Array(20).fill(1, 1) }],
          {
            seed: 1,
          },
        )) as [NucleusResult];
        expect(r.positions.length).toBe(19);
        expect(r.logsumexp.every((x) => Number.isFinite(x))).toBe(true);
      } finally {
        await teacher.close();
      }
    });
  }

  it("an unsupported graph is a typed error naming the file", async () => {
    await hub.seed("org/not-a-model", {
      "config.json": "{}",
      "onnx/model_q4.onnx": new Uint8Array([0, 0xff, 0xff, 0xff]),
    });
    const model = await downloadModel({ repo: "org/not-a-model", hubUrl: hub.url, cacheDir: cache });
    const e = (await loadTeacher({ modelDir: model.dir, modelFile: model.modelFile, device: "cpu" }).catch(
      (x: unknown) => x,
    )) as InferenceError;
    expect(e).toBeInstanceOf(InferenceError);
    expect(e.code).toBe("UNSUPPORTED_MODEL");
    expect(e.message).toMatch(/^\[inference-gpu\] onnx\/model_q4\.onnx: not an ONNX model: /);
    expect(e.message).not.toContain("\n");
  });

  it("a variant whose external data is missing from the folder is a typed error naming the file", async () => {
    const model = await downloadModel({
      repo: "onnx-community/tiny-teacher-ONNX",
      dtype: "q4",
      hubUrl: hub.url,
      cacheDir: cache,
    });
    await rm(join(model.dir, "onnx", "model_q4.onnx_data"));
    const e = (await loadTeacher({ modelDir: model.dir, modelFile: model.modelFile, device: "cpu" }).catch(
      (x: unknown) => x,
    )) as InferenceError;
    expect(e).toBeInstanceOf(InferenceError);
    expect(e.code).toBe("MODEL_NOT_FOUND");
    expect(e.message).toContain("external data file model_q4.onnx_data of");
  });
});
