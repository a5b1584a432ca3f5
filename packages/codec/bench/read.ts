/**
 * `bench/run.ts` helper: one reader over one file in a fresh process (so that no earlier measurement's heap, JIT
 * state or loaded addon affects it, as pyarrow's measurements run in their own process too). Prints
 * `{ wall, cpu }`: median seconds of `runs` runs after a warm-up.
 *
 *   tsx bench/read.ts ours|ours-unverified|threads|targets|hyparquet FILE RUNS TOKENS
 */
import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { parquetReadObjects } from "hyparquet";
import { batchTokens, toSparseTargets } from "../src/index.js";
import { ensureZstd, zstdDecompress } from "../src/internal/zstd.js";
import { fileSource, openLogitFileAt } from "../src/node.js";

const [reader, path, runsArg, tokensArg] = process.argv.slice(2) as [string, string, string, string];
const runs = Number(runsArg);
const tokens = Number(tokensArg);
const SHARDS = 8;
const threads = Math.max(2, cpus().length);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const check = (n: number, want: number) => {
  if (n !== want) {
    throw new Error(`${reader} decoded ${n} tokens of ${path}, expected ${want}`);
  }
};

const decode = async (verifyChecksums: boolean, targets = false) => {
  const file = await openLogitFileAt(path, { verifyChecksums });
  let n = 0;
  for await (const b of file.batches()) {
    n += batchTokens(b);
    if (targets && b.layout !== "importance") {
      toSparseTargets(b, { k: 16 });
    }
  }
  check(n, tokens);
};

// Worker threads load the built package when there is one (`pnpm bench` builds first), as a training loop would;
// from the sources each worker would compile them through tsx first.
const dist = new URL("../dist/node.js", import.meta.url);
const threaded = async () => {
  const { readShards } = (await import(
    existsSync(dist) ? dist.href : "../src/node.js"
  )) as typeof import("../src/node.js");
  let n = 0;
  for await (const { batch } of readShards(Array(SHARDS).fill(path), { threads })) {
    n += batchTokens(batch);
  }
  check(n, tokens * SHARDS);
};

const compressors = { ZSTD: (input: Uint8Array, n: number) => zstdDecompress(input, n).slice() };
const hyparquet = async () => {
  await ensureZstd();
  const read = await parquetReadObjects({ file: await fileSource(path), compressors, utf8: false });
  let n = 0;
  for (const row of read) {
    n += row["num_tokens"] as number;
  }
  check(n, tokens);
};

const f = {
  ours: () => decode(true),
  "ours-unverified": () => decode(false),
  targets: () => decode(true, true),
  threads: threaded,
  hyparquet,
}[reader];
if (!f) {
  throw new Error(`unknown reader ${reader}`);
}
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
const per = reader === "threads" ? SHARDS : 1;
console.log(JSON.stringify({ wall: median(walls) / per, cpu: median(cpuTimes) / per }));
process.exit(0);
