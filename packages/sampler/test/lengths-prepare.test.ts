/** Lengths with the real Qwen3 tokenizer (in-thread and in 2 worker threads) and the whole prepare pipeline. */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ChatEncoder, exampleFromRow, resolveChatTemplate } from "@logitpack/chat";
import { loadTokenizer } from "@logitpack/chat/node";
import { asyncBufferFromFile, parquetMetadataAsync, parquetSchema } from "hyparquet";
import { describe, expect, it } from "vitest";
import { numBatches } from "../src/batches.js";
import { SamplerError } from "../src/errors.js";
import {
  computeLengths,
  IN_THREAD_ROWS,
  type LengthsResult,
  readLengths,
  workerExecArgv,
  writeLengthsParquet,
} from "../src/lengths.js";
import { prepareBatches } from "../src/prepare.js";
import { openLocalDataset } from "../src/sources.js";
import { QWEN3_DIR, qaRows, tempDir, writeJsonl, writeParquet } from "./fixtures.js";

const dir = tempDir();
const rows = qaRows(300);
const shape = { kind: "columns", userCol: "question", assistantCol: "answer" } as const;
const encoderSpec = { tokenizerDir: QWEN3_DIR, chatTemplate: "qwen", skipRules: "think-tags-and-end" };
const jsonl = writeJsonl(join(dir, "qa.jsonl"), rows);
const parquet = writeParquet(join(dir, "qa.parquet"), rows, 64);

let inThread: LengthsResult;

describe("computeLengths", () => {
  it("in this thread: the encoder's length and extract tokens for every row, in order", async () => {
    const progress: number[] = [];
    inThread = await computeLengths({
      source: openLocalDataset(parquet),
      shape,
      encoder: encoderSpec,
      batchRows: 50,
      onProgress: (p) => progress.push(p.rows),
    });
    expect(inThread.rows).toBe(300);
    expect(progress.at(-1)).toBe(300);
    const tok = loadTokenizer(QWEN3_DIR);
    const enc = new ChatEncoder({ tokenizer: tok, template: resolveChatTemplate({ builtin: "qwen" }) });
    for (const i of [0, 5, 22, 299]) {
      const e = enc.encode(exampleFromRow(rows[i] as unknown as Record<string, unknown>, shape));
      expect(inThread.length[i]).toBe(e.ids.length);
    }
    // the empty answer still has the think block; with think tags and <|im_end|> skipped, only "\n\n" x2 remain
    expect(inThread.extractTokens[5]).toBe(2);
    expect(inThread.encoder.skipRules.specialTokens).toBe(true);
    expect(Array.from(inThread.index.subarray(0, 3))).toEqual([0, 1, 2]);
  });

  it("2 worker threads (--num-proc 2) give identical results", { timeout: 60_000 }, async () => {
    const workers = await computeLengths({
      source: openLocalDataset(jsonl),
      shape,
      encoder: encoderSpec,
      numProc: 2,
      useWorkers: true, // from the first row (300 rows would otherwise all be measured here: IN_THREAD_ROWS)
      batchRows: 32,
    });
    expect(Array.from(workers.length)).toEqual(Array.from(inThread.length));
    expect(Array.from(workers.extractTokens)).toEqual(Array.from(inThread.extractTokens));
    expect(workers.tokens).toBe(inThread.tokens);
    expect([inThread.workers, workers.workers]).toEqual([0, 2]);
  });

  it("--num-proc 2: the first IN_THREAD_ROWS rows in this thread, workers only when more come; the same lengths", {
    timeout: 60_000,
  }, async () => {
    const small = await computeLengths({ source: openLocalDataset(jsonl), shape, encoder: encoderSpec, numProc: 2 });
    expect(small.workers).toBe(0);
    expect(Array.from(small.length)).toEqual(Array.from(inThread.length));
    const many = qaRows(IN_THREAD_ROWS + 700);
    const big = await computeLengths({
      source: openLocalDataset(writeJsonl(join(dir, "qa-many.jsonl"), many)),
      shape,
      encoder: encoderSpec,
      numProc: 2,
    });
    expect([big.rows, big.workers]).toEqual([IN_THREAD_ROWS + 700, 2]);
    // the first 300 rows are the same rows as the small file's, and all equal what one thread measures
    expect(Array.from(big.length.subarray(0, 300))).toEqual(Array.from(inThread.length));
    const one = await computeLengths({
      source: openLocalDataset(join(dir, "qa-many.jsonl")),
      shape,
      encoder: encoderSpec,
    });
    expect(one.workers).toBe(0);
    expect(Array.from(big.length)).toEqual(Array.from(one.length));
    expect(Array.from(big.extractTokens)).toEqual(Array.from(one.extractTokens));
  });

  it("writes index + length Parquet that joins back by index", async () => {
    const file = join(dir, "lengths.parquet");
    writeLengthsParquet(file, inThread);
    const md = await parquetMetadataAsync(await asyncBufferFromFile(file));
    expect(parquetSchema(md).children.map((c) => [c.element.name, c.element.type])).toEqual([
      ["index", "INT32"],
      ["length", "INT32"],
      ["extract_tokens", "INT32"],
    ]);
    expect(md.key_value_metadata?.find((kv) => kv.key === "logitpack.chat")?.value).toContain('"name":"qwen"');
    expect(JSON.parse(md.key_value_metadata?.find((kv) => kv.key === "logitpack.input")?.value ?? "{}")).toEqual(shape);
    const table = await readLengths(openLocalDataset(file));
    expect(Array.from(table.length.subarray(0, 300))).toEqual(Array.from(inThread.length));
    expect(Array.from(table.extractTokens?.subarray(0, 300) ?? [])).toEqual(Array.from(inThread.extractTokens));
  });

  it("a missing column names it, its flag and the existing columns", async () => {
    let error: unknown;
    try {
      await computeLengths({
        source: openLocalDataset(parquet),
        shape: { kind: "columns", userCol: "question", assistantCol: "response" },
        encoder: encoderSpec,
        flagOf: (c) => (c === "response" ? "--assistant-col" : "--user-col"),
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SamplerError);
    expect((error as SamplerError).code).toBe("MISSING_COLUMN");
    expect((error as SamplerError).flag).toBe("--assistant-col");
    expect((error as Error).message).toContain(
      'no column "response" in the dataset; its columns are: "question", "answer", "subject"',
    );
    let lengthCol: unknown;
    try {
      await readLengths(openLocalDataset(parquet), { lengthCol: "len" });
    } catch (e) {
      lengthCol = e;
    }
    expect((lengthCol as SamplerError).flag).toBe("--tokenized-dataset");
  });

  it("invalid rows: an error with the row number, or skipped and reported", async () => {
    const bad = writeJsonl(join(dir, "bad.jsonl"), [rows[0], { ...rows[1], answer: "x\uFDD0" }, rows[2]]);
    await expect(computeLengths({ source: openLocalDataset(bad), shape, encoder: encoderSpec })).rejects.toThrow(
      /row 1.*sentinel/,
    );
    const skipped = await computeLengths({
      source: openLocalDataset(bad),
      shape,
      encoder: encoderSpec,
      invalidRows: "skip",
    });
    expect(Array.from(skipped.length).map((l) => l > 0)).toEqual([true, false, true]);
    expect(skipped.invalid.map((x) => x.row)).toEqual([1]);
    // prepareBatches leaves the invalid row out instead of failing
    const prepared = await prepareBatches({ source: openLocalDataset(bad), lengths: skipped });
    expect(prepared.stats.skippedNoLength).toBe(1);
    expect(Array.from(prepared.plan.order).sort()).toEqual([0, 2]);
  });
});

describe("other input shapes", () => {
  it("a messages column (multi-turn, ShareGPT) and a base-model text column", async () => {
    const convs = [
      {
        conversations: [
          { from: "human", value: "Hi" },
          { from: "gpt", value: "Hello!" },
        ],
      },
      {
        conversations: [
          { role: "user", content: "a" },
          { role: "assistant", content: "" },
        ],
      },
      {
        conversations: [
          { role: "user", content: "1?" },
          { role: "assistant", content: "One." },
          { role: "user", content: "2?" },
          { role: "assistant", content: "Two." },
        ],
      },
    ];
    const file = writeJsonl(join(dir, "conv.jsonl"), convs);
    const msgShape = { kind: "messages", column: "conversations" } as const;
    const lengths = await computeLengths({ source: openLocalDataset(file), shape: msgShape, encoder: encoderSpec });
    // think tags and <|im_end|> skipped: the empty reply keeps its two "\n\n" tokens, the others their text too
    expect(lengths.extractTokens[1]).toBe(2);
    expect(lengths.extractTokens[2]).toBeGreaterThan(lengths.extractTokens[0] as number);
    const noLengths = await prepareBatches({ source: openLocalDataset(file), shape: msgShape });
    expect(noLengths.stats.skippedEmpty).toBe(1);
    const text = writeJsonl(join(dir, "text.jsonl"), [{ t: "Once upon a time" }, { t: "" }, { t: "The end." }]);
    const base = await computeLengths({
      source: openLocalDataset(text),
      shape: { kind: "text", textCol: "t" },
      encoder: { tokenizerDir: QWEN3_DIR },
    });
    expect(Array.from(base.extractTokens)).toEqual(Array.from(base.length));
    expect(base.length[1]).toBe(0);
    const prepared = await prepareBatches({ source: openLocalDataset(text), lengths: base });
    expect(prepared.stats.skippedEmpty).toBe(1);
    expect(Array.from(prepared.plan.order)).toEqual([0, 2]);
  });
});

describe("prepareBatches", () => {
  it("joins lengths, filters, samples per subject, batches longest first; deterministic", async () => {
    const run = () =>
      prepareBatches({
        source: openLocalDataset(parquet),
        shape,
        lengths: inThread,
        subjectCol: "subject",
        select: { maxSeqLen: 600, sampleSubject: { "*": 60, math: 20 }, randomSample: true, seed: 7 },
      });
    const a = await run();
    const b = await run();
    expect(a).toEqual(b);
    const tooLong = Array.from(inThread.length).filter((l) => l > 600).length;
    expect(a.stats.skippedTooLong).toBe(tooLong);
    expect(a.stats.perSubject?.math).toBeLessThanOrEqual(20);
    expect(a.stats.selected).toBe(a.plan.order.length);
    const lens = Array.from(a.plan.lengths ?? []);
    expect(lens).toEqual([...lens].sort((x, y) => y - x));
    expect(a.sorted).toBe(true);
    expect(a.padding?.waste).toBeLessThan(0.1);
  });

  it("shards partition the selection", async () => {
    const whole = await prepareBatches({ source: openLocalDataset(jsonl), lengths: inThread, shape });
    const seen: number[] = [];
    let batches = 0;
    for (let s = 0; s < 3; s++) {
      const p = await prepareBatches({
        source: openLocalDataset(jsonl),
        lengths: inThread,
        shape,
        shard: { index: s, count: 3 },
      });
      seen.push(...p.plan.order);
      batches += numBatches(p.plan);
      expect(p.totalBatches).toBe(numBatches(whole.plan));
    }
    expect(batches).toBe(numBatches(whole.plan));
    expect(seen.sort((x, y) => x - y)).toEqual(Array.from(whole.plan.order).sort((x, y) => x - y));
  });

  it("without lengths: dataset order, conservative batch size, empty answers dropped by text", async () => {
    const p = await prepareBatches({ source: openLocalDataset(jsonl), shape, select: { maxSeqLen: undefined } });
    expect(p.sorted).toBe(false);
    const empties = rows.filter((r) => r.answer.trim() === "").length;
    expect(p.stats.skippedEmpty).toBe(empties);
    expect(numBatches(p.plan)).toBe(300 - empties);
    expect(Array.from(p.plan.order)).toEqual(Array.from(p.plan.order).sort((x, y) => x - y));
    const sized = await prepareBatches({ source: openLocalDataset(jsonl), shape, unsortedBatchSize: 8 });
    expect(numBatches(sized.plan)).toBe(Math.ceil((300 - empties) / 8));
  });

  it("errors: missing subject column, lengths that do not cover the dataset, all-zero assistant tokens", async () => {
    await expect(prepareBatches({ source: openLocalDataset(jsonl), subjectCol: "topic" })).rejects.toThrow(
      /--subject-col.*no column "topic".*"question", "answer", "subject"/,
    );
    const short = { length: inThread.length.slice(0, 100), extractTokens: undefined };
    await expect(prepareBatches({ source: openLocalDataset(jsonl), lengths: short })).rejects.toThrow(
      /cover 100 examples but the dataset has 300/,
    );
    const long = { length: Int32Array.from({ length: 400 }, () => 5), extractTokens: undefined };
    await expect(prepareBatches({ source: openLocalDataset(jsonl), lengths: long })).rejects.toThrow(
      /entry for index 300 but the dataset has 300 rows/,
    );
    const holes = { length: inThread.length.slice(), extractTokens: undefined };
    holes.length[7] = -1;
    await expect(prepareBatches({ source: openLocalDataset(jsonl), lengths: holes })).rejects.toThrow(
      /example 7 has no precomputed length/,
    );
    const skipped = await prepareBatches({ source: openLocalDataset(jsonl), lengths: holes, missingLengths: "skip" });
    expect(skipped.stats.skippedNoLength).toBe(1);
    expect(Array.from(skipped.plan.order)).not.toContain(7);
    const zero = { length: inThread.length, extractTokens: new Int32Array(300) };
    await expect(prepareBatches({ source: openLocalDataset(jsonl), lengths: zero })).rejects.toThrow(
      /0 assistant tokens in all 300/,
    );
  });
});

describe("length workers started from `node --input-type=module -e`", () => {
  it("drop the flag a worker refuses and keep the others (loaders)", () => {
    expect(workerExecArgv(["--input-type=module", "--import", "tsx"])).toEqual(["--import", "tsx"]);
    expect(workerExecArgv(["--input-type", "module", "--no-warnings"])).toEqual(["--no-warnings"]);
  });

  it("compute lengths in a worker from an inline ES module script", { timeout: 60_000 }, () => {
    const dist = pathToFileURL(join(import.meta.dirname, "..", "dist", "index.js")).href;
    const script = `
      const { computeLengths, openLocalDataset } = await import(${JSON.stringify(dist)});
      const r = await computeLengths({ source: openLocalDataset(${JSON.stringify(jsonl)}), numProc: 1, useWorkers: true, batchRows: 64,
        shape: ${JSON.stringify(shape)}, encoder: ${JSON.stringify(encoderSpec)} });
      console.log(JSON.stringify({ rows: r.rows, tokens: r.tokens }));`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(JSON.parse(out.trim().split("\n").at(-1) ?? "{}")).toEqual({ rows: 300, tokens: inThread.tokens });
  });
});
