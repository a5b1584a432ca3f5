import { describe, expect, it } from "vitest";
import { assistantMaskFromSpans, charToToken } from "./mask.js";

/** Offsets of tokens "ab" "c" "de" "f" over "abcdef". */
const OFFSETS = Uint32Array.of(0, 2, 2, 3, 3, 5, 5, 6);

describe("charToToken", () => {
  it("finds the first token containing a character", () => {
    expect([0, 1, 2, 3, 4, 5].map((c) => charToToken(OFFSETS, c))).toEqual([0, 0, 1, 2, 2, 3]);
    expect(charToToken(OFFSETS, 6)).toBe(-1);
  });

  it("prefers the first of several tokens sharing a split character", () => {
    // " 漢" split over three tokens: [0,2) [1,2) [1,2), then "字" [2,3)
    const split = Uint32Array.of(0, 2, 1, 2, 1, 2, 2, 3);
    expect(charToToken(split, 1)).toBe(0);
    expect(charToToken(split, 2)).toBe(3);
  });

  it("ignores specials outside the content range", () => {
    const withBos = Uint32Array.of(0, 0, 0, 2, 2, 4, 0, 0);
    expect(charToToken(withBos, 0, 1, 3)).toBe(1);
    expect(charToToken(withBos, 3, 1, 3)).toBe(2);
    expect(charToToken(withBos, 4, 1, 3)).toBe(-1);
  });
});

describe("assistantMaskFromSpans (transformers' rule)", () => {
  const mask = (spans: number[], offsets = OFFSETS) =>
    Array.from(assistantMaskFromSpans(offsets, Uint32Array.from(spans), offsets.length / 2));

  it("masks the tokens from char_to_token(start) to char_to_token(end - 1)", () => {
    expect(mask([2, 5])).toEqual([0, 1, 1, 0]);
    expect(mask([3, 4])).toEqual([0, 0, 1, 0]);
    // a span starting inside a token takes the whole token
    expect(mask([1, 3])).toEqual([1, 1, 0, 0]);
    expect(mask([2, 3, 5, 6])).toEqual([0, 1, 0, 1]);
  });

  it("a span whose end maps to token 0 runs to the end (transformers' `if end_token` quirk)", () => {
    expect(mask([0, 1])).toEqual([1, 1, 1, 1]);
  });

  it("a span whose start no token covers stops the loop, dropping later spans", () => {
    expect(mask([6, 6, 2, 3])).toEqual([0, 0, 0, 0]);
    expect(mask([2, 3, 6, 6])).toEqual([0, 1, 0, 0]);
  });

  it("an empty span masks nothing unless one token covers both sides (or its end maps to token 0)", () => {
    expect(mask([3, 3])).toEqual([0, 0, 0, 0]);
    expect(mask([4, 4])).toEqual([0, 0, 1, 0]);
    expect(mask([2, 2])).toEqual([0, 1, 1, 1]);
  });
});
