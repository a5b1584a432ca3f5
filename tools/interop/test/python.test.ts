/**
 * Python consumers read what we write: the CLI's embedded-default extraction (the built binary, a few examples, both
 * layouts) read back by `datasets.load_dataset("parquet", ...)` (pyarrow) and decoded by the dataset card's own
 * Python quick start, every value compared with `@logitpack/codec`'s decoding of the same shards; the card's sizes
 * compared with the ones `datasets` computes (sizes.ts). Python is `LOGITPACK_PYTHON`, else `python3` on PATH, with
 * pyarrow, datasets and numpy importable; without it the tests skip and say why.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { positionIds, positionLogits } from "@logitpack/codec";
import { openLogitFileAt } from "@logitpack/codec/node";
import { describe, expect, it } from "vitest";
import { CLI_BIN, findPython, requireBuiltCli, workspace } from "./find-python.js";
import { expectCardMatches, sizesWithPython } from "./sizes.js";

const bin = CLI_BIN;

const found = findPython("Python read-back", ["pyarrow", "datasets", "numpy"]);
requireBuiltCli();

const { work, env } = workspace("logitpack-interop-");

function extract(mode: "nucleus" | "importance"): string {
  const out = join(work, mode);
  execFileSync(
    process.execPath,
    [bin, "extract", "--limit", "12", "--mode", mode, "--device", "cpu", "--output", out],
    {
      env,
      stdio: "pipe",
    },
  );
  return out;
}

interface PythonResult {
  raw: Record<string, unknown>[];
  decoded: Record<string, unknown>[];
  quickStartOutput: string;
}

function readWithPython(out: string): PythonResult {
  const result = join(out, "..", `${out.split(/[\\/]/).at(-1)}-python.json`);
  const r = spawnSync(found.python as string, [join(import.meta.dirname, "read_output.py"), out, result], {
    env,
    encoding: "utf8",
  });
  if (r.status !== 0) {
    throw new Error(`read_output.py failed:\n${r.stderr}`);
  }
  return JSON.parse(readFileSync(result, "utf8")) as PythonResult;
}

const close = (a: readonly number[], b: ArrayLike<number>, tol: number) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    expect(Math.abs((a[i] as number) - (b[i] as number))).toBeLessThanOrEqual(tol);
  }
};

describe.skipIf(!found.python)("Python reads the CLI's output (datasets + the card's decoder)", () => {
  for (const mode of ["nucleus", "importance"] as const) {
    it(`${mode}: every value as @logitpack/codec decodes it; the card's quick start runs as written`, async () => {
      const out = extract(mode);
      const py = readWithPython(out);
      // the card's dataset_size/num_bytes/download_size are the ones datasets computes (push_to_hub's rule)
      const sizes = sizesWithPython(found.python as string, out, env);
      expectCardMatches(sizes, 12);
      console.log(
        `[interop] datasets ${sizes.datasets.version}, ${mode} demo: dataset_size ${sizes.card.dataset_size}, download_size ${sizes.card.download_size}`,
      );
      const shards = readdirSync(join(out, "data"))
        .filter((f) => f.endsWith(".parquet"))
        .sort();
      let r = 0;
      for (const shard of shards) {
        const file = await openLogitFileAt(join(out, "data", shard));
        for (let k = 0; k < file.numRows; k++, r++) {
          const s = await file.sample(k);
          const raw = py.raw[r] as Record<string, unknown>;
          const dec = py.decoded[r] as Record<string, number[][] | number>;
          expect(raw.index).toBe(s.index);
          expect(raw.num_tokens).toBe(s.numTokens);
          expect(dec.index).toBe(s.index);
          close(raw.logsumexp as number[], s.logsumexp, 0);
          if (s.layout === "importance") {
            close(raw.logsumexp_t as number[], s.logsumexpT, 0);
            for (let t = 0; t < s.numTokens; t++) {
              const ids = positionIds(s.drawn, t);
              expect((dec.ids as number[][])[t]).toEqual([...ids]);
              const logits = positionLogits(s.drawn, t, s.levels);
              const range = (s.drawn.max[t] as number) - (s.drawn.min[t] as number);
              close((dec.logits as number[][])[t] as number[], logits, 1e-6 * Math.max(1, Math.abs(range)) + 1e-5);
              const e0 = s.drawn.offsets[t] as number;
              expect((dec.draws as number[][])[t]).toEqual([...s.draws.subarray(e0, e0 + ids.length)]);
            }
          } else {
            for (const [which, entries] of [
              ["top", s.top],
              ["sampled", s.sampled],
            ] as const) {
              for (let t = 0; t < s.numTokens; t++) {
                expect((dec[`${which}_ids`] as number[][])[t]).toEqual([...positionIds(entries, t)]);
                const logits = positionLogits(entries, t, s.levels);
                const range = (entries.max[t] as number) - (entries.min[t] as number);
                close(
                  (dec[`${which}_logits`] as number[][])[t] as number[],
                  logits,
                  1e-6 * Math.max(1, Math.abs(range)) + 1e-5,
                );
              }
            }
          }
        }
      }
      expect(r).toBe(py.raw.length);
      expect(r).toBe(12);
      // the quick start printed the first streamed row's first position
      const first = py.decoded[0] as Record<string, number[][] | number>;
      expect(py.quickStartOutput).toMatch(/^Sample \d+ has \d+ tokens/m);
      const firstId = (mode === "nucleus" ? (first.top_ids as number[][]) : (first.ids as number[][]))[0]?.[0];
      expect(py.quickStartOutput).toContain(` ${firstId} `);
      if (mode === "nucleus") {
        expect(py.quickStartOutput).toContain("=== Nucleus logits for token 0");
        expect(py.quickStartOutput).toContain("=== Sampled logits for token 0");
      } else {
        expect(py.quickStartOutput).toContain("=== Drawn tokens for token 0");
      }
    });
  }
});
