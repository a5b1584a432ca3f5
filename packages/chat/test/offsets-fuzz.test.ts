/**
 * Fuzz of per-token offsets with the real Qwen3 tokenizer: 2,500 random strings mixing CJK, emoji ZWJ sequences,
 * skin tones, flags, combining marks, astral characters, CRLF, NBSP, contractions, digits and special/added
 * tokens inside the text. Offsets are checked against an independent, slow reference built from each token's
 * bytes, and the byte walk must reproduce the text exactly.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { ChatTokenizer } from "../src/tokenizer.js";
import { qwenTokenizer } from "./qwen.js";
import { rng } from "./rng.js";

let tok: ChatTokenizer;
beforeAll(() => {
  tok = qwenTokenizer();
});

const POOL = [
  "hello",
  " world",
  "The",
  " quick",
  "don't",
  "it's",
  "we'll",
  "12345",
  " 3.14159",
  "漢字",
  "中文测试",
  "日本語のテキスト",
  "한국어",
  "𠀋𠂢",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
  "👨‍👩‍👧‍👦",
  "👍🏽",
  "🇯🇵🇫🇷",
  "🙂",
  "🏳️‍🌈",
  "e\u0301",
  "Ångström",
  "naïve café",
  "مرحبا",
  "नमस्ते",
  "\r\n",
  "\n\n",
  "\t",
  "\u00a0",
  "  ",
  " ",
  "<|im_end|>",
  "<|im_start|>",
  "<think>",
  "</think>",
  "<|endoftext|>",
  "<tool_call>",
  "<|im_end",
  "<th",
  "ink>",
  "```js\nconst x = 1;\n```",
  "$$\\frac{a}{b}$$",
  "—",
  "…",
  "©®™",
  "\u200b",
  "\ufeff",
];

function randomCodePoint(r: () => number): string {
  const ranges: [number, number][] = [
    [0x20, 0x7e],
    [0xa0, 0x24f],
    [0x370, 0x3ff],
    [0x400, 0x4ff],
    [0x4e00, 0x9fff],
    [0xac00, 0xd7a3],
    [0xe000, 0xf8ff],
    [0x1f300, 0x1faff],
    [0x20000, 0x2a6df],
  ];
  const [lo, hi] = ranges[Math.floor(r() * ranges.length)] as [number, number];
  return String.fromCodePoint(lo + Math.floor(r() * (hi - lo + 1)));
}

function randomText(r: () => number): string {
  const parts: string[] = [];
  const n = 1 + Math.floor(r() * 24);
  for (let i = 0; i < n; i++) {
    parts.push(r() < 0.75 ? (POOL[Math.floor(r() * POOL.length)] as string) : randomCodePoint(r));
  }
  return parts.join("").normalize("NFC");
}

/** Reference offsets: the byte range of each token mapped to whole characters, computed naively. */
function referenceOffsets(text: string, ids: Uint32Array): number[] {
  const charStartOfByte: number[] = [];
  const charEndOfByte: number[] = [];
  let u = 0;
  for (const ch of text) {
    const bytes = new TextEncoder().encode(ch).length;
    for (let b = 0; b < bytes; b++) {
      charStartOfByte.push(u);
      charEndOfByte.push(u + ch.length);
    }
    u += ch.length;
  }
  const out: number[] = [];
  let p = 0;
  for (const id of ids) {
    const len = tok.tokenBytes(id).length;
    out.push(charStartOfByte[p] as number, charEndOfByte[p + len - 1] as number);
    p += len;
  }
  return out;
}

describe("offsets fuzz (Qwen3)", () => {
  it("2,500 random strings: offsets equal the reference, bytes rebuild the text, ids equal plain encode", () => {
    const r = rng(20260101);
    let tokens = 0;
    let splitChars = 0;
    let specials = 0;
    for (let i = 0; i < 2500; i++) {
      const text = randomText(r);
      const { ids, offsets, contentStart, contentEnd } = tok.encodeWithOffsets(text);
      expect(contentStart).toBe(0);
      expect(contentEnd).toBe(ids.length);
      expect(Array.from(ids)).toEqual(Array.from(tok.encode(text)));
      // bytes of all tokens, concatenated, are the text's UTF-8
      const parts = Array.from(ids, (id) => tok.tokenBytes(id));
      const total = parts.reduce((n, b) => n + b.length, 0);
      const joined = new Uint8Array(total);
      let at = 0;
      for (const b of parts) {
        joined.set(b, at);
        at += b.length;
      }
      expect(Buffer.from(joined).equals(Buffer.from(text, "utf8"))).toBe(true);
      expect(Array.from(offsets)).toEqual(referenceOffsets(text, ids));
      expect(tok.decode(ids)).toBe(text);
      for (let k = 1; k < ids.length; k++) {
        expect(offsets[2 * k] as number).toBeGreaterThanOrEqual(offsets[2 * k - 2] as number);
        expect(offsets[2 * k + 1] as number).toBeGreaterThanOrEqual(offsets[2 * k - 1] as number);
        if ((offsets[2 * k] as number) < (offsets[2 * k - 1] as number)) {
          splitChars++;
        }
      }
      for (const id of ids) {
        if (tok.isAdded(id)) {
          specials++;
        }
      }
      tokens += ids.length;
    }
    // the fuzz really exercised split characters and special tokens inside text
    expect(tokens).toBeGreaterThan(40_000);
    expect(splitChars).toBeGreaterThan(1000);
    expect(specials).toBeGreaterThan(1000);
  });

  it("text that is not NFC is tokenized as the NFC form and its offsets point into the raw text", () => {
    const raw = "cafe\u0301 au lait";
    const { ids, offsets } = tok.encodeWithOffsets(raw);
    expect(Array.from(ids)).toEqual(Array.from(tok.encode(raw.normalize("NFC"))));
    // the composed é maps to the raw "e" only; the combining mark is covered by no token (as `tokenizers` does)
    const covered = new Set<number>();
    for (let t = 0; t < ids.length; t++) {
      for (let c = offsets[2 * t] as number; c < (offsets[2 * t + 1] as number); c++) {
        covered.add(c);
      }
    }
    expect(covered.has(4)).toBe(false);
    expect(covered.has(3)).toBe(true);
  });
});
