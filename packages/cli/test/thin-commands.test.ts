import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const commands = join(import.meta.dirname, "..", "src", "commands");

/** Every function (declaration, method, arrow, expression) in a file, with its length in lines. */
function functionLengths(file: string): { name: string; lines: number }[] {
  const text = readFileSync(file, "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: { name: string; lines: number }[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const parent = node.parent;
      const own = (node as { name?: ts.Node }).name;
      const named =
        own ?? (ts.isPropertyAssignment(parent) || ts.isVariableDeclaration(parent) ? parent.name : undefined);
      const name = named?.getText(source) ?? `<anonymous at line ${start + 1}>`;
      out.push({ name, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

describe("the commands are thin", () => {
  it("no function in src/commands/ is over 80 lines", () => {
    const long: string[] = [];
    let seen = 0;
    for (const f of readdirSync(commands).filter((x) => x.endsWith(".ts"))) {
      for (const fn of functionLengths(join(commands, f))) {
        seen++;
        if (fn.lines > 80) {
          long.push(`${f}: ${fn.name} (${fn.lines} lines)`);
        }
      }
    }
    expect(seen).toBeGreaterThan(20);
    expect(long).toEqual([]);
  });

  it("the measure sees a long function", () => {
    const dir = mkdtempSync(join(tmpdir(), "thin-"));
    try {
      const file = join(dir, "x.ts");
      writeFileSync(file, `export const x = {\n  run: async () => {\n${"    f();\n".repeat(90)}  },\n};\n`);
      expect(functionLengths(file)).toEqual([{ name: "run", lines: 92 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
