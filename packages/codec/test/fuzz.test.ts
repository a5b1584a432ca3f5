import { describe, expect, it } from "vitest";
import {
  CodecError,
  encodeImportanceSample,
  encodeLogitFile,
  encodeNucleusSample,
  openLogitFile,
} from "../src/index.js";
import { randomInput, rng } from "./gen.js";
import { mutate } from "./mutate.js";

/**
 * Mutation fuzzing of the decoder: every mutated file must either decode or raise a CodecError: never another
 * exception type, a crash, a hang or an absurd allocation.
 */
async function decodeAll(bytes: Uint8Array): Promise<number> {
  const file = await openLogitFile(bytes, { name: "fuzz.parquet" });
  let rows = 0;
  for await (const b of file.batches()) {
    rows += b.numRows;
  }
  await file.readIndices();
  return rows;
}

describe("decoder fuzzing", () => {
  it("survives 10,000 mutated files with a decoded result or a CodecError", async () => {
    const r = rng(20261124);
    const nucleus = Array.from({ length: 6 }, (_, i) =>
      encodeNucleusSample(
        randomInput(i, r, { tokens: i === 0 ? 0 : 3 + i * 2, count: (rr) => 1 + Math.floor(rr() * 5), sampledN: 3 }),
      ),
    );
    const importance = [
      encodeImportanceSample({
        index: 1,
        counts: [2, 1],
        ids: [5, 70000, 9],
        draws: [3, 1, 4],
        logits: [1, -2, 0.5],
        logsumexp: [3, 2],
        logsumexpT: [2, 1.5],
      }),
    ];
    const bases = [
      await encodeLogitFile(nucleus, { compression: "none", rowGroupRows: 2 }),
      await encodeLogitFile(nucleus, { compression: "zstd", rowGroupRows: 3, compressionLevel: 1 }),
      await encodeLogitFile(nucleus, { compression: "none", intEncoding: "plain" }),
      await encodeLogitFile(importance, { layout: "importance", compression: "none" }),
    ];
    for (const base of bases) {
      expect(await decodeAll(base)).toBeGreaterThan(0);
    }
    const outcomes = { decoded: 0, codecErrors: 0 };
    const codes = new Map<string, number>();
    const started = Date.now();
    for (let i = 0; i < 10_000; i++) {
      const input = mutate(bases[i % bases.length] as Uint8Array, r);
      try {
        await decodeAll(input);
        outcomes.decoded++;
      } catch (error) {
        if (!(error instanceof CodecError)) {
          throw new Error(`mutation ${i} raised ${(error as Error).name}: ${(error as Error).message}`, {
            cause: error,
          });
        }
        outcomes.codecErrors++;
        codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
      }
    }
    expect(outcomes.decoded + outcomes.codecErrors).toBe(10_000);
    // most mutations must be caught, and the typical codes must occur
    expect(outcomes.codecErrors).toBeGreaterThan(5_000);
    expect(codes.get("CORRUPT_FILE")).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(120_000);
  }, 180_000);
});
