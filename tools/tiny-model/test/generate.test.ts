import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTinyModel, generateTinyModel, TINY_MODEL_VERSION } from "../src/index.js";

describe("tiny model generator", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tiny-model-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  for (const shape of ["plain", "decoder"] as const) {
    it(`${shape}: deterministic bytes, a config, the files it lists`, async () => {
      const a = await generateTinyModel(join(dir, `${shape}-a`), { shape, vocabSize: 1000 });
      const b = await generateTinyModel(join(dir, `${shape}-b`), { shape, vocabSize: 1000 });
      expect(a).toEqual(b);
      expect(a.version).toBe(TINY_MODEL_VERSION);
      for (const f of a.files) {
        const x = await readFile(join(dir, `${shape}-a`, f));
        const y = await readFile(join(dir, `${shape}-b`, f));
        expect(x.equals(y), f).toBe(true);
      }
      expect(a.files.includes("model.onnx_data")).toBe(shape === "plain");
      const config = JSON.parse(await readFile(join(dir, `${shape}-a`, "config.json"), "utf8"));
      expect(config.vocab_size).toBe(1000);
      const other = await generateTinyModel(join(dir, `${shape}-c`), { shape, vocabSize: 1000, seed: 2 });
      expect(other.seed).toBe(2);
      const w1 = await readFile(join(dir, `${shape}-a`, shape === "plain" ? "model.onnx_data" : "model.onnx"));
      const w2 = await readFile(join(dir, `${shape}-c`, shape === "plain" ? "model.onnx_data" : "model.onnx"));
      expect(w1.equals(w2)).toBe(false);
    });
  }

  it("ensureTinyModel generates once, concurrently safe, then reuses the folder", async () => {
    const cache = join(dir, "cache");
    const [p, q] = await Promise.all([
      ensureTinyModel(cache, { shape: "decoder", vocabSize: 500 }),
      ensureTinyModel(cache, { shape: "decoder", vocabSize: 500 }),
    ]);
    expect(p).toBe(q);
    const before = (await readFile(join(p, "model.onnx"))).length;
    expect(await ensureTinyModel(cache, { shape: "decoder", vocabSize: 500 })).toBe(p);
    expect((await readFile(join(p, "model.onnx"))).length).toBe(before);
  });

  it("rejects vocabularies it cannot index", async () => {
    await expect(generateTinyModel(join(dir, "bad"), { shape: "plain", vocabSize: 3 })).rejects.toBeInstanceOf(
      RangeError,
    );
  });
});
