import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COMMUNITY_DTYPES, generateTinyGraph, TINY_GRAPH_SHAPES, tinyCommunityRepo } from "../src/index.js";

describe("graph shapes of real exports", () => {
  it("are deterministic: the same options give the same bytes", async () => {
    const a = await mkdtemp(join(tmpdir(), "tiny-shapes-a-"));
    const b = await mkdtemp(join(tmpdir(), "tiny-shapes-b-"));
    try {
      for (const shape of TINY_GRAPH_SHAPES) {
        const files = await generateTinyGraph(join(a, shape), { shape, vocabSize: 512, external: true });
        await generateTinyGraph(join(b, shape), { shape, vocabSize: 512, external: true });
        expect(files[0]).toBe("model.onnx");
        expect(files).toContain("model.onnx_data");
        for (const f of files) {
          expect(
            Buffer.compare(await readFile(join(a, shape, f)), await readFile(join(b, shape, f))),
            `${shape} ${f}`,
          ).toBe(0);
        }
      }
    } finally {
      await rm(a, { recursive: true, force: true });
      await rm(b, { recursive: true, force: true });
    }
  });

  it("an onnx-community-shaped repo holds every dtype variant with its data file, each naming its own data file", async () => {
    const repo = await tinyCommunityRepo({ vocabSize: 512 });
    const expected = ["config.json"];
    for (const suffix of Object.values(COMMUNITY_DTYPES)) {
      expected.push(`onnx/model${suffix}.onnx`, `onnx/model${suffix}.onnx_data`);
    }
    expect(Object.keys(repo).sort()).toEqual(expected.sort());
    for (const suffix of Object.values(COMMUNITY_DTYPES)) {
      const onnx = Buffer.from(repo[`onnx/model${suffix}.onnx`] as Uint8Array);
      expect(onnx.includes(`model${suffix}.onnx_data`), suffix).toBe(true);
    }
  });
});
