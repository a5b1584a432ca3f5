/**
 * The dataset card's `dataset_size`, `splits[].num_bytes` and `download_size` equal what Hugging Face `datasets`
 * computes for the same shards: `push_to_hub`'s `Dataset._estimate_nbytes()` (what the Hub's own cards carry) and
 * `load_dataset`'s `info.download_size`. Checked here on synthetic shards with several files, row groups of over 100
 * rows and empty rows (the card written by the `card` command, and printed by `card --print`); python.test.ts checks
 * the card the CLI's demo extraction writes at the end of `extract`. Python is `LOGITPACK_PYTHON`, else `python3` on
 * PATH, with datasets (and its huggingface_hub, pyarrow); without it the tests skip and say why.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type EncodedRow, encodeImportanceSample, encodeNucleusSample } from "@logitpack/codec";
import { writeLogitFileAt } from "@logitpack/codec/node";
import { describe, expect, it } from "vitest";
import { CLI_BIN, findPython, requireBuiltCli, workspace } from "./find-python.js";
import { expectCardMatches, sizesWithPython } from "./sizes.js";

const bin = CLI_BIN;

const found = findPython("card sizes", ["pyarrow", "datasets", "huggingface_hub"]);
requireBuiltCli();

const { work, env } = workspace("logitpack-card-sizes-");

/** A deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Synthetic rows: 0..40 positions (some rows empty), nuclei of 1..30 ids (some above 2^16), 7 sampled. */
function* rows(layout: "nucleus" | "importance", first: number, n: number, seed: number): Generator<EncodedRow> {
  const rand = prng(seed);
  for (let r = 0; r < n; r++) {
    const positions = r % 17 === 3 ? 0 : Math.floor(rand() * 41);
    const counts = Array.from({ length: positions }, () => 1 + Math.floor(rand() * 30));
    const total = counts.reduce((a, b) => a + b, 0);
    const ids: number[] = [];
    for (const c of counts) {
      const base = Math.floor(rand() * 150_000);
      for (let k = 0; k < c; k++) {
        ids.push((base + k * 7) % 151_936);
      }
    }
    const logits = Array.from({ length: total }, () => rand() * 20 - 10);
    const lse = Array.from({ length: positions }, () => 10 + rand());
    if (layout === "nucleus") {
      const sampledIds = Array.from({ length: positions * 7 }, () => Math.floor(rand() * 151_936));
      yield encodeNucleusSample({
        index: first + r,
        topCounts: counts,
        topIds: ids,
        topLogits: logits,
        sampledIds,
        sampledLogits: sampledIds.map(() => rand() * 5 - 20),
        logsumexp: lse,
      });
    } else {
      yield encodeImportanceSample({
        index: first + r,
        counts,
        ids,
        draws: ids.map(() => 1 + Math.floor(rand() * 4)),
        logits,
        logsumexp: lse,
        logsumexpT: lse.map((x) => x + 0.5),
      });
    }
  }
}

describe.skipIf(!found.python)("the dataset card's sizes are the ones datasets computes", () => {
  for (const layout of ["nucleus", "importance"] as const) {
    it(`${layout}: synthetic shards, several files and row groups, empty rows (the card command)`, async () => {
      const out = join(work, `synthetic-${layout}`);
      mkdirSync(join(out, "data"), { recursive: true });
      const settings = { model: "example/teacher", dataset: "example/chats" };
      // row groups of 230 rows (cut by datasets into record batches of 100), of 37, and a single-group file
      const plan: [number, number, number][] = [
        [0, 250, 230],
        [250, 120, 37],
        [370, 9, 1024],
      ];
      for (const [first, n, rowGroupRows] of plan) {
        const name = `train-${String(first).padStart(9, "0")}-${String(first + n - 1).padStart(9, "0")}.parquet`;
        await writeLogitFileAt(join(out, "data", name), rows(layout, first, n, first + 1), {
          layout,
          settings,
          rowGroupRows,
        });
      }
      execFileSync(process.execPath, [bin, "card", out], { env, stdio: "pipe" });
      const s = sizesWithPython(found.python as string, out, env);
      expectCardMatches(s, 379);
      // `card --print` shows the same numbers
      const printed = execFileSync(process.execPath, [bin, "card", out, "--print"], { env, encoding: "utf8" });
      expect(printed).toContain(`  dataset_size: ${s.datasets.push_dataset_size}\n`);
      expect(printed).toContain(`  download_size: ${s.datasets.download_size}\n`);
      // the rule was exercised with several record batches per file
      expect(s.datasets.chunks).toBeGreaterThan(3);
    });
  }
});
