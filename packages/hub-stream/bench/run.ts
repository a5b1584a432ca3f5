/**
 * hub-stream benchmarks (`pnpm --filter @logitpack/hub-stream bench`):
 *
 * 1. Resume verification: time to collect the processed indices of 1,000,000 rows spread over shards, from a
 *    local folder and from the local Hub server over HTTP range reads (only the `index` column is read).
 * 2. Upload overlap: rows/s of a simulated extraction (busy work per row) with async uploads against synchronous
 *    uploads, with a Hub server slowed down on every LFS upload.
 *
 * Options: BENCH_ROWS (default 1000000), BENCH_QUICK=1 (smaller runs).
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commit } from "@huggingface/hub";
import { type EncodedRow, encodeLogitFile, encodeNucleusSample } from "@logitpack/codec";
import { startHubServer } from "@logitpack/hub-server";
import { FolderSink, HubSink, LocalCache, resumeState, StreamingWriter, shardFileName } from "../src/index.js";
import { effectiveSettings } from "../src/settings.js";
import { rng } from "../test/helpers.js";

const quick = process.env.BENCH_QUICK === "1";
const TOTAL = Number(process.env.BENCH_ROWS ?? (quick ? 100_000 : 1_000_000));
const SETTINGS = { model: "bench/teacher", topP: 0.98, sampledN: 4 };
const TOKEN = "hf_benchToken0123456789";
const root = join(tmpdir(), "logitpack-bench-hub-stream");

/** A small row (2 positions); only its index varies: resume reads nothing but the index column anyway. */
const template = encodeNucleusSample({
  index: 0,
  topCounts: [3, 2],
  topIds: [10, 20, 30, 40, 50],
  topLogits: [5, 4, 3, 6, 2],
  sampledIds: [1, 2, 3, 4, 5, 6, 7, 8],
  sampledLogits: [-5, -6, -7, -8, -5, -6, -7, -8],
  logsumexp: [6, 7],
});

/** Shards of `rowsPerShard` rows holding a random permutation of [0, TOTAL) (length-sorted order is not index order). */
async function makeDataset(dir: string, rowsPerShard: number): Promise<number> {
  const marker = join(dir, `.complete-${TOTAL}`);
  if (
    await stat(marker).then(
      () => true,
      () => false,
    )
  ) {
    return (await new FolderSink(dir).list()).length;
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, "data"), { recursive: true });
  const perm = new Int32Array(TOTAL);
  for (let i = 0; i < TOTAL; i++) {
    perm[i] = i;
  }
  const r = rng(42);
  for (let i = TOTAL - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = perm[i] as number;
    perm[i] = perm[j] as number;
    perm[j] = t;
  }
  const sink = new FolderSink(dir);
  let shards = 0;
  for (let start = 0; start < TOTAL; start += rowsPerShard) {
    const rows: EncodedRow[] = [];
    let first = Number.POSITIVE_INFINITY;
    let last = -1;
    for (let k = start; k < Math.min(TOTAL, start + rowsPerShard); k++) {
      const index = perm[k] as number;
      rows.push({ ...template, index });
      first = Math.min(first, index);
      last = Math.max(last, index);
    }
    const bytes = await encodeLogitFile(rows, { settings: SETTINGS });
    await sink.put(
      shardFileName({ index: 0, count: 1 }, first, last, createHash("sha256").update(bytes).digest("hex")),
      bytes,
    );
    shards++;
  }
  await writeFile(marker, "");
  return shards;
}

async function timeResume(sinkFactory: () => Promise<FolderSink | HubSink>, label: string, runs = 3) {
  const times: number[] = [];
  let done = 0;
  for (let k = 0; k < runs; k++) {
    const sink = await sinkFactory();
    const cacheDir = join(root, `cache-${Date.now()}-${k}`);
    const cache = new LocalCache(cacheDir);
    await cache.init();
    const t0 = performance.now();
    const state = await resumeState({ sink, cache, settings: effectiveSettings("nucleus", SETTINGS), concurrency: 8 });
    times.push(performance.now() - t0);
    done = state.done.size;
    await rm(cacheDir, { recursive: true, force: true });
  }
  if (done !== TOTAL) {
    throw new Error(`${label}: found ${done} indices, expected ${TOTAL}`);
  }
  const best = Math.min(...times);
  console.log(
    `resume-verify  ${label.padEnd(34)} ${TOTAL} rows  best ${(best / 1000).toFixed(3)} s  (runs: ${times.map((t) => (t / 1000).toFixed(3)).join(", ")})`,
  );
  return best;
}

async function benchResume() {
  for (const rowsPerShard of quick ? [10_000] : [10_000, 1_000]) {
    const dir = join(root, `dataset-${TOTAL}-${rowsPerShard}`);
    const t0 = performance.now();
    const shards = await makeDataset(dir, rowsPerShard);
    const gen = performance.now() - t0;
    console.log(
      `dataset: ${TOTAL} rows in ${shards} shards of ${rowsPerShard} (ready in ${(gen / 1000).toFixed(1)} s)`,
    );
    await timeResume(async () => new FolderSink(dir), `folder, ${shards} shards`);
    // The same files behind the local Hub server: listing + HTTP range reads.
    const server = await startHubServer({ tokens: { [TOKEN]: "write" }, pageSize: 1000 });
    try {
      const sink = await HubSink.create({ repo: "bench/resume", token: TOKEN, hubUrl: server.url, env: {} });
      await sink.prepare();
      const folder = new FolderSink(dir);
      const files = await folder.list();
      for (let i = 0; i < files.length; i += 50) {
        // one commit per 50 files keeps setup quick
        const batch = files.slice(i, i + 50);
        await commit({
          repo: { type: "dataset", name: "bench/resume" },
          hubUrl: server.url,
          accessToken: TOKEN,
          title: "bench data",
          useXet: false,
          operations: await Promise.all(
            batch.map(async (f) => ({
              operation: "addOrUpdate" as const,
              path: f.path,
              content: new Blob([await readFile(join(dir, f.path))]),
            })),
          ),
        });
      }
      const before = server.log.length;
      const best = await timeResume(
        () => HubSink.create({ repo: "bench/resume", token: TOKEN, hubUrl: server.url, env: {} }),
        `local Hub (HTTP), ${files.length} shards`,
      );
      const reqs = server.log.slice(before);
      const bytes = reqs.reduce((a, r) => a + r.bytes, 0);
      const total = files.reduce((a, f) => a + f.size, 0);
      console.log(
        `               per run: ${Math.round(reqs.length / 3)} requests, ${(bytes / 3 / 1e6).toFixed(1)} MB read of ${(total / 1e6).toFixed(1)} MB stored (best ${(best / 1000).toFixed(3)} s)`,
      );
    } finally {
      await server.close();
    }
  }
}

/** Busy work standing in for the GPU. */
function busy(ms: number) {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

async function benchOverlap() {
  const rows = quick ? 600 : 1500;
  const every = 100;
  const rowMs = 2;
  const uploadDelayMs = 200;
  const made = Array.from({ length: rows }, (_, i) => ({ ...template, index: i }));
  const results: Record<string, number> = {};
  for (const mode of ["sync", "async"] as const) {
    const server = await startHubServer({
      tokens: { [TOKEN]: "write" },
      faults: [{ routes: ["lfs-upload"], action: { delayMs: uploadDelayMs } }],
    });
    const cacheDir = join(root, `overlap-cache-${mode}-${Date.now()}`);
    try {
      const sink = await HubSink.create({ repo: `bench/${mode}`, token: TOKEN, hubUrl: server.url, env: {} });
      const w = await StreamingWriter.open({
        sink,
        cacheDir,
        settings: SETTINGS,
        uploadEvery: every,
        asyncUpload: mode === "async",
        card: false,
      });
      const t0 = performance.now();
      for (const row of made) {
        busy(rowMs);
        await w.write(row);
        // let I/O callbacks run, as a real extraction loop awaiting the GPU does
        await new Promise((r) => setImmediate(r));
      }
      await w.close();
      const s = (performance.now() - t0) / 1000;
      results[mode] = rows / s;
      console.log(
        `upload-overlap ${mode.padEnd(5)} ${rows} rows, ${rows / every} shards, ${rowMs} ms/row compute, +${uploadDelayMs} ms per upload: ${s.toFixed(2)} s, ${(rows / s).toFixed(0)} rows/s`,
      );
    } finally {
      await server.close();
      await rm(cacheDir, { recursive: true, force: true });
    }
  }
  console.log(`upload-overlap speed-up async/sync: ${((results.async ?? 0) / (results.sync ?? 1)).toFixed(2)}x`);
}

console.log(`hub-stream bench (node ${process.version}, ${TOTAL} rows${quick ? ", quick" : ""})`);
await benchResume();
await benchOverlap();
