/**
 * Codec benchmarks: `pnpm --filter @logitpack/codec bench` (or `pnpm bench` at the root).
 *
 * One realistic shard's rows are written by every writer (ours; pyarrow with its defaults, which is how the Python
 * tool writes, and with zstd; DuckDB with zstd) and each file is read by every reader to the flat arrays a training
 * loop uses: ours on this thread and on worker threads (`readShards`), pyarrow `read_table` + numpy (one thread, all
 * threads), DuckDB (one thread, to Arrow + the same numpy step) and hyparquet. Python rows need a Python with
 * pyarrow and numpy (`LOGITPACK_PYTHON`, else python3; duckdb optional); without one they are skipped with a note.
 * Figures are medians of several runs after a warm-up, measured side by side in one process run: wall tokens/s and,
 * steadier on a shared machine, tokens per CPU-second of the reading process (all its threads).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeNucleusSample, type NucleusInput, zstdBackend } from "../src/index.js";
import { writeLogitFileAt } from "../src/node.js";
import { findPython } from "../test/python.js";
import { writeRowsJson } from "../test/rows-json.js";
import { rng, sampleInput } from "./shard.js";

const TOKENS = Number(process.env.BENCH_TOKENS ?? 300_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const THREADS = Math.max(2, cpus().length);
const dir = mkdtempSync(join(tmpdir(), "logitpack-bench-"));
const here = dirname(fileURLToPath(import.meta.url));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

interface Timing {
  wall: number;
  cpu: number;
}

/** Median wall and CPU seconds (this process, all threads, GC included) of `runs` runs after one warm-up run. */
async function timed(runs: number, f: () => Promise<void> | void): Promise<Timing> {
  await f();
  const walls: number[] = [];
  const cpuTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    await f();
    walls.push((performance.now() - t) / 1000);
    const d = process.cpuUsage(c);
    cpuTimes.push((d.user + d.system) / 1e6);
  }
  return { wall: median(walls), cpu: median(cpuTimes) };
}

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
console.log(
  `# node ${process.version}, ${cpus()[0]?.model ?? "cpu"} x ${cpus().length}, zstd ${zstdBackend()}, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);

// 2. encode and write ours
let rows = inputs.map(encodeNucleusSample);
const tEncode = await timed(3, () => {
  rows = inputs.map(encodeNucleusSample);
});
const ours = join(dir, "ours.parquet");
const tWrite = await timed(3, async () => {
  await writeLogitFileAt(ours, rows);
});
console.log(`encode (quantize + pack): ${fmt(tokens / tEncode.wall)} tokens/s`);
console.log(`write (Parquet, zstd, to disk): ${fmt(tokens / tWrite.wall)} tokens/s`);

// 3. the same rows from the other writers
const files: { label: string; path: string }[] = [{ label: "@logitpack/codec (ours)", path: ours }];
const py = findPython(["pyarrow", "numpy"]);
const pyScript = join(here, "pyread.py");
if (py.python) {
  const source = join(dir, "source.parquet");
  await writeLogitFileAt(source, rows, { compression: "none" });
  const snappy = join(dir, "pyarrow-default.parquet");
  const zstd = join(dir, "pyarrow-zstd.parquet");
  const w = spawnSync(py.python, [pyScript, "write", source, snappy, zstd], { encoding: "utf8" });
  if (w.status !== 0) {
    throw new Error(`pyarrow writer failed: ${w.stderr}`);
  }
  rmSync(source);
  files.push({ label: "pyarrow defaults (dictionary, snappy, 1 row group)", path: snappy });
  files.push({ label: "pyarrow zstd", path: zstd });
} else {
  console.log(`# pyarrow rows skipped: ${py.reason}`);
}
const json = join(dir, "rows.json");
writeRowsJson(rows, json);
const duckPath = join(dir, "duckdb-zstd.parquet");
const duck = spawnSync(process.execPath, [...process.execArgv, join(here, "duckdb-write.ts"), json, duckPath], {
  encoding: "utf8",
});
if (duck.status !== 0) {
  throw new Error(`DuckDB writer failed: ${duck.stderr}`);
}
rmSync(json);
files.push({ label: "DuckDB zstd", path: duckPath });

// 4. readers, each (reader, file) in a fresh process (bench/read.ts): a reader measured in a process that earlier
// generated hundreds of MB of rows or loaded DuckDB's addon runs up to 40% slower than on its own
inputs.length = 0;
rows = [];
const readScript = join(here, "read.ts");
const readIn = (reader: string, path: string, runs: number): Timing => {
  const out = spawnSync(
    process.execPath,
    [...process.execArgv, readScript, reader, path, String(runs), String(tokens)],
    {
      encoding: "utf8",
    },
  );
  if (out.status !== 0) {
    throw new Error(`${reader} on ${path} failed: ${out.stderr}`);
  }
  return JSON.parse(out.stdout.trim().split("\n").pop() as string) as Timing;
};

interface Row {
  label: string;
  bytesPerToken: number;
  ours: Timing;
  ourThreads: Timing;
  hyparquet: Timing;
  python: Record<string, Timing>;
}
const table: Row[] = files.map(({ label, path }) => ({
  label,
  bytesPerToken: statSync(path).size / tokens,
  ours: readIn("ours", path, RUNS),
  ourThreads: readIn("threads", path, 3),
  hyparquet: readIn("hyparquet", path, 1),
  python: {},
}));
if (py.python) {
  const out = spawnSync(py.python, [pyScript, "read", "3", ...files.map((f) => f.path)], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (out.status !== 0) {
    throw new Error(`pyarrow reader failed: ${out.stderr}`);
  }
  for (const line of out.stdout.trim().split("\n")) {
    const m = JSON.parse(line) as { reader: string; file: string; wall: number; cpu: number; tokens: number };
    if (m.tokens !== tokens) {
      throw new Error(`${m.reader} decoded ${m.tokens} tokens of ${m.file}, wrote ${tokens}`);
    }
    const row = table[files.findIndex((f) => f.path === m.file)] as Row;
    row.python[m.reader] = { wall: m.wall, cpu: m.cpu };
  }
}

// 5. the table: tokens/s (wall) and tokens per CPU-second, ratios ours / theirs
const rate = (t: Timing | undefined) => (t ? `${fmt(tokens / t.wall)} (${fmt(tokens / t.cpu)}/CPU-s)` : "n/a");
const ratio = (a: Timing, b: Timing | undefined) =>
  b ? `${(b.wall / a.wall).toFixed(2)}x (${(b.cpu / a.cpu).toFixed(2)}x CPU)` : "n/a";
console.log("");
console.log(
  `| file (writer) | bytes/token | ours, 1 thread | pyarrow, 1 thread | ours / pyarrow 1T | pyarrow, all threads | ours, ${THREADS} worker threads (8 shards) | ours threads / pyarrow all | DuckDB, 1 thread | hyparquet |`,
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const t of table) {
  console.log(
    `| ${t.label} | ${t.bytesPerToken.toFixed(1)} | ${rate(t.ours)} | ${rate(t.python["pyarrow-1"])} | ${ratio(t.ours, t.python["pyarrow-1"])} | ${rate(t.python["pyarrow-all"])} | ${rate(t.ourThreads)} | ${ratio(t.ourThreads, t.python["pyarrow-all"])} | ${rate(t.python["duckdb-1"])} | ${rate(t.hyparquet)} |`,
  );
}
console.log("(tokens/s, wall, median; in parentheses tokens per CPU-second of the reading process, all its threads)");

// 6. the cost of page checksum verification, and sparse targets
const withCrc = readIn("ours", ours, RUNS);
const withoutCrc = readIn("ours-unverified", ours, RUNS);
console.log(
  `\nours, page CRC32 verified: ${rate(withCrc)}; not verified: ${rate(withoutCrc)}; cost ${((withCrc.cpu / withoutCrc.cpu - 1) * 100).toFixed(1)}% CPU`,
);
const tTargets = readIn("targets", ours, 3);
console.log(`decode + [T,16] sparse targets: ${rate(tTargets)}`);
console.log(
  `# load average at the end ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
);
rmSync(dir, { recursive: true, force: true });
