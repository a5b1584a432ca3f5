/**
 * The conformance goldens (tools/chat-conformance/generate.py) and the check of one suite against our engine, shared
 * by conformance.test.ts and trl-stock.interop.test.ts.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { BUILTIN_TEMPLATES } from "../src/builtin-templates.js";
import { ChatEncoder } from "../src/encoder.js";
import { ChatError } from "../src/errors.js";
import { normalizeMessages } from "../src/input.js";
import { loadTokenizer } from "../src/node.js";
import { parseJsonPython } from "../src/python-jinja.js";
import { ChatTemplate } from "../src/template.js";
import type { ChatTokenizer } from "../src/tokenizer.js";

export const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "conformance");
const require = createRequire(import.meta.url);

export interface Conversation {
  id: string;
  messages: unknown;
  kwargs?: Record<string, unknown>;
}

export interface Case {
  id: string;
  text?: string;
  ids?: number[];
  offsets?: number[];
  mask?: string;
  error?: string;
}

export interface Suite {
  suite: string;
  tokenizer: string;
  tokenizerPackage: string;
  template: string;
  templateSha256: string;
  masks: boolean;
  cases: Case[];
}

export const manifest = JSON.parse(readFileSync(join(GOLDEN, "manifest.json"), "utf8")) as {
  conversations: number;
  templates: Record<string, string>;
  templateSources: Record<string, string>;
};
export const conversations = parseJsonPython(
  readFileSync(join(GOLDEN, "conversations.json"), "utf8"),
) as Conversation[];
export const allSuites = Object.keys(manifest.templates);
/** Suites whose stock template is one of trl's original templates (read only where Python finds trl). */
export const trlSuites = allSuites.filter((name) => manifest.templateSources[name]?.startsWith("trl/"));
/** Built-ins with a `<name>-stock` and a `<name>-builtin` suite. */
export const FAMILIES = ["qwen3", "qwen2.5", "llama3", "gemma3", "qwen3-instruct-2507", "gemma2", "mistral-nemo"];

export function loadSuite(name: string): Suite {
  return JSON.parse(readFileSync(join(GOLDEN, "suites", `${name}.json`), "utf8")) as Suite;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

const tokenizers = new Map<string, ChatTokenizer>();
export function tokenizerOf(suite: Suite): ChatTokenizer {
  let tok = tokenizers.get(suite.tokenizer);
  if (tok === undefined) {
    const dir = dirname(require.resolve(`${suite.tokenizerPackage}/models/tokenizer.json`));
    tok = loadTokenizer(dir, { name: suite.tokenizer });
    tokenizers.set(suite.tokenizer, tok);
  }
  return tok;
}

export function templateText(suite: Suite, tok: ChatTokenizer): string {
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
export function utf16Offsets(text: string, offsets: number[]): number[] {
  const at: number[] = [];
  let u = 0;
  for (const ch of text) {
    at.push(u);
    u += ch.length;
  }
  at.push(u);
  return offsets.map((o) => at[o] as number);
}

export interface SuiteStats {
  answered: number;
  sameText: number;
  sameIds: number;
  sameMasks: number;
  errors: number;
  refused: number;
}

/**
 * Runs every conversation of `suite` through our engine with template `source`: where transformers answered, text,
 * ids, offsets and (with markers) the mask must be identical; where it raised, we must raise TEMPLATE_ERROR; the one
 * other outcome allowed is the documented refusal of null content. Returns the counts and the failures.
 */
export function checkSuite(suite: Suite, source: string): { stats: SuiteStats; failures: string[] } {
  const tok = tokenizerOf(suite);
  const encoder = new ChatEncoder({
    tokenizer: tok,
    template: new ChatTemplate(source, { name: suite.suite, requireGenerationMarkers: suite.masks }),
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
  return { stats, failures };
}
