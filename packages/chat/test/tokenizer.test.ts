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
