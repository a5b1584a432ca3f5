import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  exports: Record<string, Record<string, string> | string>;
  dependencies: Record<string, string>;
  engines: { node: string };
};

/** Files a module imports, transitively, inside src/. */
function importsOf(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) {
    return seen;
  }
  seen.add(file);
  const text = readFileSync(file, "utf8");
  for (const m of text.matchAll(/^(?:import|export)[^;]*?from "(\.[^"]+)"/gms)) {
    importsOf(join(dirname(file), (m[1] as string).replace(/\.js$/, ".ts")), seen);
  }
  return seen;
}

describe("package", () => {
  it("exports types first, an engines field, and only allowed dependencies", () => {
    for (const [key, value] of Object.entries(pkg.exports)) {
      if (typeof value === "object") {
        expect(Object.keys(value)[0], key).toBe("types");
      }
    }
    expect(Object.keys(pkg.exports)).toEqual([".", "./node", "./package.json"]);
    expect(pkg.engines.node).toBe(">=20.19");
    // dependency direction: codec, chat, hub-stream of ours; d3 modules for chart geometry
    expect(Object.keys(pkg.dependencies).sort()).toEqual([
      "@logitpack/chat",
      "@logitpack/codec",
      "@logitpack/hub-stream",
      "d3-scale",
      "d3-shape",
    ]);
  });

  it("the main entry is platform-neutral: no node:* module and no Node-only subpath in its import graph", () => {
    for (const file of importsOf(join(root, "src", "index.ts"))) {
      const text = readFileSync(file, "utf8");
      expect(text, file).not.toMatch(/from "node:/);
      expect(text, file).not.toMatch(/from "@logitpack\/(codec|chat)\/node"/);
      expect(text, file).not.toMatch(/@logitpack\/hub-stream/);
    }
  });

  it("libraries never print", () => {
    const walk = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory()
          ? walk(join(d, e.name))
          : e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")
            ? [join(d, e.name)]
            : [],
      );
    for (const file of walk(join(root, "src"))) {
      expect(readFileSync(file, "utf8"), file).not.toMatch(/console\.|process\.stdout\.write|process\.stderr\.write/);
    }
  });
});
