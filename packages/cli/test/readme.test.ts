import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createSink, verifyDataset } from "@logitpack/hub-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedModelCache, tempDir } from "./helpers.js";

const root = join(import.meta.dirname, "..");
let tmp: { dir: string; cleanup: () => void };
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

/** The ```ts block of the root README's "Use it from code" section, as written. */
function snippet(): string {
  const readme = readFileSync(join(root, "..", "..", "README.md"), "utf8");
  const section = readme.split(/^## /m).find((s) => s.startsWith("Use it from code"));
  expect(section, 'README.md has a "## Use it from code" section').toBeDefined();
  const code = /```ts\n([\s\S]*?)```/.exec(section as string)?.[1];
  expect(code).toBeDefined();
  return code as string;
}

describe('the root README\'s "Use it from code" example', () => {
  it("runs as written: runExtraction on the embedded default, then the rows read back with @logitpack/codec", async () => {
    const code = snippet();
    expect(code).toContain('from "@logitpack/cli"');
    // a user's project: the example as a module file, the packages installed under node_modules
    const modules = join(tmp.dir, "node_modules", "@logitpack");
    mkdirSync(modules, { recursive: true });
    symlinkSync(root, join(modules, "cli"));
    symlinkSync(join(root, "node_modules", "@logitpack", "codec"), join(modules, "codec"));
    writeFileSync(join(tmp.dir, "example.mjs"), code);
    const {
      code: exit,
      stdout,
      stderr,
    } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ["example.mjs"], {
        cwd: tmp.dir,
        env: { ...process.env, LOGITPACK_CACHE: sharedModelCache() },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => {
        out += d;
      });
      child.stderr.on("data", (d) => {
        err += d;
      });
      child.on("error", reject);
      child.on("close", (c) => resolve({ code: c, stdout: out, stderr: err }));
    });
    expect(exit, stderr).toBe(0);
    expect(stdout).toMatch(/^20 examples to extract on cpu$/m);
    expect(stdout).toMatch(/^wrote data\/train-.*\.parquet \(20 rows\)$/m);
    expect(stdout).toMatch(/^done: 20 examples, \d+ assistant tokens$/m);
    expect(stdout).toMatch(/^example \d+: \d+ positions; top ids at the first: \d+/m);
    expect(stdout).toMatch(/^read 20 rows$/m);
    const report = await verifyDataset({
      sink: await createSink({ folder: join(tmp.dir, "logits-out") }),
      expectedCount: 20,
    });
    expect(report).toMatchObject({ rows: 20, unique: 20, duplicateRows: 0, missing: 0 });
  });
});
