import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

describe("package invariants", () => {
  it("stays small: only the allowed runtime dependencies (training loops install codec alone)", () => {
    expect(Object.keys(pkg.dependencies ?? {}).sort()).toEqual(["@bokuweb/zstd-wasm", "hyparquet"]);
    expect(pkg.peerDependenciesMeta?.["apache-arrow"]?.optional).toBe(true);
  });

  it("pins the dependencies whose internals it uses", () => {
    expect(pkg.dependencies["hyparquet"]).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pkg.dependencies["@bokuweb/zstd-wasm"]).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("lists types first in every export condition", () => {
    for (const [path, entry] of Object.entries(pkg.exports as Record<string, unknown>)) {
      if (typeof entry === "object" && entry !== null) {
        expect(Object.keys(entry)[0], path).toBe("types");
      }
    }
    expect(pkg.type).toBe("module");
    expect(pkg.engines.node).toBeDefined();
  });

  it("keeps node:fs out of the main entry's own modules (file helpers live in ./node)", () => {
    for (const f of ["index", "read", "write", "decode", "encode", "source"]) {
      const src = readFileSync(new URL(`../src/${f}.ts`, import.meta.url), "utf8");
      expect(src, f).not.toMatch(/from "node:fs/);
    }
  });
});
