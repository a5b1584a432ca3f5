/**
 * Python string semantics in templates, against Jinja2 as transformers configures it: the outputs in
 * test/fixtures/conformance/python-strings.json were rendered by Python (tools/chat-conformance/generate.py).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseJsonPython, pyFloatRepr } from "../src/python-jinja.js";
import { ChatTemplate } from "../src/template.js";

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "conformance");

interface StringCase {
  template: string;
  context: Record<string, unknown>;
  output?: string;
  error?: string;
}

const cases = parseJsonPython(readFileSync(join(GOLDEN, "python-strings.json"), "utf8")) as StringCase[];

describe("Python string methods and filters render as Jinja2 renders them", () => {
  it("covers strip/lstrip/rstrip with and without chars, split, startswith tuples, replace count, title, tojson", () => {
    expect(cases.length).toBeGreaterThan(30);
    const all = cases.map((c) => c.template).join(" ");
    for (const needle of [
      ".strip(",
      ".lstrip('",
      ".rstrip(",
      ".split(",
      "startswith((",
      "replace('a', 'b', 1)",
      ".title()",
    ]) {
      expect(all).toContain(needle);
    }
    expect(all).toContain("tojson");
  });

  for (const [i, c] of cases.entries()) {
    it(`case ${i}: ${JSON.stringify(c.template)}`, () => {
      const template = new ChatTemplate(c.template, { requireGenerationMarkers: false });
      if (c.error !== undefined) {
        expect(() => template.render(c.context)).toThrow();
        return;
      }
      expect(template.render(c.context).text).toBe(c.output);
    });
  }

  it("the engine whose AST is rewritten is pinned to one exact version", () => {
    const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "package.json"), "utf8"));
    expect(pkg.dependencies["@huggingface/jinja"]).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("float repr follows Python's repr", () => {
    const expected: [number, string][] = [
      [21, "21.0"],
      [0.5, "0.5"],
      [1e-7, "1e-07"],
      [1e16, "1e+16"],
      [123456789012345.6, "123456789012345.6"],
      [-0.0001, "-0.0001"],
      [1.5e300, "1.5e+300"],
      [-0, "-0.0"],
    ];
    for (const [x, s] of expected) {
      expect(pyFloatRepr(x)).toBe(s);
    }
  });
});
