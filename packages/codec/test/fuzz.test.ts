import { describe, expect, it } from "vitest";
import { fuzz } from "./fuzz-core.js";

/**
 * Mutation fuzzing of the decoder over our files and pyarrow's/DuckDB's: every mutated file must either decode or
 * raise a CodecError (never another exception type, a crash, a hang or an absurd allocation), no decoded id may lie
 * outside [0, the file's id limit), and no case may take a second. The 20,000+ run is `pnpm fuzz` (its result is
 * in BENCHMARKS.md).
 */
describe("decoder fuzzing", () => {
  it("survives 10,000 mutated files of 8 writers/options with a decoded result or a CodecError", async () => {
    const stats = await fuzz(10_000);
    expect(stats.untyped).toEqual([]);
    expect(stats.outOfRangeIds).toBe(0);
    expect(stats.over1s).toBe(0);
    expect(stats.decoded + stats.codecErrors).toBe(10_000);
    // most mutations must be caught, and the typical codes must occur
    expect(stats.codecErrors).toBeGreaterThan(7_000);
    expect(stats.codes["CORRUPT_FILE"]).toBeGreaterThan(0);
    // files with page checksums (ours, pyarrow's with write_page_checksum) never decode to other values silently
    for (const name of ["ours-none", "ours-zstd", "ours-plain", "ours-importance", "pyarrow-v2"]) {
      expect(stats.byBase[name]?.different, name).toBe(0);
    }
  }, 240_000);
});
