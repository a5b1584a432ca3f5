import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type EncodedRow,
  encodeLogitFile,
  encodeNucleusSample,
  encodeSample,
  type NucleusSample,
  openLogitFile,
  packedHighLength,
} from "../src/index.js";
import { openLogitFileAt } from "../src/node.js";
import { duckCopy, hex, LEGACY_SELECT, query, SEED_SELECT, writeRowsJson } from "./duckdb.js";
import { randomInput, rng } from "./gen.js";

const dir = mkdtempSync(join(tmpdir(), "logitpack-duckdb-"));

function makeRows(n: number, seed: number): EncodedRow[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) =>
    encodeNucleusSample(
      randomInput(i * 5 + 1, r, {
        tokens: i === 0 ? 0 : i === 1 ? 1 : 1 + Math.floor(r() * 80),
        count: (rr) => (rr() < 0.1 ? 100 : 1 + Math.floor(rr() * 6)),
        vocab: 151_936,
        degenerate: i === 2,
      }),
    ),
  );
}

const LIST_COLUMNS = [
  "top_indices_low",
  "top_logits_quantized",
  "top_counts",
  "top_min",
  "top_max",
  "sampled_indices_low",
  "sampled_logits_quantized",
  "sampled_min",
  "sampled_max",
  "logsumexp",
];

/** Compare what DuckDB reads against the rows we wrote, value by value. */
async function expectDuckSees(path: string, rows: EncodedRow[]): Promise<void> {
  const got = await query(
    `SELECT index, num_tokens, ${LIST_COLUMNS.join(", ")}, hex(top_indices_high) AS top_high, hex(sampled_indices_high) AS sampled_high
     FROM read_parquet('${path}') ORDER BY index`,
  );
  expect(got.length).toBe(rows.length);
  got.forEach((g, i) => {
    const row = rows[i] as EncodedRow;
    expect(g["index"]).toBe(row.index);
    expect(g["num_tokens"]).toBe(row.numTokens);
    for (const c of LIST_COLUMNS) {
      const want = Array.from(row.columns[c] as ArrayLike<number>);
      const have = (g[c] as (number | string)[]).map(Number);
      if (c.endsWith("_min") || c.endsWith("_max")) {
        expect(have.map(Math.fround)).toEqual(want);
      } else {
        expect(have).toEqual(want);
      }
    }
    expect(g["top_high"]).toBe(hex(row.columns["top_indices_high"] as Uint8Array));
    expect(g["sampled_high"]).toBe(hex(row.columns["sampled_indices_high"] as Uint8Array));
  });
}

describe("DuckDB reads what we write", () => {
  const rows = makeRows(30, 11);
  for (const intEncoding of ["delta", "plain"] as const) {
    for (const compression of ["zstd", "none"] as const) {
      it(`sees the seed schema and the same values (${intEncoding}, ${compression})`, async () => {
        const path = join(dir, `ours-${intEncoding}-${compression}.parquet`);
        writeFileSync(path, await encodeLogitFile(rows, { intEncoding, compression, rowGroupRows: 7 }));
        const types = await query(`DESCRIBE SELECT * FROM read_parquet('${path}')`);
        expect(Object.fromEntries(types.map((t) => [t["column_name"], t["column_type"]]))).toEqual({
          index: "INTEGER",
          num_tokens: "INTEGER",
          top_indices_low: "USMALLINT[]",
          top_indices_high: "BLOB",
          top_logits_quantized: "USMALLINT[]",
          top_counts: "UTINYINT[]",
          top_min: "FLOAT[]",
          top_max: "FLOAT[]",
          sampled_indices_low: "USMALLINT[]",
          sampled_indices_high: "BLOB",
          sampled_logits_quantized: "USMALLINT[]",
          sampled_min: "FLOAT[]",
          sampled_max: "FLOAT[]",
          logsumexp: "DOUBLE[]",
        });
        await expectDuckSees(path, rows);
        // logical types as pyarrow writes them: INTEGER(16/8, unsigned) plus the legacy converted types
        const schema = await query(
          `SELECT name, converted_type, logical_type FROM parquet_schema('${path}') WHERE name = 'element'`,
        );
        const annotations = new Set(schema.map((s) => `${s["converted_type"]}|${s["logical_type"]}`));
        // (DuckDB prints the i8 bit width as a raw character)
        const int = (bits: number) => `IntType(bitWidth=${String.fromCharCode(bits)}, isSigned=0)`;
        expect(annotations.has(`UINT_16|${int(16)}`)).toBe(true);
        expect(annotations.has(`UINT_8|${int(8)}`)).toBe(true);
        const meta = await query(`SELECT key::VARCHAR AS k, value::VARCHAR AS v FROM parquet_kv_metadata('${path}')`);
        expect(meta.find((m) => m["k"] === "logitpack.layout")?.["v"]).toBe("nucleus");
      });
    }
  }

  it("uses the index column statistics (DuckDB prunes row groups by them)", async () => {
    const path = join(dir, "ours-stats.parquet");
    writeFileSync(path, await encodeLogitFile(rows, { rowGroupRows: 7 }));
    const stats = await query(
      `SELECT row_group_id, stats_min_value, stats_max_value FROM parquet_metadata('${path}') WHERE path_in_schema = 'index' ORDER BY row_group_id`,
    );
    expect(stats.map((s) => [Number(s["stats_min_value"]), Number(s["stats_max_value"])])).toEqual([
      [1, 31],
      [36, 66],
      [71, 101],
      [106, 136],
      [141, 146],
    ]);
  });
});

/** Have DuckDB write rows in the seed layout (or the seed-001 variant). */
async function duckWrite(rows: EncodedRow[], path: string, copyOptions: string, legacy = false): Promise<void> {
  const json = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeRowsJson(rows, json);
  await duckCopy(json, legacy ? LEGACY_SELECT : SEED_SELECT, path, copyOptions);
}

describe("we read what DuckDB writes in the seed layout", () => {
  const rows = makeRows(25, 23);
  const variants: Record<string, string> = {
    "snappy, dictionary pages": "FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 8",
    "zstd, data page v2 + delta encodings": "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 10, PARQUET_VERSION v2",
    uncompressed: "FORMAT parquet, COMPRESSION uncompressed",
    gzip: "FORMAT parquet, COMPRESSION gzip",
  };
  for (const [name, options] of Object.entries(variants)) {
    it(`decodes exactly: ${name}`, async () => {
      const path = join(dir, `duck-${name.replace(/\W+/g, "-")}.parquet`);
      await duckWrite(rows, path, options);
      const file = await openLogitFileAt(path);
      expect(file.layout).toBe("nucleus");
      const back = (await file.readRows(0, file.numRows)).map((s) => encodeSample(s));
      expect(back).toEqual(rows);
    });
  }

  it("decodes the seed-001 uint8 variant (BLOB values, one float logsumexp, fixed top-K)", async () => {
    // seed 001 stores a fixed top-K: use 3 entries per position
    const r = rng(99);
    const legacyRows = Array.from({ length: 6 }, (_, i) =>
      encodeNucleusSample(randomInput(i, r, { tokens: 1 + i * 3, count: 3, sampledN: 5, vocab: 151_936 })),
    );
    const path = join(dir, "duck-legacy.parquet");
    await duckWrite(legacyRows, path, "FORMAT parquet", true);
    const file = await openLogitFileAt(path);
    expect(file.layout).toBe("nucleus-u8");
    const samples = (await file.readRows(0, file.numRows)) as NucleusSample[];
    samples.forEach((s, i) => {
      const row = legacyRows[i] as EncodedRow;
      expect(s.index).toBe(i);
      expect(s.levels).toBe(255);
      expect(s.numTokens).toBe(row.numTokens);
      const top = row.columns["top_logits_quantized"] as Uint16Array;
      const topLow = row.columns["top_indices_low"] as Uint16Array;
      const e0 = s.top.offsets[0] as number;
      for (let j = 0; j < top.length; j++) {
        expect(s.top.quantized[e0 + j]).toBe(Math.floor((top[j] as number) / 257));
        expect((s.top.ids[e0 + j] as number) & 0xffff).toBe(topLow[j]);
      }
      expect((s.top.offsets[1] as number) - e0).toBe(3);
      expect((s.sampled.offsets[1] as number) - (s.sampled.offsets[0] as number)).toBe(5);
      expect(Number.isNaN(s.top.min[0])).toBe(true);
      const lse = Math.fround((row.columns["logsumexp"] as Float64Array)[0] as number);
      expect([...s.logsumexp]).toEqual(new Array(s.numTokens).fill(lse));
      expect(packedHighLength(topLow.length)).toBe((row.columns["top_indices_high"] as Uint8Array).length);
    });
  });

  it("round-trips DuckDB -> us -> DuckDB", async () => {
    const path = join(dir, "duck-src.parquet");
    await duckWrite(rows, path, "FORMAT parquet, COMPRESSION zstd");
    const ours = join(dir, "rewritten.parquet");
    const file = await openLogitFile(new Uint8Array(await (await import("node:fs/promises")).readFile(path)));
    writeFileSync(ours, await encodeLogitFile((await file.readRows(0, file.numRows)).map(encodeSample)));
    await expectDuckSees(ours, rows);
  });
});
