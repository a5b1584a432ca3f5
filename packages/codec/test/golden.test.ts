import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeSamples, FIXTURE_DIR, ourFixtures } from "../scripts/fixtures.js";
import { openLogitFile } from "../src/index.js";

const files = readdirSync(FIXTURE_DIR).filter((f) => f.endsWith(".parquet"));
const parse = (name: string) =>
  JSON.parse(readFileSync(join(FIXTURE_DIR, name.replace(/\.parquet$/, ".json")), "utf8"), (_k, v) =>
    v === "NaN" ? Number.NaN : v,
  );

describe("golden fixtures", () => {
  it("has the fixtures the README lists", () => {
    expect(files.length).toBe(9);
  });

  for (const name of files) {
    it(`decodes ${name} to its expected values`, async () => {
      const expected = parse(name);
      const file = await openLogitFile(new Uint8Array(readFileSync(join(FIXTURE_DIR, name))), { name });
      expect(file.layout).toBe(expected.layout);
      expect(file.info.settings).toEqual(expected.settings);
      expect(describeSamples(await file.readRows(0, file.numRows))).toEqual(expected.rows);
    });
  }

  it("holds the same rows whichever writer produced them", () => {
    const ours = parse("logitpack-nucleus-zstd.parquet").rows;
    expect(parse("logitpack-nucleus-plain-uncompressed.parquet").rows).toEqual(ours);
    expect(parse("duckdb-seed-snappy.parquet").rows).toEqual(ours);
    expect(parse("duckdb-seed-v2-zstd.parquet").rows).toEqual(ours);
    // the pyarrow files' JSON was computed by pyarrow + numpy (scripts/pyarrow_fixtures.py), not by our reader
    expect(parse("pyarrow-seed-snappy.parquet").rows).toEqual(ours);
    expect(parse("pyarrow-seed-v2-zstd-bss.parquet").rows).toEqual(ours);
    expect(parse("pyarrow-importance-gzip.parquet").rows).toEqual(parse("logitpack-importance.parquet").rows);
    const legacy = parse("duckdb-legacy-u8.parquet").rows;
    const source = ours.filter((r: { index: number }) => r.index === 1 || r.index === 41);
    legacy.forEach((row: { top: { ids: number[]; q: number[] }[] }, i: number) => {
      row.top.forEach((pos, t) => {
        expect(pos.ids).toEqual(source[i].top[t].ids);
        expect(pos.q).toEqual(source[i].top[t].q.map((q: number) => Math.floor(q / 257)));
      });
    });
  });

  it("regenerating our writer's fixtures reproduces them byte for byte", async () => {
    for (const [name, bytes] of Object.entries(await ourFixtures())) {
      expect(Buffer.compare(Buffer.from(bytes), readFileSync(join(FIXTURE_DIR, name))), name).toBe(0);
    }
  });
});
