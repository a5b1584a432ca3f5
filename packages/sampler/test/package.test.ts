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

  it("depends on chat (not codec or cli), reads Parquet with hyparquet and dataset cards with yaml", () => {
    const deps = Object.keys(pkg.dependencies).sort();
    expect(deps).toEqual(["@logitpack/chat", "hyparquet", "hyparquet-compressors", "hyparquet-writer", "yaml"]);
  });

  it("builds the worker as its own entry", () => {
    expect(readFileSync(join(root, "tsup.config.ts"), "utf8")).toContain("src/lengths-worker.ts");
  });
});
