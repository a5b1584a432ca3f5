import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

describe("package invariants", () => {
  it("depends on codec only among our packages (dependency direction), pins the ONNX libraries", () => {
    const deps = Object.keys(pkg.dependencies ?? {}).sort();
    expect(deps).toEqual(["@bufbuild/protobuf", "@logitpack/codec", "onnx-buf", "onnxruntime-node"]);
    for (const d of ["@bufbuild/protobuf", "onnx-buf", "onnxruntime-node"]) {
      expect(pkg.dependencies[d], d).toMatch(/^\d+\.\d+\.\d+(-\d+)?$/);
    }
    // the tiny-model generator is private and bundled into dist, so only a dev dependency
    expect(pkg.devDependencies["@logitpack/tiny-model"]).toBe("workspace:*");
  });

  it("lists types first in every export condition; ESM; engines", () => {
    for (const [path, entry] of Object.entries(pkg.exports as Record<string, unknown>)) {
      if (typeof entry === "object" && entry !== null) {
        expect(Object.keys(entry)[0], path).toBe("types");
      }
    }
    expect(pkg.type).toBe("module");
    expect(pkg.engines.node).toBeDefined();
  });
});
