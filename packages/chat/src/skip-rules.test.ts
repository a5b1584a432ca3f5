import { describe, expect, it } from "vitest";
import { ChatError } from "./errors.js";
import { applySkipRules, parseSkipRules, resolveSkipRules, SKIP_RULE_PRESETS, skipRulesPreset } from "./skip-rules.js";
import { ChatTokenizer } from "./tokenizer.js";

// tiny byte-level vocab: ids = byte values, plus added tokens
function tinyTokenizer(): ChatTokenizer {
  const vocab: Record<string, number> = {};
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    vocab[String.fromCharCode(printable ? b : 256 + extra++)] = b;
  }
  const added = ["<think>", "</think>", "<|end|>"].map((content, i) => ({ id: 300 + i, content, special: i === 2 }));
  return ChatTokenizer.fromJSON(
    {
      model: { type: "BPE", vocab, merges: [] },
      added_tokens: added,
      pre_tokenizer: { type: "ByteLevel" },
      decoder: { type: "ByteLevel" },
      normalizer: null,
      post_processor: null,
    },
    {},
  );
}

const THINK = 300;
const END_THINK = 301;
const END = 302;
const NL = 10;

describe("skip rules", () => {
  const tok = tinyTokenizer();
  // <think> x \n </think> \n \n a <|end|> | \n(unmasked)
  const ids = [THINK, 120, NL, END_THINK, NL, NL, 97, END, NL];
  const mask = Uint8Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0]);
  const run = (rules: ReturnType<typeof skipRulesPreset>) =>
    Array.from(applySkipRules(ids, mask, resolveSkipRules(rules, tok)));

  it("presets", () => {
    expect(run(skipRulesPreset("none"))).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0]);
    expect(run(skipRulesPreset("think-tags"))).toEqual([0, 1, 1, 0, 1, 1, 1, 1, 0]);
    expect(run(skipRulesPreset("think-tags-and-end"))).toEqual([0, 1, 1, 0, 1, 1, 1, 0, 0]);
    expect(run(skipRulesPreset("no-reasoning"))).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 0]);
  });

  it("a region ends with the masked run (an unterminated <think> does not leak into the next turn)", () => {
    const ids2 = [THINK, 120, END, NL, 97, 98];
    const mask2 = Uint8Array.from([1, 1, 1, 0, 1, 1]);
    const rules = resolveSkipRules(skipRulesPreset("no-reasoning"), tok);
    expect(Array.from(applySkipRules(ids2, mask2, rules))).toEqual([0, 0, 0, 0, 1, 1]);
  });

  it("round-trips through JSON (dataset metadata) and parses presets", () => {
    const rules = parseSkipRules(JSON.stringify({ tokens: ["<|end|>"], whitespaceAfterSkipped: true }));
    expect(rules).toEqual({
      version: 1,
      tokens: ["<|end|>"],
      specialTokens: false,
      regions: [],
      whitespaceAfterSkipped: true,
    });
    expect(parseSkipRules(JSON.parse(JSON.stringify(rules)))).toEqual(rules);
    expect(parseSkipRules("think-tags")).toEqual(SKIP_RULE_PRESETS["think-tags"]);
  });

  it("malformed rules name the flag", () => {
    const bad = (v: unknown) => {
      try {
        parseSkipRules(v, "--skip-rules");
      } catch (error) {
        expect(error).toBeInstanceOf(ChatError);
        expect((error as ChatError).flag).toBe("--skip-rules");
        return (error as ChatError).message;
      }
      throw new Error("accepted");
    };
    expect(bad("{nope")).toMatch(/--skip-rules: not a preset .* not valid JSON/);
    expect(bad({ tokens: "x" })).toMatch(/"tokens" must be a list/);
    expect(bad({ regions: [{ open: "a" }] })).toMatch(/"regions"/);
    expect(bad({ version: 2 })).toMatch(/version 2/);
    expect(bad({ specialTokens: "yes" })).toMatch(/specialTokens/);
    expect(bad({ typo: 1 })).toMatch(/unknown field "typo"/);
    expect(bad([])).toMatch(/JSON object/);
  });

  it("a rule naming something that is not one token is an error", () => {
    expect(() => resolveSkipRules({ ...skipRulesPreset("none"), tokens: ["<thinking>"] }, tok)).toThrow(
      /"<thinking>" is not a single token/,
    );
  });
});
