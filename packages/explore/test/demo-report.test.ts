/// <reference lib="dom" />
/**
 * The first run a new user sees: the learned embedded teacher (`ensureLearnedTinyModel`, n-gram statistics of the
 * bundled sample dataset folded into the tiny decoder) run by `@logitpack/inference-gpu` on the bundled sample
 * conversations (every third one) (`packages/cli/data/sample-chats.jsonl`, rendered with the real Qwen3 tokenizer and the `qwen`
 * template as `logitpack extract` does), encoded by the codec, explored. The real token is looked up in the stored
 * nucleus directly (the encoder's ids at the mask positions) and through `alignSample`; a shift of the positions by
 * one would drop it far below the 80% the test asks for. The HTML report of one conversation is screenshotted to
 * `test-artifacts/demo-report.png` (mostly green tokens).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ChatEncoder, exampleFromRow, type InputShape } from "@logitpack/chat";
import { loadChatTemplate } from "@logitpack/chat/node";
import { encodeLogitFile, openLogitFile } from "@logitpack/codec";
import {
  encodeResult,
  ensureLearnedTinyModel,
  loadTeacher,
  type NucleusResult,
  runBatch,
  type Teacher,
} from "@logitpack/inference-gpu";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  alignSample,
  CHAT_METADATA_KEY,
  datasetStats,
  encoderForDataset,
  INPUT_METADATA_KEY,
  LogitDataset,
  renderHtmlReport,
  sampleInfo,
} from "../src/index.js";
import { qwenTokenizer } from "./qwen.js";

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, "..", "test-artifacts");
const samplePath = join(here, "..", "..", "cli", "data", "sample-chats.jsonl");
const shape: InputShape = { kind: "messages", column: "messages" };
const SUBSET = Array.from({ length: 100 }, (_, k) => 1 + 3 * k);
const cache = mkdtempSync(join(tmpdir(), "explore-learned-"));

let teacher: Teacher;
let rows: Record<string, unknown>[];
let ids: Uint32Array[];
let results: NucleusResult[];
let ds: LogitDataset;

beforeAll(async () => {
  rows = readFileSync(samplePath, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const tokenizer = qwenTokenizer();
  const encoder = new ChatEncoder({ tokenizer, template: loadChatTemplate("qwen", tokenizer) });
  teacher = await loadTeacher({ modelDir: await ensureLearnedTinyModel(cache), device: "cpu", thread: "caller" });
  // every third conversation (100 of 300: the test's time on a 2-core machine), keyed by its dataset index
  const examples = SUBSET.map((index) => {
    const e = encoder.encode(exampleFromRow(rows[index] as Record<string, unknown>, shape, index));
    return { index, inputIds: e.ids, extractMask: e.extractMask };
  });
  ids = examples.map((e) => e.inputIds);
  results = [];
  for (let i = 0; i < examples.length; i += 16) {
    results.push(...((await runBatch(teacher, examples.slice(i, i + 16), { seed: 1 })) as NucleusResult[]));
  }
  const bytes = await encodeLogitFile(results.map(encodeResult), {
    settings: { model: "embedded:tiny-qwen3", topP: 0.98, topPMax: 100, sampledN: 24, seed: 1 },
    keyValueMetadata: {
      [CHAT_METADATA_KEY]: JSON.stringify(encoder.metadata()),
      [INPUT_METADATA_KEY]: JSON.stringify(shape),
    },
  });
  ds = await LogitDataset.fromFiles([await openLogitFile(bytes, { name: "demo.parquet" })], "demo");
}, 300_000);

afterAll(async () => {
  await teacher?.close();
  rmSync(cache, { recursive: true, force: true });
});

describe("the learned embedded teacher on the bundled sample dataset", () => {
  it("stores the real next token in the nucleus at >= 80% of assistant positions (and not when shifted by one)", () => {
    let positions = 0;
    let inNucleus = 0;
    let shifted = 0;
    let top1 = 0;
    const sizes: number[] = [];
    results.forEach((r, k) => {
      const seq = ids[k] as Uint32Array;
      let off = 0;
      r.positions.forEach((p, t) => {
        const n = r.topCounts[t] as number;
        const nucleus = r.topIds.slice(off, off + n);
        off += n;
        positions++;
        sizes.push(n);
        // the distribution stored for token p is the teacher's prediction of token p
        if (nucleus.includes(seq[p] as number)) {
          inNucleus++;
        }
        if (nucleus[0] === seq[p]) {
          top1++;
        }
        if (p + 1 < seq.length && nucleus.includes(seq[p + 1] as number)) {
          shifted++;
        }
      });
    });
    sizes.sort((a, b) => a - b);
    console.log(
      `[demo] ${positions} assistant positions of ${results.length} conversations: real token in the nucleus ${((100 * inNucleus) / positions).toFixed(1)}%, top-1 ${((100 * top1) / positions).toFixed(1)}%, in the nucleus one position later ${((100 * shifted) / positions).toFixed(1)}%; nucleus size median ${sizes[sizes.length >> 1]}, p90 ${sizes[Math.floor(sizes.length * 0.9)]}, max ${sizes[sizes.length - 1]}, size 1 at ${((100 * sizes.filter((x) => x === 1).length) / positions).toFixed(1)}%`,
    );
    expect(positions).toBeGreaterThan(5_000);
    // inference-gpu found the final MatMul head: kept positions are gathered before it
    expect(teacher.gathersBeforeHead).toBe(true);
    expect(inNucleus / positions).toBeGreaterThanOrEqual(0.8);
    expect(top1 / positions).toBeGreaterThanOrEqual(0.7);
    expect(shifted / positions).toBeLessThan(0.3);
    // realistic nucleus sizes: mostly sure, some spread up to the cap
    expect(sizes[0]).toBe(1);
    expect(sizes[sizes.length - 1]).toBeGreaterThanOrEqual(50);
    expect(sizes.filter((s) => s > 1).length / sizes.length).toBeGreaterThan(0.1);
  });

  it("alignSample finds the real token in the nucleus as often; the HTML report shows it (screenshot)", async () => {
    const tokenizer = qwenTokenizer();
    let extracted = 0;
    let stored = 0;
    for (const row of [1, 4, 7, 151, 298]) {
      const { sample, settings } = await ds.findIndex(row);
      const a = await alignSample({
        encoder: encoderForDataset(tokenizer, ds.info()),
        example: { row: rows[row] as Record<string, unknown>, shape },
        sample,
        settings,
      });
      for (const t of a.tokens) {
        if (t.kind === "extracted") {
          extracted++;
          if (t.rank > 0) {
            stored++;
          }
        }
      }
    }
    expect(stored / extracted).toBeGreaterThanOrEqual(0.8);

    const { sample, settings, row } = await ds.findIndex(1);
    const alignment = await alignSample({
      encoder: encoderForDataset(tokenizer, ds.info()),
      example: { row: rows[1] as Record<string, unknown>, shape },
      sample,
      settings,
    });
    const html = renderHtmlReport({
      sampleInfo: sampleInfo(sample, { row, settings }),
      alignment,
      stats: await datasetStats(ds),
    });
    mkdirSync(artifacts, { recursive: true });
    writeFileSync(join(artifacts, "demo-report.html"), html);
    const executable = await browserExecutable();
    const browser: Browser = await chromium.launch({
      executablePath: executable.path,
      headless: true,
      args: [...executable.args, "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await page.goto(pathToFileURL(join(artifacts, "demo-report.html")).href);
      const tokens = page.locator("#conversation .tok.x");
      expect(await tokens.count()).toBe(alignment.counts.extracted);
      // mostly green: the real token's probability is high at most positions
      const greens = await tokens.evaluateAll(
        (els) =>
          els.filter((e) => {
            const m = /rgba?\((\d+), (\d+), (\d+)/.exec(getComputedStyle(e).backgroundColor);
            return m !== null && Number(m[2]) > Number(m[1]) + 20;
          }).length,
      );
      expect(greens / alignment.counts.extracted).toBeGreaterThan(0.6);
      await page.screenshot({ path: join(artifacts, "demo-report.png"), fullPage: true });
      await page.close();
    } finally {
      await browser.close();
    }
  }, 120_000);
});

async function browserExecutable(): Promise<{ path: string; args: string[] }> {
  const { existsSync } = await import("node:fs");
  const configured = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (existsSync(configured)) {
    return { path: configured, args: [] };
  }
  const bundled = (await import("@sparticuz/chromium")).default;
  return { path: await bundled.executablePath(), args: bundled.args };
}
