/// <reference lib="dom" />
/**
 * The HTML report opened in headless Chromium (Debian's `chromium`, or the one @sparticuz/chromium ships on npm;
 * driven by playwright-core): coloured
 * tokens, the nucleus-size histogram, the per-position plot and a hover tooltip render, with no network request.
 * Screenshots are kept in `test-artifacts/` (git-ignored).
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ChatEncoder, exampleFromRow, type InputShape, skipRulesPreset } from "@logitpack/chat";
import { loadChatTemplate } from "@logitpack/chat/node";
import { encodeLogitFile, encodeNucleusSample, openLogitFile } from "@logitpack/codec";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  alignSample,
  CHAT_METADATA_KEY,
  datasetStats,
  encoderForDataset,
  fidelityReport,
  LogitDataset,
  positionDistribution,
  renderHtmlReport,
  sampleInfo,
} from "../src/index.js";
import { qwenTokenizer } from "./qwen.js";
import { keptIds, teacherInput } from "./teacher.js";

/**
 * The browser: CHROMIUM_PATH, else Debian's chromium, else (on a machine with only Node and the npm registry) the
 * Chromium that the npm package @sparticuz/chromium carries inside its tarball, unpacked to /tmp on first use.
 */
async function browserExecutable(): Promise<{ path: string; args: string[] }> {
  const configured = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (existsSync(configured)) {
    return { path: configured, args: [] };
  }
  const bundled = (await import("@sparticuz/chromium")).default;
  return { path: await bundled.executablePath(), args: bundled.args };
}
const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, "..", "test-artifacts");

const shape: InputShape = { kind: "messages", column: "messages" };
const row = {
  messages: [
    { role: "user", content: "Why is the sky blue? One sentence." },
    {
      role: "assistant",
      content:
        "Sunlight scatters off air molecules, and blue light scatters far more than red (Rayleigh scattering), so the sky looks blue.",
    },
    { role: "user", content: "And sunsets?" },
    {
      role: "assistant",
      content: "At sunset light crosses more air:\n\n- blue is scattered away\n- red & orange <remain>.",
    },
  ],
};

let browser: Browser;
let html: string;
let extracted = 0;

beforeAll(async () => {
  const executable = await browserExecutable();
  const tokenizer = qwenTokenizer();
  const encoder = new ChatEncoder({
    tokenizer,
    template: loadChatTemplate("qwen", tokenizer),
    skipRules: skipRulesPreset("think-tags-and-end"),
  });
  const real = keptIds(encoder.encode(exampleFromRow(row, shape)));
  const input = teacherInput(0, real, tokenizer.vocabSize);
  const bytes = await encodeLogitFile([encodeNucleusSample(input)], {
    settings: { model: "Qwen/Qwen3-0.6B", topP: 0.98, topPMax: 100, sampledN: 4 },
    keyValueMetadata: { [CHAT_METADATA_KEY]: JSON.stringify(encoder.metadata()) },
  });
  const ds = await LogitDataset.fromFiles([await openLogitFile(bytes, { name: "report.parquet" })], "report");
  const { sample, settings, row: r } = await ds.sample(0);
  const alignment = await alignSample({
    encoder: encoderForDataset(tokenizer, ds.info()),
    example: { row, shape },
    sample,
    settings,
  });
  extracted = alignment.counts.extracted;
  const stats = await datasetStats(ds);
  // a fidelity section against full distributions close to the stored ones (the stored entries perturbed a little,
  // the rest of the vocabulary uniform)
  const vocab = tokenizer.vocabSize;
  const fidelity = await fidelityReport(sample, {
    fullLogits: (t) => {
      const d = positionDistribution(sample, t);
      let storedMass = 0;
      for (const p of d.probs) {
        storedMass += p;
      }
      const full = new Float64Array(vocab).fill(Math.log(Math.max(1e-6, 1 - storedMass) / (vocab - d.ids.length)));
      d.ids.forEach((id, i) => {
        full[id] = (d.logits[i] as number) + 0.05 * Math.sin(id + t);
      });
      return full;
    },
  });
  html = renderHtmlReport({ sampleInfo: sampleInfo(sample, { row: r, settings }), alignment, stats, fidelity });
  mkdirSync(artifacts, { recursive: true });
  writeFileSync(join(artifacts, "report.html"), html);
  // playwright gives the browser a fresh temporary profile (--user-data-dir) of its own
  browser = await chromium.launch({
    executablePath: executable.path,
    headless: true,
    args: [
      ...executable.args,
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

describe("HTML report", () => {
  it("is one self-contained file: no external reference", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).not.toMatch(/\b(src|href)=["']?(https?:)?\/\//);
    expect(html).not.toMatch(/@import|url\(/);
    // user text is escaped, never markup
    expect(html).not.toContain("<remain>");
    expect(html).toContain("&lt;");
    expect(html).toContain("&amp;");
  });

  it("renders coloured tokens, the histogram, the per-position plot and a hover tooltip in Chromium", async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const requests: string[] = [];
    const errors: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") {
        errors.push(m.text());
      }
    });
    await page.goto(pathToFileURL(join(artifacts, "report.html")).href);

    // coloured tokens: one per extracted token, several colours, skipped tokens greyed
    const tokens = page.locator("#conversation .tok.x");
    expect(await tokens.count()).toBe(extracted);
    const colours = await tokens.evaluateAll((els) => [
      ...new Set(els.map((e) => getComputedStyle(e).backgroundColor)),
    ]);
    expect(colours.length).toBeGreaterThanOrEqual(4);
    expect(colours.every((c) => c.startsWith("rgb"))).toBe(true);
    const skipped = page.locator("#conversation .tok.s");
    expect(await skipped.count()).toBeGreaterThanOrEqual(4);
    expect(await skipped.first().evaluate((e) => getComputedStyle(e).color)).toBe("rgb(140, 149, 159)");

    // the histogram and the per-position plot are drawn (non-empty geometry)
    const bars = page.locator("#nucleus-histogram rect.bar");
    expect(await bars.count()).toBeGreaterThan(3);
    const box = await page.locator("#nucleus-histogram").boundingBox();
    expect(box?.width).toBeGreaterThan(300);
    const heights = await bars.evaluateAll((els) => els.map((e) => (e as SVGGraphicsElement).getBBox().height));
    expect(Math.max(...heights)).toBeGreaterThan(100);
    const path = await page.locator("#position-plot path.line").getAttribute("d");
    expect(path?.length ?? 0).toBeGreaterThan(50);
    expect(await page.locator("#position-plot .bars rect").count()).toBe(extracted);

    // hover: the tooltip shows the real token's probability and its top-5 predictions
    const first = tokens.nth(0);
    const firstText = await first.textContent();
    await first.hover();
    const tip = page.locator("#tip");
    await tip.waitFor({ state: "visible" });
    expect(await tip.locator("tr").count()).toBe(5);
    expect(await tip.textContent()).toContain("real token: 90.0% (rank 1, nucleus)");
    expect(await tip.locator("tr.real td").first().textContent()).toBe(JSON.stringify(firstText));
    await page.screenshot({ path: join(artifacts, "report-hover.png"), fullPage: false });

    // a token whose real token is not stored says so
    await tokens.nth(5).hover();
    expect(await tip.textContent()).toContain("not stored");
    // click pins the tooltip; moving away keeps it, Escape closes it
    await tokens.nth(2).click();
    await page.mouse.move(5, 5);
    expect(await tip.isVisible()).toBe(true);
    expect(await tip.textContent()).toContain("rank 1");
    await page.keyboard.press("Escape");
    expect(await tip.isVisible()).toBe(false);

    await page.screenshot({ path: join(artifacts, "report.png"), fullPage: true });
    expect(errors).toEqual([]);
    expect(requests.every((u) => u.startsWith("file:") || u.startsWith("data:"))).toBe(true);
    await page.close();
  }, 60_000);
});
