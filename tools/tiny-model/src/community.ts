import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateTinyGraph, type TinyGraphShape } from "./shapes.js";

/** The dtype variants of an onnx-community (transformers.js) repo and the file suffix of each. */
export const COMMUNITY_DTYPES = {
  fp32: "",
  fp16: "_fp16",
  q4: "_q4",
  q4f16: "_q4f16",
  int8: "_int8",
  uint8: "_uint8",
  bnb4: "_bnb4",
  quantized: "_quantized",
} as const;

export type CommunityDtype = keyof typeof COMMUNITY_DTYPES;

/**
 * Which tiny graph stands for each variant. q4 and q4f16 are real int4 heads (MatMulNBits, float32 / float16
 * logits); fp16 has float16 logits. int8, uint8, bnb4 and quantized reuse other shapes: the repo exercises the
 * naming, selection, download and loading of every variant, not int8 kernels.
 */
export const COMMUNITY_SHAPES: Readonly<Record<CommunityDtype, { shape: TinyGraphShape; float16Logits?: boolean }>> = {
  fp32: { shape: "fused" },
  fp16: { shape: "merged" },
  q4: { shape: "q4-head" },
  q4f16: { shape: "q4-head", float16Logits: true },
  int8: { shape: "tied-bf16" },
  uint8: { shape: "tied-bf16" },
  bnb4: { shape: "q4-head" },
  quantized: { shape: "fused" },
};

/**
 * The files of an onnx-community-shaped repo of a tiny teacher: `onnx/model{suffix}.onnx` with its
 * `onnx/model{suffix}.onnx_data` for each dtype in `dtypes` (default all), `config.json`, and `extra` files (e.g. a
 * tokenizer). Serve it with the local Hub server (`hub.seed(repo, files)`).
 */
export async function tinyCommunityRepo(
  options: { vocabSize?: number; seed?: number; dtypes?: readonly CommunityDtype[] } = {},
): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  const tmp = await mkdtemp(join(tmpdir(), "tiny-community-"));
  try {
    for (const dtype of options.dtypes ?? (Object.keys(COMMUNITY_DTYPES) as CommunityDtype[])) {
      const dir = join(tmp, dtype);
      const { shape, float16Logits } = COMMUNITY_SHAPES[dtype];
      await generateTinyGraph(dir, {
        shape,
        vocabSize: options.vocabSize ?? 32_000,
        seed: options.seed ?? 1,
        file: `model${COMMUNITY_DTYPES[dtype]}.onnx`,
        external: true,
        ...(float16Logits ? { float16Logits } : {}),
      });
      for (const f of await readdir(dir)) {
        out[f === "config.json" ? f : `onnx/${f}`] = new Uint8Array(await readFile(join(dir, f)));
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return out;
}
