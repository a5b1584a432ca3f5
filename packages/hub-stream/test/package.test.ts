import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const pkg = JSON.parse(await readFile(join(import.meta.dirname, "..", "package.json"), "utf8"));

describe("package.json", () => {
  it("exports types first, ESM only, with engines", () => {
    expect(pkg.type).toBe("module");
    expect(Object.keys(pkg.exports["."])).toEqual(["types", "default"]);
    expect(pkg.engines.node).toBe(">=20.19");
  });

  it("depends on the codec and @huggingface/hub only (the test server is a dev dependency)", () => {
    expect(Object.keys(pkg.dependencies).sort()).toEqual(["@huggingface/hub", "@logitpack/codec"]);
    expect(pkg.devDependencies["@logitpack/hub-server"]).toBe("workspace:*");
  });
});
