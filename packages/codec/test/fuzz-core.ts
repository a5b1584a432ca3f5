/**
 * Mutation fuzzing of the decoder, shared by test/fuzz.test.ts (10,000 mutations) and `pnpm fuzz` (scripts/fuzz.ts,
 * any number). Every mutated file must decode or raise a CodecError (never another exception), every decoded id
 * must lie in [0, idLimit), and no case may take long. A mutation that decodes to values other than the original's
 * is counted: with page checksums that should only happen outside the pages (e.g. in the footer's settings text).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURE_DIR } from "../scripts/fixtures.js";
import {
  CodecError,
  encodeImportanceSample,
  encodeLogitFile,
  encodeNucleusSample,
  type LogitBatch,
  openLogitFile,
} from "../src/index.js";
import { randomInput, rng } from "./gen.js";
import { mutate } from "./mutate.js";

export interface FuzzStats {
  cases: number;
  decoded: number;
  codecErrors: number;
  /** Decoded without error to values other than the unmutated file's. */
  silentlyDifferent: number;
  /** Non-CodecError exceptions (must stay 0): the first few messages. */
  untyped: string[];
  /** Decoded ids outside [0, idLimit) (must stay 0). */
  outOfRangeIds: number;
  slowest: number;
  over1s: number;
  codes: Record<string, number>;
  byBase: Record<string, { decoded: number; errors: number; different: number }>;
}

/** A digest of everything a decoded file holds; also checks every id against the file's limit. */
function digestBatch(b: LogitBatch, limit: number, acc: { h: number; bad: number }): void {
  const mix = (v: number) => {
    acc.h = Math.imul(acc.h ^ v, 0x9e3779b1) >>> 0;
  };
  const ids = b.layout === "importance" ? [b.drawn] : [b.top, b.sampled];
  for (const s of ids) {
    for (let i = 0; i < s.ids.length; i++) {
      const id = s.ids[i] as number;
      if (!(id >= 0 && id < limit)) {
        acc.bad++;
      }
      mix(id);
    }
    for (let i = 0; i < s.quantized.length; i++) {
      mix(s.quantized[i] as number);
    }
    for (let i = 0; i < s.offsets.length; i++) {
      mix(s.offsets[i] as number);
    }
    for (const f of [s.min, s.max]) {
      const u = new Uint32Array(f.buffer, f.byteOffset, f.length);
      for (let i = 0; i < u.length; i++) {
        mix(u[i] as number);
      }
    }
  }
  const l = new Uint32Array(b.logsumexp.buffer, b.logsumexp.byteOffset, b.logsumexp.length * 2);
  for (let i = 0; i < l.length; i++) {
    mix(l[i] as number);
  }
  for (let i = 0; i < b.index.length; i++) {
    mix(b.index[i] as number);
  }
  for (let i = 0; i < b.rowOffsets.length; i++) {
    mix(b.rowOffsets[i] as number);
  }
}

async function decodeAll(bytes: Uint8Array): Promise<{ rows: number; digest: number; bad: number }> {
  const file = await openLogitFile(bytes, { name: "fuzz.parquet" });
  const acc = { h: 17, bad: 0 };
  let rows = 0;
  for await (const b of file.batches()) {
    rows += b.numRows;
    digestBatch(b, file.info.idLimit, acc);
  }
  await file.readIndices();
  return { rows, digest: acc.h, bad: acc.bad };
}

/** The files mutated: our writer's (several options) and other writers' (pyarrow, DuckDB fixtures). */
export async function fuzzBases(): Promise<Record<string, Uint8Array>> {
  const r = rng(20261124);
  const nucleus = Array.from({ length: 6 }, (_, i) =>
    encodeNucleusSample(
      randomInput(i, r, {
        tokens: i === 0 ? 0 : 3 + i * 2,
        count: (rr) => 1 + Math.floor(rr() * 5),
        sampledN: 3,
        vocab: 151_936,
      }),
    ),
  );
  const importance = [
    encodeImportanceSample({
      index: 1,
      counts: [2, 1],
      ids: [5, 70000, 9],
      draws: [3, 1, 4],
      logits: [1, -2, 0.5],
      logsumexp: [3, 2],
      logsumexpT: [2, 1.5],
    }),
  ];
  const fixture = (name: string) => new Uint8Array(readFileSync(join(FIXTURE_DIR, name)));
  return {
    "ours-none": await encodeLogitFile(nucleus, {
      compression: "none",
      rowGroupRows: 2,
      settings: { logitsWidth: 151_936 },
    }),
    "ours-zstd": await encodeLogitFile(nucleus, { compression: "zstd", rowGroupRows: 3, compressionLevel: 1 }),
    "ours-plain": await encodeLogitFile(nucleus, { compression: "none", intEncoding: "plain" }),
    "ours-importance": await encodeLogitFile(importance, { layout: "importance", compression: "none" }),
    "pyarrow-snappy": fixture("pyarrow-seed-snappy.parquet"),
    "pyarrow-v2": fixture("pyarrow-seed-v2-zstd-bss.parquet"),
    "duckdb-snappy": fixture("duckdb-seed-snappy.parquet"),
    "duckdb-v2": fixture("duckdb-seed-v2-zstd.parquet"),
  };
}

export async function fuzz(n: number, seed = 20261206): Promise<FuzzStats> {
  const bases = await fuzzBases();
  const names = Object.keys(bases);
  const originals = new Map<string, number>();
  for (const name of names) {
    originals.set(name, (await decodeAll(bases[name] as Uint8Array)).digest);
  }
  const r = rng(seed);
  const stats: FuzzStats = {
    cases: 0,
    decoded: 0,
    codecErrors: 0,
    silentlyDifferent: 0,
    untyped: [],
    outOfRangeIds: 0,
    slowest: 0,
    over1s: 0,
    codes: {},
    byBase: Object.fromEntries(names.map((k) => [k, { decoded: 0, errors: 0, different: 0 }])),
  };
  for (let i = 0; i < n; i++) {
    const name = names[i % names.length] as string;
    const input = mutate(bases[name] as Uint8Array, r);
    const t = performance.now();
    try {
      const got = await decodeAll(input);
      stats.decoded++;
      (stats.byBase[name] as { decoded: number }).decoded++;
      stats.outOfRangeIds += got.bad;
      if (got.digest !== originals.get(name)) {
        stats.silentlyDifferent++;
        (stats.byBase[name] as { different: number }).different++;
      }
    } catch (error) {
      if (error instanceof CodecError) {
        stats.codecErrors++;
        (stats.byBase[name] as { errors: number }).errors++;
        stats.codes[error.code] = (stats.codes[error.code] ?? 0) + 1;
      } else if (
        stats.untyped.push(`mutation ${i} of ${name}: ${(error as Error).name}: ${(error as Error).message}`) > 20
      ) {
        stats.untyped.length = 20;
      }
    }
    const ms = performance.now() - t;
    stats.slowest = Math.max(stats.slowest, ms);
    if (ms > 1000) {
      stats.over1s++;
    }
    stats.cases++;
  }
  return stats;
}
