/**
 * Generates the golden fixtures in test/fixtures: `pnpm --filter @logitpack/codec fixtures`.
 * Files from our writer are deterministic (test/golden.test.ts re-creates them and compares bytes); files written
 * by DuckDB are checked by their decoded content (DuckDB may change its byte layout between versions).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type EncodedRow,
  encodeImportanceSample,
  encodeLogitFile,
  encodeNucleusSample,
  type LogitSample,
  positionIds,
} from "../src/index.js";
import { openLogitFileAt } from "../src/node.js";
import { duckCopy, LEGACY_SELECT, SEED_SELECT, writeRowsJson } from "../test/duckdb.js";
import { randomInput, rng } from "../test/gen.js";

export const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "test", "fixtures");

export function nucleusRows(): EncodedRow[] {
  const r = rng(2026);
  return [
    encodeNucleusSample(randomInput(0, r, { tokens: 0 })),
    encodeNucleusSample(randomInput(1, r, { tokens: 1, count: 1, vocab: 151_936 })),
    encodeNucleusSample(
      randomInput(17, r, { tokens: 6, count: (rr) => (rr() < 0.3 ? 100 : 1 + Math.floor(rr() * 4)), vocab: 151_936 }),
    ),
    encodeNucleusSample(randomInput(40, r, { tokens: 4, degenerate: true, vocab: 262_144 })),
    encodeNucleusSample(randomInput(41, r, { tokens: 3, count: 2, sampledN: 0 })),
  ];
}

export function importanceRows(): EncodedRow[] {
  return [
    encodeImportanceSample({
      index: 5,
      counts: [3, 1],
      ids: [11, 151_668, 70_000, 42],
      draws: [30, 15, 5, 50],
      logits: [12.5, 11.25, 9, 14],
      logsumexp: [13.1, 14.02],
      logsumexpT: [12.9, 13.95],
    }),
  ];
}

/** Our writer's fixtures: name -> [rows, writer options]. */
export async function ourFixtures(): Promise<Record<string, Uint8Array>> {
  return {
    "logitpack-nucleus-zstd.parquet": await encodeLogitFile(nucleusRows(), {
      rowGroupRows: 2,
      settings: { model: "fixture", topP: 0.98, topPMax: 100, sampledN: 24, seed: 1 },
    }),
    "logitpack-nucleus-plain-uncompressed.parquet": await encodeLogitFile(nucleusRows(), {
      compression: "none",
      intEncoding: "plain",
    }),
    "logitpack-importance.parquet": await encodeLogitFile(importanceRows(), {
      layout: "importance",
      settings: { mode: "importance", rounds: 100, temperature: 1.25 },
    }),
  };
}

/** What a test compares: every stored value of every row, as plain JSON. */
export function describeSamples(samples: LogitSample[]): unknown[] {
  const sparse = (
    s: { offsets: Int32Array; quantized: Uint16Array; min: Float32Array; max: Float32Array; ids: Int32Array },
    n: number,
  ) =>
    Array.from({ length: n }, (_, t) => ({
      ids: [...positionIds(s, t)],
      q: [...s.quantized.subarray(s.offsets[t], s.offsets[t + 1])],
      min: s.min[t],
      max: s.max[t],
    }));
  return samples.map((s) =>
    s.layout === "importance"
      ? {
          index: s.index,
          numTokens: s.numTokens,
          drawn: sparse(s.drawn, s.numTokens),
          draws: [...s.draws.subarray(s.drawn.offsets[0], s.drawn.offsets[s.numTokens])],
          logsumexp: [...s.logsumexp],
          logsumexpT: [...s.logsumexpT],
        }
      : {
          index: s.index,
          numTokens: s.numTokens,
          levels: s.levels,
          top: sparse(s.top, s.numTokens),
          sampled: sparse(s.sampled, s.numTokens),
          logsumexp: [...s.logsumexp].map((x) => (Number.isNaN(x) ? "NaN" : x)),
        },
  );
}

const jsonOf = (v: unknown) =>
  `${JSON.stringify(v, (_k, x) => (typeof x === "number" && Number.isNaN(x) ? "NaN" : x), 1)}\n`;

async function duckFixtures(dir: string): Promise<void> {
  const rows = nucleusRows();
  const json = join(dir, ".rows.json");
  writeRowsJson(rows, json);
  await duckCopy(
    json,
    SEED_SELECT,
    join(dir, "duckdb-seed-snappy.parquet"),
    "FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 2",
  );
  await duckCopy(
    json,
    SEED_SELECT,
    join(dir, "duckdb-seed-v2-zstd.parquet"),
    "FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION v2",
  );
  // seed 001 variant: fixed top-K (rows 1 and 41 have 1 and 2 entries per position), uint8 BLOBs, one float logsumexp
  await duckCopy(
    json,
    LEGACY_SELECT,
    join(dir, "duckdb-legacy-u8.parquet"),
    "FORMAT parquet",
    "WHERE index IN (1, 41)",
  );
  rmSync(json);
}

export async function generate(dir = FIXTURE_DIR): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const names: string[] = [];
  for (const [name, bytes] of Object.entries(await ourFixtures())) {
    writeFileSync(join(dir, name), bytes);
    names.push(name);
  }
  await duckFixtures(dir);
  names.push("duckdb-seed-snappy.parquet", "duckdb-seed-v2-zstd.parquet", "duckdb-legacy-u8.parquet");
  for (const name of names) {
    const file = await openLogitFileAt(join(dir, name));
    const expected = {
      layout: file.layout,
      settings: file.info.settings,
      rows: describeSamples(await file.readRows(0, file.numRows)),
    };
    writeFileSync(join(dir, name.replace(/\.parquet$/, ".json")), jsonOf(expected));
  }
  return names;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const names = await generate();
  console.log(`wrote ${names.length} fixtures to ${FIXTURE_DIR}`);
}
