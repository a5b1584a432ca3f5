import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CodecError } from "./errors.js";
import { MAX_VOCAB, packedHighLength, packIndices, unpackIndices } from "./pack.js";

describe("index packing", () => {
  it("matches the seed's bit layout: entry j's high bits at bits 2*(j%4) of byte j/4", () => {
    const ids = [0x3ffff, 0x10001, 0x2abcd, 0x0ffff, 0x20000];
    const low = new Uint16Array(5);
    const high = new Uint8Array(packedHighLength(5));
    packIndices(ids, low, high);
    expect([...low]).toEqual([0xffff, 0x0001, 0xabcd, 0xffff, 0x0000]);
    // high parts 3,1,2,0 | 2  ->  byte0 = 3 | 1<<2 | 2<<4 | 0<<6 = 0b00100111, byte1 = 2
    expect([...high]).toEqual([0b00100111, 0b10]);
    const out = new Int32Array(5);
    unpackIndices(low, high, out);
    expect([...out]).toEqual(ids);
  });

  it("round-trips any ids in [0, 262144) of any length (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: MAX_VOCAB - 1 }), { maxLength: 300 }), (ids) => {
        const low = new Uint16Array(ids.length);
        const high = new Uint8Array(packedHighLength(ids.length));
        packIndices(ids, low, high);
        const out = new Int32Array(ids.length);
        unpackIndices(low, high, out);
        expect([...out]).toEqual(ids);
        expect(high.length).toBe(Math.ceil(ids.length / 4));
      }),
      { numRuns: 300 },
    );
  });

  it("refuses ids that would wrap instead of silently truncating them", () => {
    for (const bad of [MAX_VOCAB, -1, 1.5, Number.NaN, 1e9]) {
      const err = (() => {
        try {
          packIndices([1, bad], new Uint16Array(2), new Uint8Array(1));
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(CodecError);
      expect((err as CodecError).code).toBe("INVALID_VALUE");
      expect((err as CodecError).message).toContain("entry 1");
    }
  });
});
