import { build } from "tsup";

/** Where the child writer script is built (bundled from src, so it always runs the current code). */
export const CHILD_DIR = "node_modules/.cache/hub-stream-test";

export default async function setup(): Promise<void> {
  await build({
    entry: { "writer-child": "test/child/writer-child.ts", "lock-child": "test/child/lock-child.ts" },
    outDir: CHILD_DIR,
    format: ["esm"],
    platform: "node",
    target: "node20",
    splitting: false,
    sourcemap: false,
    clean: false,
    dts: false,
    silent: true,
    config: false,
    external: ["@logitpack/codec", "@huggingface/hub"],
  });
}
