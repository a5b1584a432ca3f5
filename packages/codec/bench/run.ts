/**
 * Codec benchmarks: `pnpm --filter @logitpack/codec bench` (or `pnpm bench` at the root).
 * Everything runs on the main thread (one core); each figure is the median of 3 runs, measured side by side.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parquetReadObjects } from "hyparquet";
import { batchTokens, encodeNucleusSample, type NucleusInput, toSparseTargets, zstdBackend } from "../src/index.js";
import { zstdDecompress } from "../src/internal/zstd.js";
import { fileSource, openLogitFileAt, writeLogitFileAt } from "../src/node.js";
import { duckCopy, SEED_SELECT, writeRowsJson } from "../test/duckdb.js";
import { rng, sampleInput } from "./shard.js";

const TOKENS = Number(process.env.BENCH_TOKENS ?? 300_000);
const dir = mkdtempSync(join(tmpdir(), "logitpack-bench-"));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/**
 * Median wall seconds of `runs` runs after one warm-up run. Also records the median CPU seconds of this process
 * (all its threads, GC included) in `cpu`: on a shared machine that is the steadier "one core" figure.
 */
const cpu = new Map<string, number>();
async function timed(runs: number, f: () => Promise<void> | void, label = ""): Promise<number> {
  await f(); // warm-up (JIT, caches), not counted
  const times: number[] = [];
  const cpuTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    await f();
    times.push((performance.now() - t) / 1000);
    const d = process.cpuUsage(c);
    cpuTimes.push((d.user + d.system) / 1e6);
  }
  cpu.set(label, median(cpuTimes));
  return median(times);
}

const perCpu = (label: string) => ` (${fmt(tokens / (cpu.get(label) as number))} tokens per CPU-second)`;

const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(0)} k`);

// 1. a realistic shard
const r = rng(7);
const inputs: NucleusInput[] = [];
let tokens = 0;
let entries = 0;
while (tokens < TOKENS) {
  const t = 200 + Math.floor(r() * 1800);
  const input = sampleInput(inputs.length, t, r);
  inputs.push(input);
  tokens += t;
  entries += input.topIds.length;
}
const counts = inputs.flatMap((i) => Array.from(i.topCounts)).sort((a, b) => a - b);
const pct = (p: number) => counts[Math.floor((counts.length - 1) * p)];
console.log(
  `# codec benchmark: ${inputs.length} samples, ${tokens} tokens, nucleus mean ${(entries / tokens).toFixed(2)} (median ${pct(0.5)}, p90 ${pct(0.9)}, p99 ${pct(0.99)}, max ${pct(1)}), 24 sampled`,
);
console.log(`# node ${process.version}, ${cpus()[0]?.model ?? "cpu"}, zstd ${zstdBackend()}`);

// 2. encode (quantize + pack) and write (Parquet + zstd) to disk
let rows = inputs.map(encodeNucleusSample);
const tEncode = await timed(3, () => {
  rows = inputs.map(encodeNucleusSample);
});
const path = join(dir, "shard.parquet");
const tWrite = await timed(3, async () => {
  await writeLogitFileAt(path, rows);
});
const size = statSync(path).size;
console.log(`encode (quantize + pack): ${fmt(tokens / tEncode)} tokens/s`);
console.log(`write (Parquet, zstd, to disk): ${fmt(tokens / tWrite)} tokens/s`);
console.log(`encode + write: ${fmt(tokens / (tEncode + tWrite))} tokens/s`);
console.log(`size: ${(size / 1e6).toFixed(1)} MB, ${(size / tokens).toFixed(1)} bytes/token`);

// 3. decode from disk to typed arrays
const decode = async (p: string) => {
  const file = await openLogitFileAt(p);
  let n = 0;
  for await (const b of file.batches()) {
    n += batchTokens(b);
  }
  if (n !== tokens) {
    throw new Error(`decoded ${n} tokens, wrote ${tokens}`);
  }
};
await decode(path);
const tDecode = await timed(5, () => decode(path), "decode");
console.log(`decode from disk -> typed arrays: ${fmt(tokens / tDecode)} tokens/s${perCpu("decode")}`);
const tTargets = await timed(3, async () => {
  const file = await openLogitFileAt(path);
  for await (const b of file.batches()) {
    if (b.layout !== "importance") {
      toSparseTargets(b, { k: 16 });
    }
  }
});
console.log(`decode + [T,16] sparse targets: ${fmt(tokens / tTargets)} tokens/s`);

// 4. hyparquet's generic reader on the same file, same zstd
const compressors = { ZSTD: (input: Uint8Array, n: number) => zstdDecompress(input, n).slice() };
const generic = async () => {
  const rowsRead = await parquetReadObjects({ file: await fileSource(path), compressors, utf8: false });
  let n = 0;
  for (const row of rowsRead) {
    n += row["num_tokens"] as number;
  }
  if (n !== tokens) {
    throw new Error("hyparquet decoded a different number of tokens");
  }
};
const tGeneric = await timed(3, generic, "generic");
console.log(
  `hyparquet parquetReadObjects (same file, same zstd): ${fmt(tokens / tGeneric)} tokens/s${perCpu("generic")}`,
);
console.log(
  `ratio ours / hyparquet: ${(tGeneric / tDecode).toFixed(1)}x wall, ${((cpu.get("generic") as number) / (cpu.get("decode") as number)).toFixed(1)}x CPU`,
);

// 5. the same rows as another writer lays them out (DuckDB: dictionary pages, like pyarrow's defaults)
const json = join(dir, "rows.json");
writeRowsJson(rows, json);
const duckPath = join(dir, "duck.parquet");
await duckCopy(json, SEED_SELECT, duckPath, "FORMAT parquet, COMPRESSION zstd");
const tDuck = await timed(3, () => decode(duckPath), "duck");
console.log(
  `decode DuckDB-written file (dictionary pages, zstd, ${(statSync(duckPath).size / tokens).toFixed(1)} bytes/token): ${fmt(tokens / tDuck)} tokens/s${perCpu("duck")}`,
);
console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
rmSync(dir, { recursive: true, force: true });
