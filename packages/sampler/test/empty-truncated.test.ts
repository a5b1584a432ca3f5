import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SamplerError } from "../src/errors.js";
import { openLocalDataset } from "../src/sources.js";
import { qaRows, tempDir, writeParquet } from "./fixtures.js";

async function failure(run: () => Promise<unknown>): Promise<SamplerError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(SamplerError);
    return error as SamplerError;
  }
  throw new Error("expected a SamplerError");
}

describe("empty and truncated dataset files", () => {
  const dir = tempDir();

  it("an empty file (JSONL, JSON, Parquet with no rows, 0-byte Parquet) says so and names the file", async () => {
    const cases: [string, string | Buffer][] = [
      ["empty.jsonl", ""],
      ["blank.jsonl", "\n\n"],
      ["empty.json", "[]"],
      ["zero.parquet", Buffer.alloc(0)],
    ];
    for (const [name, content] of cases) {
      const file = join(dir, name);
      writeFileSync(file, content);
      const e = await failure(() => openLocalDataset(file).columns());
      expect(e.code).toBe("EMPTY_DATASET");
      expect(e.file).toBe(file);
      expect(e.message).toContain(file);
      expect(e.message).toMatch(/empty: (0 bytes, )?no rows/);
    }
    const noRows = writeParquet(join(dir, "no-rows.parquet"), []);
    const e = await failure(() => openLocalDataset(noRows).columns());
    expect(e.code).toBe("EMPTY_DATASET");
    expect(e.message).toBe(`[sampler] ${noRows}: empty: no rows`);
  });

  it("a truncated Parquet file names the file and what is wrong, not only the reader's footer message", async () => {
    const whole = writeParquet(join(dir, "whole.parquet"), qaRows(50));
    const bytes = readFileSync(whole);
    for (const keep of [bytes.length - 1, Math.floor(bytes.length / 2), 5]) {
      const file = join(dir, `cut-${keep}.parquet`);
      writeFileSync(file, bytes.subarray(0, keep));
      const e = await failure(() => openLocalDataset(file).columns());
      expect(e.code).toBe("CORRUPT_FILE");
      expect(e.file).toBe(file);
      expect(e.message).toContain(`${file}: not a complete Parquet file (${keep} bytes;`);
      expect(e.message).toContain("truncated");
    }
  });
});
