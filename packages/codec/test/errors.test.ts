import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  CodecError,
  type CodecErrorCode,
  type EncodedRow,
  encodeLogitFile,
  encodeNucleusSample,
  openLogitFile,
} from "../src/index.js";
import { openLogitFileAt } from "../src/node.js";
import { query } from "./duckdb.js";
import { randomInput, rng } from "./gen.js";
import { cloneRow, type RawRow, rawFile } from "./raw.js";

const r = rng(5);
const good: EncodedRow[] = Array.from({ length: 4 }, (_, i) =>
  encodeNucleusSample(randomInput(100 + i, r, { tokens: 5 + i, count: 3, sampledN: 4 })),
);

async function readAll(bytes: Uint8Array, name = "bad.parquet"): Promise<void> {
  const file = await openLogitFile(bytes, { name });
  for await (const _ of file.batches()) {
    // decode everything
  }
}

async function expectError(
  run: () => Promise<unknown>,
  code: CodecErrorCode,
  where: { row?: number; column?: string; message?: RegExp } = {},
): Promise<CodecError> {
  let caught: unknown;
  try {
    await run();
  } catch (error) {
    caught = error;
  }
  expect(caught, "expected a CodecError").toBeInstanceOf(CodecError);
  const e = caught as CodecError;
  expect(e.code).toBe(code);
  if (where.row !== undefined) {
    expect(e.row).toBe(where.row);
  }
  if (where.column !== undefined) {
    expect(e.column).toBe(where.column);
  }
  if (where.message) {
    expect(e.message).toMatch(where.message);
  }
  return e;
}

function broken(edit: (row: RawRow) => void, at = 2): RawRow[] {
  const rows = good.map(cloneRow);
  edit(rows[at] as RawRow);
  return rows;
}

describe("malformed rows raise typed errors naming the row and column", () => {
  it("counts that do not add up", async () => {
    const rows = broken((row) => {
      (row.columns["top_counts"] as number[])[0] = 4;
    });
    const e = await expectError(async () => readAll(await rawFile(rows)), "INCONSISTENT_ROW", {
      row: 2,
      column: "top_counts",
    });
    expect(e.message).toContain("bad.parquet");
  });

  it("short high-bit bytes", async () => {
    const rows = broken((row) => {
      row.columns["top_indices_high"] = (row.columns["top_indices_high"] as number[]).slice(1);
    });
    await expectError(async () => readAll(await rawFile(rows)), "INCONSISTENT_ROW", {
      row: 2,
      column: "top_indices_high",
    });
  });

  for (const [column, value] of [
    ["top_min", Number.NaN],
    ["top_max", Number.POSITIVE_INFINITY],
    ["sampled_min", Number.NEGATIVE_INFINITY],
    ["sampled_max", Number.NaN],
  ] as const) {
    it(`${value} in ${column}`, async () => {
      const rows = broken((row) => {
        (row.columns[column] as number[])[1] = value;
      }, 3);
      await expectError(async () => readAll(await rawFile(rows)), "INVALID_VALUE", { row: 3, column });
    });
  }

  it("max below min", async () => {
    const rows = broken((row) => {
      (row.columns["top_min"] as number[])[0] = 1e9;
    }, 0);
    await expectError(async () => readAll(await rawFile(rows)), "INVALID_VALUE", { row: 0, column: "top_max" });
  });

  it("NaN logsumexp", async () => {
    const rows = broken((row) => {
      (row.columns["logsumexp"] as number[])[2] = Number.NaN;
    }, 1);
    await expectError(async () => readAll(await rawFile(rows)), "INVALID_VALUE", { row: 1, column: "logsumexp" });
  });

  it("num_tokens that disagrees with the per-position columns", async () => {
    const rows = broken((row) => {
      row.numTokens += 1;
    }, 3);
    await expectError(async () => readAll(await rawFile(rows)), "INCONSISTENT_ROW", { row: 3, column: "top_counts" });
  });

  it("sampled entries that are not a whole number per position", async () => {
    const rows = broken((row) => {
      row.columns["sampled_indices_low"] = (row.columns["sampled_indices_low"] as number[]).slice(1);
      row.columns["sampled_logits_quantized"] = (row.columns["sampled_logits_quantized"] as number[]).slice(1);
      const n = (row.columns["sampled_indices_low"] as number[]).length;
      row.columns["sampled_indices_high"] = new Array(Math.ceil(n / 4)).fill(0);
    }, 1);
    await expectError(async () => readAll(await rawFile(rows)), "INCONSISTENT_ROW", {
      row: 1,
      column: "sampled_indices_low",
    });
  });

  it("ids and logits of different lengths", async () => {
    const rows = broken((row) => {
      row.columns["top_logits_quantized"] = (row.columns["top_logits_quantized"] as number[]).slice(1);
    }, 2);
    await expectError(async () => readAll(await rawFile(rows)), "INCONSISTENT_ROW", {
      row: 2,
      column: "top_logits_quantized",
    });
  });

  it("a truncated file, at every cut point of the footer and some in the data", async () => {
    const bytes = await encodeLogitFile(good);
    const cuts = [
      0,
      3,
      4,
      11,
      100,
      bytes.length - 300,
      bytes.length - 9,
      bytes.length - 8,
      bytes.length - 4,
      bytes.length - 1,
    ];
    for (const cut of cuts) {
      await expectError(() => readAll(bytes.subarray(0, cut)), "CORRUPT_FILE");
    }
  });

  it("a file on disk that does not exist", async () => {
    await expectError(() => openLogitFileAt("/nonexistent/shard.parquet"), "OUT_OF_RANGE", {
      message: /\/nonexistent\/shard\.parquet/,
    });
  });

  it("a column of the wrong type, naming expected and found", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logitpack-err-"));
    const path = join(dir, "wrong.parquet");
    await query(`COPY (SELECT 1::INTEGER AS index, 1::INTEGER AS num_tokens, [1]::USMALLINT[] AS top_indices_low,
      '\\x00'::BLOB AS top_indices_high, [1]::USMALLINT[] AS top_logits_quantized, [1]::INTEGER[] AS top_counts,
      [0.0]::FLOAT[] AS top_min, [1.0]::FLOAT[] AS top_max, []::USMALLINT[] AS sampled_indices_low, ''::BLOB AS sampled_indices_high,
      []::USMALLINT[] AS sampled_logits_quantized, [0.0]::FLOAT[] AS sampled_min, [0.0]::FLOAT[] AS sampled_max,
      [1.0]::DOUBLE[] AS logsumexp) TO '${path}' (FORMAT parquet)`);
    await expectError(() => openLogitFileAt(path), "SCHEMA_MISMATCH", {
      column: "top_counts",
      message: /expected list<uint8>, found list<int32>/,
    });
  });

  it("a missing column, listing the columns that exist", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logitpack-err-"));
    const path = join(dir, "missing.parquet");
    await query(`COPY (SELECT 1::INTEGER AS index, [1]::USMALLINT[] AS top_indices_low) TO '${path}' (FORMAT parquet)`);
    await expectError(() => openLogitFileAt(path), "SCHEMA_MISMATCH", {
      column: "num_tokens",
      message: /the file has: index, top_indices_low/,
    });
  });

  it("not a Parquet file at all", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logitpack-err-"));
    const path = join(dir, "notes.parquet");
    writeFileSync(path, "this is not parquet, just some text that is long enough");
    await expectError(() => openLogitFileAt(path), "CORRUPT_FILE", { message: /notes\.parquet/ });
  });

  it("the writer refuses rows that would store garbage", async () => {
    const bad = { ...good[0], columns: { ...good[0]?.columns, top_min: new Float32Array(1) } } as EncodedRow;
    await expectError(() => encodeLogitFile([bad]), "INCONSISTENT_ROW", { column: "top_min" });
    const wrongType = { ...good[0], columns: { ...good[0]?.columns, top_counts: new Uint16Array(5) } } as EncodedRow;
    await expectError(() => encodeLogitFile([wrongType]), "SCHEMA_MISMATCH", { column: "top_counts" });
    expect(() =>
      encodeNucleusSample({
        index: 0,
        topCounts: [2],
        topIds: [1],
        topLogits: [0],
        sampledIds: [],
        sampledLogits: [],
        logsumexp: [0],
      }),
    ).toThrow(CodecError);
    expect(() =>
      encodeNucleusSample({
        index: 0,
        topCounts: [1],
        topIds: [1],
        topLogits: [Number.NaN],
        sampledIds: [],
        sampledLogits: [],
        logsumexp: [0],
      }),
    ).toThrow(/position 0/);
  });
});
