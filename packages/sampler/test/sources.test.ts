import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SamplerError } from "../src/errors.js";
import { type DatasetSource, openDataset, openLocalDataset, openLocalFiles, type RowBatch } from "../src/sources.js";
import { qaRows, tempDir, writeJsonl, writeParquet } from "./fixtures.js";

async function collect(source: DatasetSource, options?: { columns?: string[]; batchRows?: number }) {
  const batches: RowBatch[] = [];
  for await (const b of source.batches(options)) {
    batches.push(b);
  }
  return batches;
}

const codeOf = async (p: Promise<unknown> | (() => unknown)) => {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (error) {
    return error instanceof SamplerError ? `${error.code}: ${error.message}` : String(error);
  }
  return "ok";
};

describe("sources", () => {
  const dir = tempDir();
  const rows = qaRows(250);

  it("Parquet: row group by row group, projected, row numbers continuous", async () => {
    const src = openLocalDataset(writeParquet(join(dir, "a.parquet"), rows, 100));
    expect(await src.columns()).toEqual(["question", "answer", "subject"]);
    expect(await src.numRows()).toBe(250);
    const batches = await collect(src, { columns: ["answer"], batchRows: 64 });
    expect(batches.map((b) => [b.start, b.rows.length])).toEqual([
      [0, 64],
      [64, 36],
      [100, 64],
      [164, 36],
      [200, 50],
    ]);
    expect(batches[2]?.rows[0]).toEqual({ answer: rows[100]?.answer });
  });

  it("JSONL and JSON give the same rows", async () => {
    const jsonl = openLocalDataset(writeJsonl(join(dir, "b.jsonl"), rows));
    const jsonFile = join(dir, "c.json");
    writeFileSync(jsonFile, JSON.stringify({ data: rows }));
    const json = openLocalDataset(jsonFile);
    const flat = async (s: DatasetSource) => (await collect(s, { batchRows: 100 })).flatMap((b) => b.rows);
    expect(await flat(jsonl)).toEqual(rows);
    expect(await flat(json)).toEqual(rows);
    expect(await jsonl.columns()).toEqual(["question", "answer", "subject"]);
    expect(await json.numRows()).toBe(250);
  });

  it("a folder is its files in sorted order; split selects files", async () => {
    const d = join(dir, "hub");
    writeParquet(join(d, "data", "train-00001-of-00002.parquet"), rows.slice(100), 50);
    writeParquet(join(d, "data", "train-00000-of-00002.parquet"), rows.slice(0, 100), 50);
    writeJsonl(join(d, "data", "test-00000-of-00001.jsonl"), rows.slice(0, 3));
    const train = openLocalDataset(d, { split: "train" });
    expect(await train.numRows()).toBe(250);
    const all = (await collect(train)).flatMap((b) => b.rows);
    expect(all.map((r) => r.question)).toEqual(rows.map((r) => r.question));
    // without --split: the train split (Hub convention), never mixed with test
    const dflt = openLocalDataset(d);
    expect(dflt.dataFiles?.split).toBe("train");
    expect(dflt.dataFiles?.splits).toEqual(["test", "train"]);
    expect(await dflt.numRows()).toBe(250);
    const test = openLocalDataset(d, { split: "test" });
    const batches = await collect(test);
    expect(batches.flatMap((b) => b.rows)).toEqual(rows.slice(0, 3));
    expect(await codeOf(() => openLocalDataset(d, { split: "validation" }))).toMatch(
      /^SOURCE_NOT_FOUND: .*--split.*no split "validation".*splits are: test, train/,
    );
  });

  it("errors name the flag, the file and the line", async () => {
    expect(await codeOf(() => openLocalDataset(join(dir, "nope")))).toMatch(
      /^SOURCE_NOT_FOUND: \[sampler\] --dataset: no such/,
    );
    writeFileSync(join(dir, "x.csv"), "a,b");
    expect(await codeOf(() => openLocalDataset(join(dir, "x.csv")))).toMatch(/^UNSUPPORTED_SOURCE/);
    const bad = writeJsonl(join(dir, "bad.jsonl"), [{ a: 1 }]);
    writeFileSync(bad, '{"a": 1}\n{"a": \n');
    expect(await codeOf(collect(openLocalDataset(bad)))).toMatch(
      /^INVALID_ROW: .*bad\.jsonl, row 1: line 2 is not JSON/,
    );
    expect(await codeOf(openDataset("org/dataset"))).toMatch(/^UNSUPPORTED_SOURCE: .*needs a Hub provider/);
    expect(await codeOf(openDataset("./not/here.parquet"))).toMatch(/^SOURCE_NOT_FOUND/);
    // path-looking values that match owner/name's characters are still missing files, never Hub ids
    const hub = { open: async () => Promise.reject(new Error("must not be asked")) };
    expect(await codeOf(openDataset("./missing.jsonl", { hub }))).toMatch(/^SOURCE_NOT_FOUND/);
    expect(await codeOf(openDataset("data/missing.parquet", { hub }))).toMatch(/^SOURCE_NOT_FOUND/);
  });

  it("hubDatasetProvider: lists, picks the split's Parquet files, downloads, reads them in order", async () => {
    const { hubDatasetProvider } = await import("../src/hub-provider.js");
    const a = writeParquet(join(dir, "cache", "train-0.parquet"), rows.slice(0, 10), 5);
    const b = writeParquet(join(dir, "cache", "train-1.parquet"), rows.slice(10, 12), 5);
    const downloads: string[] = [];
    const provider = hubDatasetProvider({
      listFiles: async () => [
        { path: "README.md" },
        { path: "data/train-00001-of-00002.parquet" },
        { path: "data/test-00000-of-00001.parquet" },
        { path: "data/train-00000-of-00002.parquet" },
        { path: "raw/train.jsonl" },
      ],
      download: async ({ path }) => {
        downloads.push(path);
        return path.includes("00000") ? a : b;
      },
    });
    const src = await openDataset("org/name", { split: "train", hub: provider });
    // the README first (for its configs), then the train split's Parquet files (not raw/train.jsonl, not test)
    expect(downloads).toEqual(["README.md", "data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"]);
    expect((await collect(src)).flatMap((x) => x.rows)).toEqual(rows.slice(0, 12));
    await expect(provider.open("org/name", { split: "validation" })).rejects.toThrow(
      /no split "validation".*splits are: test, train/,
    );
  });

  it("Hub datasets go through the injected provider", async () => {
    const file = writeJsonl(join(dir, "hubfile.jsonl"), rows.slice(0, 5));
    const seen: unknown[] = [];
    const src = await openDataset("org/name", {
      split: "train",
      hub: {
        open: async (repo, options) => {
          seen.push([repo, options]);
          return openLocalFiles([file], repo);
        },
      },
    });
    expect(seen).toEqual([["org/name", { split: "train" }]]);
    expect((await collect(src)).flatMap((b) => b.rows)).toHaveLength(5);
  });
});

describe("row readers (random access by dataset index)", () => {
  const dir = tempDir();
  const rows = qaRows(230);
  const want = [229, 0, 17, 100, 101, 99, 17, 64, 200];

  it("Parquet, JSONL (with blank lines), JSON and folders return the rows asked, in order", async () => {
    const { openRowReader } = await import("../src/row-reader.js");
    const jsonlFile = join(dir, "r.jsonl");
    writeFileSync(
      jsonlFile,
      `\n${rows.map((r, i) => (i === 50 ? `${JSON.stringify(r)}\n  \n` : JSON.stringify(r))).join("\n")}\n`,
    );
    const jsonFile = join(dir, "r.json");
    writeFileSync(jsonFile, JSON.stringify(rows));
    writeParquet(join(dir, "f", "a-0.parquet"), rows.slice(0, 70), 32);
    writeJsonl(join(dir, "f", "a-1.jsonl"), rows.slice(70));
    const sources = [
      openLocalDataset(writeParquet(join(dir, "r.parquet"), rows, 32)),
      openLocalDataset(jsonlFile),
      openLocalDataset(jsonFile),
      openLocalDataset(join(dir, "f")),
    ];
    for (const src of sources) {
      const reader = await openRowReader(src, { cacheRowGroups: 2 });
      expect(reader.numRows, src.name).toBe(230);
      expect(await reader.read(want), src.name).toEqual(want.map((i) => rows[i]));
      const streamed = (await collect(src)).flatMap((b) => b.rows);
      expect(await reader.read(Int32Array.from({ length: 230 }, (_, i) => i))).toEqual(streamed);
      await expect(reader.read([230])).rejects.toThrow(/out of range/);
      await reader.close();
    }
    const projected = await openRowReader(openLocalDataset(join(dir, "r.parquet")), { columns: ["answer"] });
    expect(await projected.read([3])).toEqual([{ answer: rows[3]?.answer }]);
  });
});
