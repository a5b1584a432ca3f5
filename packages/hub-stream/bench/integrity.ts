/**
 * Integrity costs (`pnpm --filter @logitpack/hub-stream bench:integrity`), side by side in one run, on a folder of
 * shards with realistic rows (BENCH_POSITIONS positions per row, ~12 nucleus ids and 24 sampled ids per position):
 *
 * - index scan: what resume read before (footer + `index` column of every shard, no checkpoint);
 * - content hash: sha256 of every shard against the hash in its name (what resume adds);
 * - resume: `resumeState` without a checkpoint (hash + index scan);
 * - verify: `verifyDataset` (hash + every row decoded, ids and indices checked).
 *
 * Options: BENCH_SHARDS (default 8), BENCH_ROWS_PER_SHARD (500), BENCH_POSITIONS (128).
 */
import { createHash } from "node:crypto";
import { mkdir, rm, stat } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { type EncodedRow, encodeLogitFile } from "@logitpack/codec";
import {
  contentMatchesName,
  FolderSink,
  LocalCache,
  resumeState,
  scanIndices,
  shardFileName,
  verifyDataset,
} from "../src/index.js";
import { mapLimit } from "../src/scan.js";
import { effectiveSettings } from "../src/settings.js";
import { nucleusRow, rng } from "../test/helpers.js";

const SHARDS = Number(process.env.BENCH_SHARDS ?? 8);
const PER = Number(process.env.BENCH_ROWS_PER_SHARD ?? 500);
const POSITIONS = Number(process.env.BENCH_POSITIONS ?? 128);
const SETTINGS = { model: "bench/teacher", topP: 0.98, sampledN: 24, logitsWidth: 151_936 };
const root = join(tmpdir(), "logitpack-bench-integrity");

function row(index: number): EncodedRow {
  const shape = { maxCount: 24, sampled: 24, vocab: 151_936, topLogit: 12, tailFrom: -4, tailSpan: 6 };
  return nucleusRow(index, rng(index + 1), POSITIONS, shape);
}

async function makeDataset(dir: string): Promise<number> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, "data"), { recursive: true });
  const sink = new FolderSink(dir);
  let bytesTotal = 0;
  for (let s = 0; s < SHARDS; s++) {
    const rows = Array.from({ length: PER }, (_, k) => row(s * PER + k));
    const bytes = await encodeLogitFile(rows, { settings: SETTINGS });
    bytesTotal += bytes.length;
    const name = shardFileName(
      { index: 0, count: 1 },
      s * PER,
      s * PER + PER - 1,
      createHash("sha256").update(bytes).digest("hex"),
    );
    await sink.put(name, bytes);
  }
  return bytesTotal;
}

async function best(label: string, runs: number, fn: () => Promise<void>, mb: number): Promise<number> {
  const times: number[] = [];
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  const b = Math.min(...times) / 1000;
  console.log(
    `${label.padEnd(40)} best ${b.toFixed(3)} s  ${(mb / b).toFixed(0).padStart(5)} MB/s  (runs: ${times.map((t) => (t / 1000).toFixed(3)).join(", ")})`,
  );
  return b;
}

const dir = join(root, "dataset");
const bytes = await makeDataset(dir);
const mb = bytes / 1e6;
const rows = SHARDS * PER;
console.log(
  `hub-stream integrity bench (node ${process.version}, load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}): ${rows} rows x ${POSITIONS} positions in ${SHARDS} shards, ${mb.toFixed(1)} MB`,
);
const sink = new FolderSink(dir);
const files = await sink.list();
const scan = await best(
  "index scan (resume before)",
  3,
  async () => {
    const s = await scanIndices(sink, files, 8);
    if (s.reduce((n, x) => n + x.indices.length, 0) !== rows) {
      throw new Error("scan: wrong row count");
    }
  },
  mb,
);
const hash = await best(
  "content hash of every shard",
  3,
  async () => {
    const ok = await mapLimit(files, 8, (f) => contentMatchesName(sink, f));
    if (!ok.every((x) => x === true)) {
      throw new Error("hash: mismatch");
    }
  },
  mb,
);
const resume = await best(
  "resumeState, no checkpoint (resume now)",
  3,
  async () => {
    const cacheDir = join(root, `cache-${Date.now()}`);
    const cache = new LocalCache(cacheDir);
    await cache.init();
    const st = await resumeState({ sink, cache, settings: effectiveSettings("nucleus", SETTINGS) });
    await rm(cacheDir, { recursive: true, force: true });
    if (st.done.size !== rows || st.quarantined.length > 0) {
      throw new Error("resume: wrong state");
    }
  },
  mb,
);
const verify = await best(
  "verifyDataset (hash + decode every row)",
  2,
  async () => {
    const r = await verifyDataset({ sink, expectedCount: rows });
    if (!r.ok) {
      throw new Error(`verify: ${JSON.stringify(r.problems)}`);
    }
  },
  mb,
);
console.log(
  `ratios: resume now / index scan ${(resume / scan).toFixed(2)}x, hash / index scan ${(hash / scan).toFixed(2)}x, verify ${(rows / verify).toFixed(0)} rows/s`,
);
await stat(dir);
await rm(root, { recursive: true, force: true });
