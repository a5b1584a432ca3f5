import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

describe("package invariants", () => {
  it("exports list types first", () => {
    for (const [key, value] of Object.entries(pkg.exports as Record<string, unknown>)) {
      if (typeof value === "object" && value !== null) {
        expect(Object.keys(value)[0], key).toBe("types");
      }
    }
  });

  it("imports nothing of ours and only the two Hugging Face libraries at run time", () => {
    expect(Object.keys(pkg.dependencies).sort()).toEqual(["@huggingface/jinja", "@huggingface/tokenizers"]);
  });

  it("keeps node:* imports in src/node.ts only", () => {
    for (const f of ["index.ts", "tokenizer.ts", "template.ts", "encoder.ts", "input.ts", "mask.ts", "skip-rules.ts"]) {
      const text = readFileSync(join(root, "src", f), "utf8");
      expect(text, f).not.toMatch(/from "node:/);
      expect(text, f).not.toMatch(/from "@logitpack\//);
    }
  });
});
