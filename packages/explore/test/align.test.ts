import { ChatEncoder, exampleFromRow, type InputShape, skipRulesPreset } from "@logitpack/chat";
import { loadChatTemplate } from "@logitpack/chat/node";
import { encodeLogitFile, encodeNucleusSample, openLogitFile } from "@logitpack/codec";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type Alignment,
  type AlignmentMismatch,
  alignSample,
  analyzeSample,
  CHAT_METADATA_KEY,
  displayWidth,
  ExploreError,
  encoderForDataset,
  INPUT_METADATA_KEY,
  inputShapeOf,
  LogitDataset,
  renderAlignment,
  sha256Hex,
  toJSONText,
} from "../src/index.js";
import { qwenTokenizer } from "./qwen.js";
import { keptIds, PATTERN, teacherInput } from "./teacher.js";

const single: InputShape = { kind: "columns", userCol: "question", assistantCol: "answer" };
const multi: InputShape = { kind: "messages", column: "messages" };

const singleRows = [
  { question: "What is 2+2?", answer: "The answer is 4. Adding two and two gives four." },
  { question: "Name a prime number above 10.", answer: "Eleven (11) is prime: its only divisors are 1 and 11." },
];
const multiRows = [
  {
    messages: [
      { role: "system", content: "You are terse." },
      { role: "user", content: "Capital of France?" },
      { role: "assistant", content: "Paris." },
      { role: "user", content: "And of Japan? Think first." },
      { role: "assistant", content: "<think>\nJapan's capital is Tokyo.\n</think>\n\nTokyo — 東京 🗼." },
    ],
  },
];

async function dataset(
  rows: Record<string, unknown>[],
  shape: InputShape,
  encoder: ChatEncoder,
  options: { shift?: number; recordChat?: boolean } = {},
) {
  const inputs = rows.map((row, i) =>
    teacherInput(i, keptIds(encoder.encode(exampleFromRow(row, shape))), encoder.tokenizer.vocabSize, options.shift),
  );
  const template = encoder.template;
  const bytes = await encodeLogitFile(inputs.map(encodeNucleusSample), {
    settings: {
      model: "Qwen/Qwen3-0.6B",
      topP: 0.98,
      topPMax: 100,
      sampledN: 4,
      ...(template ? { templateHash: await sha256Hex(template.source) } : {}),
    },
    keyValueMetadata:
      options.recordChat === false
        ? {}
        : {
            [CHAT_METADATA_KEY]: JSON.stringify(encoder.metadata()),
            [INPUT_METADATA_KEY]: JSON.stringify(shape),
          },
  });
  return LogitDataset.fromFiles([await openLogitFile(bytes, { name: "qwen-test.parquet" })], "qwen-test");
}

function checkProbabilities(a: Alignment): void {
  const extracted = a.tokens.filter((t) => t.kind === "extracted");
  expect(extracted.length).toBe(a.numTokens);
  extracted.forEach((t, k) => {
    expect(t.position).toBe(k);
    const p = PATTERN[k % PATTERN.length] as number;
    if (p === 0) {
      expect(t.rank).toBe(0);
      expect(Number.isNaN(t.prob)).toBe(true);
      expect(t.probUpperBound).toBeGreaterThan(0);
    } else {
      expect(t.prob).toBeCloseTo(p, 3);
      expect(t.rank).toBe(1);
      expect(t.predictions[0]?.id).toBe(t.id);
    }
    expect(t.predictions.length).toBe(5);
  });
}

describe("alignment with the text (real Qwen3 tokenizer, qwen template)", () => {
  const tokenizer = qwenTokenizer();
  let encoder: ChatEncoder;
  beforeAll(() => {
    encoder = new ChatEncoder({
      tokenizer,
      template: loadChatTemplate("qwen", tokenizer),
      skipRules: skipRulesPreset("think-tags-and-end"),
    });
  });

  it("single turn: kept tokens map 1:1 to stored positions, end tokens skipped and shown greyed", async () => {
    const ds = await dataset(singleRows, single, encoder);
    const rebuilt = encoderForDataset(tokenizer, ds.info());
    expect(inputShapeOf(ds.info())).toEqual(single);
    for (let row = 0; row < singleRows.length; row++) {
      const { sample, settings } = await ds.sample(row);
      const a = await alignSample({
        encoder: rebuilt,
        example: { row: singleRows[row] as Record<string, unknown>, shape: single },
        sample,
        settings,
      });
      expect(a.warnings).toEqual([]);
      checkProbabilities(a);
      expect(a.counts.turns).toBe(1);
      const skipped = a.tokens.filter((t) => t.kind === "skipped");
      // Qwen3's template writes an empty think block before the last answer: its tags are skipped
      expect(skipped.map((t) => t.text)).toEqual(["<think>", "</think>", "<|im_end|>"]);
      // the kept text is the two newlines after the tags and the answer, exactly
      const kept = a.tokens
        .filter((t) => t.kind === "extracted")
        .map((t) => t.text)
        .join("");
      expect(kept).toBe(`\n\n\n\n${singleRows[row]?.answer}`);
      expect(a.tokens.filter((t) => t.kind === "prompt").some((t) => t.text.includes("user"))).toBe(true);
      expect(a.summary.top1Share).toBeCloseTo(5 / 6, 1);
    }
  });

  it("multi-turn with <think>: every assistant turn aligned, think tags and end tokens skipped", async () => {
    const ds = await dataset(multiRows, multi, encoder);
    const { sample, settings } = await ds.findIndex(0);
    const a = await alignSample({
      encoder: encoderForDataset(tokenizer, ds.info()),
      example: exampleFromRow(multiRows[0] as Record<string, unknown>, multi),
      sample,
      settings,
    });
    checkProbabilities(a);
    expect(a.counts.turns).toBe(2);
    // the one-call analysis (seed execute_analysis) fetches the row by source index and gives the same alignment
    const both = await analyzeSample(
      ds,
      { index: 0 },
      {
        encoder: encoderForDataset(tokenizer, ds.info()),
        example: async (i) => ({ row: multiRows[i] as Record<string, unknown>, shape: multi }),
      },
    );
    expect(both.alignment.tokens.map((t) => t.prob)).toEqual(a.tokens.map((t) => t.prob));
    expect(both.info.numTokens).toBe(a.numTokens);
    const turns = new Set(a.tokens.filter((t) => t.kind === "extracted").map((t) => t.turn));
    expect([...turns]).toEqual([0, 1]);
    const skipped = a.tokens.filter((t) => t.kind === "skipped").map((t) => t.text);
    expect(skipped).toContain("<think>");
    expect(skipped).toContain("</think>");
    expect(skipped.filter((s) => s === "<|im_end|>").length).toBe(2);
    const kept = a.tokens
      .filter((t) => t.kind === "extracted")
      .map((t) => t.text)
      .join("");
    expect(kept).toContain("Paris.");
    expect(kept).toContain("Japan's capital is Tokyo.");
    // tokens holding part of a multi-byte character show the whole character: check the covered text instead
    const last = a.tokens.filter((t) => t.kind === "extracted" && t.turn === 1);
    expect(a.text.slice(last[0]?.start, last.at(-1)?.end)).toBe(
      "\nJapan's capital is Tokyo.\n</think>\n\nTokyo — 東京 🗼.",
    );

    // a character split across byte-level tokens is shown once, on the token that completes it: the tokens' texts
    // concatenate to the text (no doubled "東", "🗼"), and the split ones are found (the offsets overlap)
    expect(a.tokens.map((t) => t.text).join("")).toBe(a.text);
    const overlaps = (k: number) => k > 0 && (a.tokens[k]?.start ?? 0) < (a.tokens[k - 1]?.end ?? 0);
    const completing = a.tokens.filter((_, k) => overlaps(k) && !overlaps(k + 1));
    expect(completing.map((t) => a.text.slice(t.start, t.end))).toEqual(expect.arrayContaining(["🗼"]));
    a.tokens.forEach((t, k) => {
      if (overlaps(k + 1)) {
        // the character is left to the next token
        expect(t.text).toBe(a.text.slice(t.start, a.tokens[k + 1]?.start));
      } else if (overlaps(k)) {
        expect(t.text).toBe(a.text.slice(t.start, t.end));
        expect([...t.text].some((ch) => (ch.codePointAt(0) ?? 0) > 127)).toBe(true);
      }
    });
    expect(plainTerminalText(renderAlignment(a, { color: false, width: 200 }))).not.toMatch(/東東|京京|🗼🗼|——/);

    // a token holding part of a multi-byte character is shown by its bytes, not a replacement character
    expect(a.tokens.some((t) => t.predictions.some((q) => /^<0x[0-9A-F]{2}( 0x[0-9A-F]{2})*>$/.test(q.text)))).toBe(
      true,
    );
    expect(a.tokens.some((t) => t.predictions.some((q) => q.text.includes("\uFFFD")))).toBe(false);
    // terminal: no escape codes without colour, coloured with, width respected
    const plain = renderAlignment(a, { color: false, width: 60 });
    expect(plain).not.toContain("\x1b[");
    expect(plain).toContain("Detailed Token Analysis:");
    expect(plain).toMatch(/"Paris" 0\.90 +\| "Paris"\(0\.90\)/);
    expect(plain).toContain("(skipped)");
    for (const line of plain.split("\n")) {
      expect(displayWidth(line)).toBeLessThanOrEqual(60);
    }
    const coloured = renderAlignment(a, { color: true, width: 100 });
    expect(coloured).toContain("\x1b[38;5;40m");
    expect(coloured).toContain("\x1b[2;38;5;244m");
    // JSON for scripts
    const json = JSON.parse(toJSONText(a)) as { tokens: { prob: number | null; kind: string }[] };
    expect(json.tokens.length).toBe(a.tokens.length);
    expect(json.tokens.some((t) => t.kind === "extracted" && t.prob === null)).toBe(true);
  });

  it("a deliberate template mismatch is reported with what differs, never a shifted table", async () => {
    const none = new ChatEncoder({ tokenizer, template: loadChatTemplate("qwen", tokenizer) });
    const ds = await dataset(singleRows, single, none);
    const { sample, settings } = await ds.sample(0);
    // the seed-000 template masks the content only: <|im_end|> is missing from the mask
    const wrong = encoderForDataset(tokenizer, ds.info(), { template: loadChatTemplate("seed-000", tokenizer) });
    const error = await alignSample({
      encoder: wrong,
      example: { row: singleRows[0] as Record<string, unknown>, shape: single },
      sample,
      settings,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExploreError);
    const e = error as ExploreError;
    expect(e.code).toBe("ALIGNMENT_MISMATCH");
    const d = e.details as AlignmentMismatch;
    expect(d.kind).toBe("count");
    // qwen masks the think block (4 tokens) and <|im_end|>, seed-000 the content only
    expect(d.storedPositions - d.extractTokens).toBe(5);
    expect(d.templateHash?.recorded).toBe(settings.templateHash);
    // the answer lines up 4 positions in: the think block the recorded template masks
    expect(d.bestOffset.offset).toBe(4);
    expect(d.bestOffset.hitRate).toBeGreaterThan(0.6);
    expect(e.message).toContain("the extraction kept 4 more token(s) before them");
    expect(e.message).toMatch(/stores \d+ positions but the re-rendered text has \d+ tokens with logits/);
    expect(e.message).toContain("template differs");
    // skip rules that differ are caught too
    const skipping = encoderForDataset(tokenizer, ds.info(), { skipRules: "think-tags-and-end" });
    await expect(
      alignSample({
        encoder: skipping,
        example: { row: singleRows[0] as Record<string, unknown>, shape: single },
        sample,
      }),
    ).rejects.toThrow(/the extraction skipped nothing/);
  });

  it("ids that line up only when shifted (an off-by-one mask) are reported", async () => {
    const ds = await dataset(singleRows, single, encoder, { shift: 1 });
    const { sample } = await ds.sample(1);
    const error = (await alignSample({
      encoder,
      example: { row: singleRows[1] as Record<string, unknown>, shape: single },
      sample,
    }).catch((e: unknown) => e)) as ExploreError;
    expect(error.code).toBe("ALIGNMENT_MISMATCH");
    const d = error.details as AlignmentMismatch;
    expect(d.kind).toBe("shift");
    expect(d.hitRates.shifts["1"]).toBeGreaterThan(0.6);
    expect(d.hitRates.shifts["0"]).toBeLessThan(0.3);
    expect(error.message).toContain("shifted by 1");
  });

  it("without recorded chat metadata a template must be given", async () => {
    const ds = await dataset(singleRows, single, encoder, { recordChat: false });
    expect(() => encoderForDataset(tokenizer, ds.info())).toThrow(/no chat template/);
    const given = encoderForDataset(tokenizer, ds.info(), {
      template: loadChatTemplate("qwen", tokenizer),
      skipRules: "think-tags-and-end",
    });
    const { sample, settings } = await ds.sample(0);
    checkProbabilities(
      await alignSample({
        encoder: given,
        example: { row: singleRows[0] as Record<string, unknown>, shape: single },
        sample,
        settings,
      }),
    );
  });
});

/** The terminal rendering without its table borders (for checks on the displayed text). */
function plainTerminalText(s: string): string {
  return s.replace(/[│|]/g, "");
}
