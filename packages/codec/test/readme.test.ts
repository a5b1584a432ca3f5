/**
 * The README's TypeScript snippets compile as a user's strict project would compile them (`strict`,
 * `noUncheckedIndexedAccess`, NodeNext ESM, `@logitpack/codec` resolved to this package's sources), with tsc itself.
 * And the quick start's `toSparseTargets(batch)` takes what `batches()` yields for both layouts: checked against the
 * entries and normalizers read with the accessors.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  encodeImportanceSample,
  encodeLogitFile,
  encodeNucleusSample,
  openLogitFile,
  positionIds,
  positionLogits,
  toSparseTargets,
} from "../src/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = join(here, "..");

function snippets(): string[] {
  const readme = readFileSync(join(pkgDir, "README.md"), "utf8");
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

describe("README TypeScript snippets", () => {
  it("compile under strict + noUncheckedIndexedAccess", () => {
    const blocks = snippets();
    expect(blocks.length).toBeGreaterThan(0);
    const dir = join(pkgDir, "node_modules", ".cache", "readme-test");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files = blocks.map((code, i) => {
      const f = join(dir, `snippet-${i}.ts`);
      writeFileSync(f, `${code}\nexport {};\n`);
      return f;
    });
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2023", "DOM"],
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noUncheckedIndexedAccess: true,
          noEmit: true,
          skipLibCheck: true,
          types: ["node"],
          typeRoots: [join(pkgDir, "node_modules", "@types"), join(pkgDir, "..", "..", "node_modules", "@types")],
          baseUrl: pkgDir,
          paths: {
            "@logitpack/codec": ["src/index.ts"],
            "@logitpack/codec/node": ["src/node.ts"],
            "@logitpack/codec/arrow": ["src/arrow.ts"],
          },
        },
        files,
      }),
    );
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    let output = "";
    try {
      execFileSync(process.execPath, [tsc, "-p", join(dir, "tsconfig.json")], { encoding: "utf8", stdio: "pipe" });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    // only the snippets' own diagnostics: the package's sources are compiled here under the user's stricter
    // settings too (a user's skipLibCheck build sees only the declarations)
    const mine = output.split("\n").filter((l) => l.includes("snippet-"));
    expect(mine).toEqual([]);
  }, 60_000);

  it("toSparseTargets takes a batch of either layout (importance: the drawn tokens, true log-probabilities)", async () => {
    const nucleus = await openLogitFile(
      await encodeLogitFile([
        encodeNucleusSample({
          index: 0,
          topCounts: [2, 1],
          topIds: [5, 7, 9],
          topLogits: [1, 0, 2],
          sampledIds: [1, 2],
          sampledLogits: [-5, -6],
          logsumexp: [1.5, 2.1],
        }),
      ]),
    );
    const importance = await openLogitFile(
      await encodeLogitFile(
        [
          encodeImportanceSample({
            index: 0,
            counts: [2, 1],
            ids: [11, 4, 200_000],
            draws: [5, 2, 1],
            logits: [0.5, 2.5, -1],
            logsumexp: [3, 1],
            logsumexpT: [3, 1],
          }),
        ],
        { layout: "importance", settings: { mode: "importance", temperature: 1 } },
      ),
    );
    for (const file of [nucleus, importance]) {
      for await (const batch of file.batches()) {
        const targets = toSparseTargets(batch, { k: 4 });
        const entries = batch.layout === "importance" ? batch.drawn : batch.top;
        for (let t = 0; t < targets.positions; t++) {
          const ids = [...positionIds(entries, t)];
          const logits = [...positionLogits(entries, t, batch.levels)];
          const want = ids
            .map((id, j) => ({ id, lp: (logits[j] as number) - (batch.logsumexp[t] as number) }))
            .sort((a, b) => b.lp - a.lp);
          const got = [...targets.ids.subarray(t * 4, t * 4 + want.length)];
          expect(got).toEqual(want.map((w) => w.id));
          want.forEach((w, j) => {
            expect(targets.logprobs[t * 4 + j]).toBeCloseTo(w.lp, 5);
          });
          const kept = want.reduce((s, w) => s + Math.exp(w.lp), 0);
          expect(targets.tailMass[t]).toBeCloseTo(Math.max(0, 1 - kept), 5);
        }
      }
    }
  });
});
