import { describe, expect, it } from "vitest";
import { ChatEncoder } from "../src/encoder.js";
import { ChatError } from "../src/errors.js";
import { ChatTokenizer } from "../src/tokenizer.js";
import { tinyTokenizerJson } from "./tiny.js";

const slice = (text: string, offsets: Uint32Array) =>
  Array.from({ length: offsets.length / 2 }, (_, k) => text.slice(offsets[2 * k], offsets[2 * k + 1]));

describe("ChatTokenizer on a tiny byte-level BPE", () => {
  const tok = ChatTokenizer.fromJSON(tinyTokenizerJson(), { bos_token: "<s>", eos_token: { content: "<|end|>" } });

  it("maps merges, single bytes and added tokens to offsets", () => {
    const text = "the<|end|> é";
    const { ids, offsets } = tok.encodeWithOffsets(text);
    expect(tok.decode(ids)).toBe(text);
    expect(slice(text, offsets)).toEqual(["t", "he", "<|end|>", " ", "é", "é"]);
    expect(Array.from(offsets.subarray(8))).toEqual([11, 12, 11, 12]);
  });

  it("knows added/special tokens and the template variables", () => {
    expect(tok.tokenId("<|end|>")).toBe(301);
    expect(tok.tokenId(" the")).toBe(258);
    expect(tok.tokenId("nope")).toBeUndefined();
    expect(tok.isSpecial(301)).toBe(true);
    expect(tok.isAdded(258)).toBe(false);
    expect(tok.specialTokensMap()).toEqual({ bos_token: "<s>", eos_token: "<|end|>" });
    expect(tok.vocabSize).toBe(302);
  });

  it("added tokens with lstrip/rstrip cover the whitespace they swallow", () => {
    const strip = ChatTokenizer.fromJSON(
      tinyTokenizerJson({
        added: [
          { content: "<L>", lstrip: true },
          { content: "<R>", rstrip: true },
        ],
      }),
    );
    const text = "a  <L> b<R> \n c";
    const { ids, offsets } = strip.encodeWithOffsets(text);
    expect(slice(text, offsets)).toEqual(["a", "  <L>", " ", "b", "<R> \n ", "c"]);
    expect(ids.length).toBe(6);
  });

  it("post-processor specials (BOS/EOS) get (0, 0) offsets and stay out of the mask", () => {
    const bos = ChatTokenizer.fromJSON(
      tinyTokenizerJson({
        postProcessor: {
          type: "TemplateProcessing",
          single: [
            { SpecialToken: { id: "<s>", type_id: 0 } },
            { Sequence: { id: "A", type_id: 0 } },
            { SpecialToken: { id: "<|end|>", type_id: 0 } },
          ],
          pair: [],
          special_tokens: {},
        },
      }),
    );
    const r = bos.encodeWithOffsets("the", { addSpecialTokens: true });
    expect(Array.from(r.ids)).toEqual([300, 116, 257, 301]);
    expect(Array.from(r.offsets)).toEqual([0, 0, 0, 1, 1, 3, 0, 0]);
    expect([r.contentStart, r.contentEnd]).toEqual([1, 3]);
    const e = new ChatEncoder({ tokenizer: bos }).encode({ kind: "completion", prompt: "t", response: "he" });
    expect(Array.from(e.assistantMask)).toEqual([0, 0, 1, 0]);
    const plain = new ChatEncoder({ tokenizer: bos, addSpecialTokens: false }).encode({ kind: "text", text: "the" });
    expect(Array.from(plain.ids)).toEqual([116, 257]);
  });

  it("refuses tokenizers whose offsets it cannot verify", () => {
    const code = (json: Record<string, unknown>) => {
      try {
        ChatTokenizer.fromJSON(json, {});
        return "ok";
      } catch (error) {
        return (error as ChatError).code;
      }
    };
    expect(code(tinyTokenizerJson({ normalizer: { type: "Lowercase" } }))).toBe("UNSUPPORTED_TOKENIZER");
    expect(code(tinyTokenizerJson({ modelType: "Unigram" }))).toBe("UNSUPPORTED_TOKENIZER");
    expect(
      code(tinyTokenizerJson({ postProcessor: { type: "ByteLevel", trim_offsets: true, add_prefix_space: false } })),
    ).toBe("UNSUPPORTED_TOKENIZER");
    expect(code(tinyTokenizerJson({ normalizer: { type: "Sequence", normalizers: [{ type: "NFC" }] } }))).toBe("ok");
    expect(() => ChatTokenizer.fromJSON({ nothing: true })).toThrow(ChatError);
  });
});

describe("SentencePiece-style (metaspace) settings", () => {
  /** A tiny metaspace BPE: single characters, U+2581, byte fallback tokens, one merge. */
  function tinyMetaspace(extra: Record<string, unknown>): Record<string, unknown> {
    const vocab: Record<string, number> = { "<unk>": 0, "▁": 1, a: 2, b: 3, "▁a": 4 };
    for (let b = 0; b < 256; b++) {
      vocab[`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`] = 10 + b;
    }
    return {
      added_tokens: [{ id: 300, content: "<e>", special: true }],
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
      model: { type: "BPE", vocab, merges: ["▁ a"], byte_fallback: true, unk_token: "<unk>" },
      ...extra,
    };
  }
  const pieces = (tok: ChatTokenizer, text: string) => {
    const r = tok.encodeWithOffsets(text);
    return Array.from(r.ids, (id, k) => `${tok.tokenText(id)}@${r.offsets[2 * k]}-${r.offsets[2 * k + 1]}`);
  };

  it("Gemma style: Replace normalizer, no prepend; unknown characters as fallback bytes", () => {
    const tok = ChatTokenizer.fromJSON(
      tinyMetaspace({ normalizer: { type: "Replace", pattern: { String: " " }, content: "▁" } }),
    );
    expect(tok.family).toBe("metaspace");
    expect(pieces(tok, "a b<e> é")).toEqual([
      "a@0-1",
      " @1-2",
      "b@2-3",
      "<e>@3-6",
      " @6-7",
      "\ufffd@7-8",
      "\ufffd@7-8",
    ]);
  });

  it("Metaspace pre-tokenizer, prepend_scheme first: only the section at position 0 gets a marker", () => {
    const tok = ChatTokenizer.fromJSON(
      tinyMetaspace({
        pre_tokenizer: {
          type: "Sequence",
          pretokenizers: [
            { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: false },
            { type: "Digits", individual_digits: true },
          ],
        },
      }),
    );
    expect(pieces(tok, "a<e>a b")).toEqual([" a@0-1", "<e>@1-4", "a@4-5", " @5-6", "b@6-7"]);
    expect(pieces(tok, "<e>b")).toEqual(["<e>@0-3", "b@3-4"]);
  });

  it("rejects pre-tokenizers that drop text", () => {
    expect(() =>
      ChatTokenizer.fromJSON(
        tinyMetaspace({
          pre_tokenizer: { type: "WhitespaceSplit" },
          normalizer: { type: "Replace", pattern: { String: " " }, content: "▁" },
        }),
      ),
    ).toThrow(/pre-tokenizer WhitespaceSplit/);
  });
});
