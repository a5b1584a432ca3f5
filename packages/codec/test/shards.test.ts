import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeSamples, FIXTURE_DIR } from "../scripts/fixtures.js";
import { CodecError, encodeLogitFile, encodeNucleusSample, type LogitBatch, sampleAt } from "../src/index.js";
import { openLogitFileAt, readShards } from "../src/node.js";
import { randomInput, rng } from "./gen.js";

const dir = mkdtempSync(join(tmpdir(), "logitpack-shards-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rowsOf = (b: LogitBatch) => describeSamples(Array.from({ length: b.numRows }, (_, r) => sampleAt(b, r)));

describe("readShards (worker threads)", () => {
  it("yields every row group of every shard, equal to reading each shard on this thread", async () => {
    const r = rng(3);
    const ours = join(dir, "ours.parquet");
    writeFileSync(
      ours,
      await encodeLogitFile(
        Array.from({ length: 7 }, (_, i) => encodeNucleusSample(randomInput(i, r, { tokens: 1 + i }))),
        { rowGroupRows: 3 },
      ),
    );
    const paths = [
      ours,
      join(FIXTURE_DIR, "pyarrow-seed-snappy.parquet"),
      join(FIXTURE_DIR, "duckdb-seed-v2-zstd.parquet"),
      join(FIXTURE_DIR, "pyarrow-importance-gzip.parquet"),
    ];
    const got = new Map<number, unknown[]>();
    for await (const { shard, path, batch } of readShards(paths, { threads: 2 })) {
      expect(path).toBe(paths[shard]);
      got.set(shard, [...(got.get(shard) ?? []), ...rowsOf(batch)]);
    }
    for (let s = 0; s < paths.length; s++) {
      const file = await openLogitFileAt(paths[s] as string);
      expect(got.get(s), paths[s]).toEqual(describeSamples(await file.readRows(0, file.numRows)));
    }
  }, 60_000);

  it("throws the CodecError of a damaged shard, naming it", async () => {
    const bad = join(dir, "bad.parquet");
    copyFileSync(join(FIXTURE_DIR, "pyarrow-seed-snappy.parquet"), bad);
    writeFileSync(bad, "not a parquet file at all");
    const e = await (async () => {
      for await (const _ of readShards([join(FIXTURE_DIR, "duckdb-seed-snappy.parquet"), bad], { threads: 2 })) {
        // consume
      }
    })().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(e).toBeInstanceOf(CodecError);
    expect((e as CodecError).file).toBe(bad);
  }, 60_000);
});
