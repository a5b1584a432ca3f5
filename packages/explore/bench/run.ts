/**
 * Explore benchmarks: `pnpm --filter @logitpack/explore bench`. Dataset statistics throughput (tokens/s) on a
 * realistic shard, against the codec's own decode rate measured side by side on the same file.
 * Each figure is the median of 3 runs after one warm-up run.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { batchTokens, encodeNucleusSample, zstdBackend } from "@logitpack/codec";
import { openLogitFileAt, writeLogitFileAt } from "@logitpack/codec/node";
import { datasetStats } from "../src/index.js";
import { loadLogitDataset } from "../src/node.js";
import { rng, shardInput } from "../test/helpers.js";

// worker threads start from the built worker (dist/stats-worker.js), as for users; from source they would load tsx
const dist = (await import(
  pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), "../dist/node.js")).href
)) as typeof import("../src/node.js");

const TOKENS = Number(process.env.BENCH_TOKENS ?? 300_000);
const dir = mkdtempSync(join(tmpdir(), "explore-bench-"));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function timed(runs: number, f: () => Promise<unknown>): Promise<number> {
  await f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await f();
    times.push((performance.now() - t) / 1000);
  }
  return median(times);
}

const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(0)} k`);

try {
  // a realistic shard: 200-2000 tokens per sample, log-normal nucleus sizes (median 3, max 100), 24 sampled, zstd
  const r = rng(7);
  const rows = [];
  let tokens = 0;
  while (tokens < TOKENS) {
    const t = 200 + Math.floor(r() * 1800);
    rows.push(encodeNucleusSample(shardInput(rows.length, t, r)));
    tokens += t;
  }
  const path = join(dir, "shard.parquet");
  await writeLogitFileAt(path, rows, { settings: { topPMax: 100 } });
  const file = await openLogitFileAt(path);
  console.log(
    `# explore benchmark: ${rows.length} samples, ${tokens} tokens, ${(statSync(path).size / 1e6).toFixed(1)} MB, ` +
      `${file.info.numRowGroups} row groups (8 MiB), zstd ${zstdBackend()}`,
  );
  console.log(`# node ${process.version}, ${cpus()[0]?.model ?? "cpu"}, ${cpus().length} cores`);

  const tDecode = await timed(3, async () => {
    let n = 0;
    for await (const b of file.batches()) {
      n += batchTokens(b);
    }
    if (n !== tokens) {
      throw new Error(`decoded ${n} tokens, expected ${tokens}`);
    }
  });
  const decodeRate = tokens / tDecode;
  console.log(`codec decode (all columns, one thread): ${fmt(decodeRate)} tokens/s`);

  const ds = await loadLogitDataset(path);
  let check = 0;
  const tCols = await timed(3, async () => {
    check = (await datasetStats(ds)).tokens;
  });
  if (check !== tokens) {
    throw new Error("statistics missed tokens");
  }
  const tBatches = await timed(3, () => datasetStats(ds, { path: "batches" }));
  const distDs = await dist.loadLogitDataset(path);
  const tPar = await timed(3, () => dist.datasetStatsParallel(distDs, { workers: 2 }));
  const line = (label: string, t: number) =>
    console.log(
      `${label}: ${fmt(tokens / t)} tokens/s (${((tokens / t / decodeRate) * 100).toFixed(0)}% of codec decode)`,
    );
  line("dataset statistics, column projection, one thread", tCols);
  line("dataset statistics, full batches, one thread", tBatches);
  line("dataset statistics, column projection, 2 worker threads", tPar);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
