/**
 * `dataset_size` as `datasets`' `push_to_hub` computes it (pyarrow `Table.nbytes` of the Arrow cache). Small tables
 * with nulls and empty lists against the numbers pyarrow 25.0.1 gives for them; the chunk plan of `datasets`' Parquet
 * builder + `ArrowWriter`; the card of a writer's output against a count written here from the encoded rows. (The
 * interop test in tools/interop checks the same against `datasets` itself.)
 */
import { join } from "node:path";
import {
  columnsOf,
  type EncodedRow,
  encodeImportanceSample,
  encodeLogitFile,
  encodeNucleusSample,
  openLogitFile,
} from "@logitpack/codec";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import {
  chunkNbytes,
  datasetsChunkRows,
  datasetsWriterBatchSize,
  rowsDatasetNbytes,
  type SizedColumn,
  shardDatasetNbytes,
  tableNbytes,
} from "../src/dataset-size.js";
import { FolderSink, type SinkFile, StreamingWriter, writeDatasetCard } from "../src/index.js";
import { makeRow, rng, SETTINGS, tempDir } from "./helpers.js";

/**
 * Expected numbers printed by pyarrow 25.0.1 for the same column written through IPC in record batches of the given
 * sizes and read back (what `datasets` does), e.g. for the first case:
 *
 * ```python
 * t = pa.table({"c": pa.array([[1, 2], [], None, [3], [None, 4], []], pa.list_(pa.float32()))})
 * s = io.BytesIO(); w = pa.ipc.new_stream(s, t.schema); w.write_table(t, 4); w.close()
 * pa.ipc.open_stream(s.getvalue()).read_all().column("c").nbytes   # 46
 * ```
 */
const CASES: { name: string; column: SizedColumn; chunks: number[]; pyarrow: number }[] = [
  {
    // [[1, 2], [], None, [3], [None, 4], []]
    name: "list<float32> with a null row, a null element and empty lists",
    column: {
      type: "list<float32>",
      rowOffsets: [0, 2, 2, 2, 3, 5, 5],
      valid: [1, 1, 0, 1, 1, 1],
      childValid: [1, 1, 1, 0, 1],
    },
    chunks: [6],
    pyarrow: 46,
  },
  {
    name: "the same in record batches of 4 + 2",
    column: {
      type: "list<float32>",
      rowOffsets: [0, 2, 2, 2, 3, 5, 5],
      valid: [1, 1, 0, 1, 1, 1],
      childValid: [1, 1, 1, 0, 1],
    },
    chunks: [4, 2],
    pyarrow: 46,
  },
  {
    // [b"ab", None, b"", b"xyz"]
    name: "binary with a null and an empty value",
    column: { type: "binary", rowOffsets: [0, 2, 2, 2, 5], valid: [1, 0, 1, 1] },
    chunks: [3, 1],
    pyarrow: 22,
  },
  { name: "int32 with a null", column: { type: "int32", valid: [1, 0, 1] }, chunks: [3], pyarrow: 13 },
  { name: "int32 without nulls (no bitmap)", column: { type: "int32" }, chunks: [3], pyarrow: 12 },
  {
    name: "list<uint16>, every row empty",
    column: { type: "list<uint16>", rowOffsets: [0, 0, 0, 0] },
    chunks: [3],
    pyarrow: 12,
  },
  {
    name: "list<uint8> without nulls",
    column: { type: "list<uint8>", rowOffsets: [0, 3, 4, 6] },
    chunks: [2, 1],
    pyarrow: 18,
  },
];

/** 20 rows of list<float64>: row i has i % 3 elements, rows 2, 9, 16 null (`[None if i%7==2 else [float(i)]*(i%3) ...]`). */
function f64Rows(): SizedColumn {
  const offsets = [0];
  const valid: number[] = [];
  for (let i = 0; i < 20; i++) {
    const isNull = i % 7 === 2;
    valid.push(isNull ? 0 : 1);
    offsets.push((offsets.at(-1) as number) + (isNull ? 0 : i % 3));
  }
  return { type: "list<float64>", rowOffsets: offsets, valid };
}

describe("pyarrow nbytes of IPC-read chunks", () => {
  for (const c of CASES) {
    it(c.name, () => {
      expect(tableNbytes([c.column], c.chunks)).toBe(c.pyarrow);
    });
  }

  it("list<float64>, 20 rows with nulls, one chunk and chunks of 8 (pyarrow: 211 both)", () => {
    expect(tableNbytes([f64Rows()], [20])).toBe(211);
    expect(tableNbytes([f64Rows()], [8, 8, 4])).toBe(211);
  });

  it("bitmaps are per chunk: int32, 20 rows, row 0 null (pyarrow: 83 in one chunk, 81 in chunks of 8)", () => {
    const valid = Array.from({ length: 20 }, (_, i) => (i === 0 ? 0 : 1));
    expect(tableNbytes([{ type: "int32", valid }], [20])).toBe(83);
    expect(tableNbytes([{ type: "int32", valid }], [8, 8, 4])).toBe(81);
  });

  it("offsets count n, not n + 1, per chunk; a list column needs its offsets", () => {
    expect(chunkNbytes({ type: "binary", rowOffsets: [0, 1, 3] }, 0, 2)).toBe(8 + 3);
    expect(chunkNbytes({ type: "binary", rowOffsets: [0, 1, 3] }, 1, 2)).toBe(4 + 2);
    expect(() => chunkNbytes({ type: "list<uint8>" }, 0, 1)).toThrow(/rowOffsets/);
  });
});

describe("datasets' chunk plan", () => {
  it("cuts row groups into batches of the first group's rows, then record batches of the writer batch size", () => {
    expect(datasetsChunkRows([230, 20], 100)).toEqual([[100, 100, 30], [20]]);
    expect(datasetsChunkRows([37, 37, 26], 100)).toEqual([[37], [37], [26]]);
    expect(datasetsChunkRows([50, 120], 1000)).toEqual([[50], [50, 50, 20]]);
    expect(datasetsChunkRows([], 100)).toEqual([]);
  });

  it("writes record batches of 100 rows when a feature is binary (both our layouts), else 1000", () => {
    expect(datasetsWriterBatchSize(columnsOf("nucleus").map((c) => c.type))).toBe(100);
    expect(datasetsWriterBatchSize(columnsOf("importance").map((c) => c.type))).toBe(100);
    expect(datasetsWriterBatchSize(["int32", "list<float32>"])).toBe(1000);
  });
});

/** Bytes `datasets` holds for these rows, counted here from the encoded rows (no nulls: no bitmaps). */
function referenceSize(rows: readonly EncodedRow[]): number {
  let bytes = 0;
  for (const row of rows) {
    bytes += 4 + 4; // index, num_tokens
    for (const [name, values] of Object.entries(row.columns)) {
      // every other column is a list or binary: 4 bytes of offset per row, then its values
      expect(["index", "num_tokens"]).not.toContain(name);
      bytes += 4 + values.byteLength;
    }
  }
  return bytes;
}

describe("counted from rows = read back from the shard", () => {
  it("both layouts, rows with and without tokens, several row groups", async () => {
    const r = rng(11);
    const importance = (index: number): EncodedRow => {
      const n = index % 4 === 0 ? 0 : 1 + Math.floor(r() * 5);
      const counts = Array.from({ length: n }, () => 1 + Math.floor(r() * 4));
      const ids = counts.flatMap((c) => Array.from({ length: c }, (_, k) => (Math.floor(r() * 150_000) + k) % 151_000));
      const lse = Array.from({ length: n }, () => 9 + r());
      return encodeImportanceSample({
        index,
        counts,
        ids,
        draws: ids.map(() => 1),
        logits: ids.map(() => r()),
        logsumexp: lse,
        logsumexpT: lse,
      });
    };
    for (const layout of ["nucleus", "importance"] as const) {
      const rows = Array.from({ length: 30 }, (_, i) =>
        layout === "importance" ? importance(i) : i % 4 === 0 ? emptyRow(i) : makeRow(i, 5, 7),
      );
      const bytes = await encodeLogitFile(rows, { layout, rowGroupRows: 8 });
      const file = await openLogitFile(bytes);
      expect(file.info.numRowGroups).toBe(4);
      expect(await shardDatasetNbytes(file)).toBe(rowsDatasetNbytes(layout, rows));
      expect(rowsDatasetNbytes(layout, rows)).toBe(referenceSize(rows));
    }
  });
});

/** A row without assistant tokens: every list empty. */
const emptyRow = (index: number): EncodedRow =>
  encodeNucleusSample({
    index,
    topCounts: [],
    topIds: [],
    topLogits: [],
    sampledIds: [],
    sampledLogits: [],
    logsumexp: [],
  });

describe("writeDatasetCard", () => {
  it("writes dataset_size and splits[].num_bytes for the shards of a writer's output", async () => {
    const d = await tempDir();
    try {
      const sink = new FolderSink(join(d.path, "out"));
      const w = await StreamingWriter.open({ sink, cacheDir: join(d.path, "c"), settings: SETTINGS, uploadEvery: 7 });
      const written: EncodedRow[] = [];
      for (let i = 0; i < 23; i++) {
        const row = i % 5 === 0 ? emptyRow(i) : makeRow(i, 3, 9);
        written.push(row);
        await w.write(row);
      }
      await w.close();
      const { readFile } = await import("node:fs/promises");
      const text = await readFile(join(d.path, "out", "README.md"), "utf8");
      const y = parseYaml(text.split("---\n")[1] as string) as {
        dataset_info: { dataset_size: number; splits: { num_bytes: number; num_examples: number }[] };
      };
      expect(Object.keys(written[0]?.columns ?? {}).length).toBeGreaterThan(5);
      expect(y.dataset_info.dataset_size).toBe(referenceSize(written));
      expect(y.dataset_info.splits[0]?.num_bytes).toBe(referenceSize(written));
      expect(y.dataset_info.splits[0]?.num_examples).toBe(23);
      // the writer counted its shards from the rows; reading them back gives the same
      let readBack = 0;
      for (const f of await sink.list()) {
        readBack += (await shardDatasetNbytes(await openLogitFile(await sink.source(f)))) as number;
      }
      expect(readBack).toBe(referenceSize(written));
      // the known sizes are used as given, the others read
      const files = await sink.list();
      const { text: card } = await writeDatasetCard(sink, {
        layout: "nucleus",
        settings: SETTINGS,
        shardNbytes: new Map([[files[0]?.path as string, 1_000_000]]),
      });
      const first = (await shardDatasetNbytes(await openLogitFile(await sink.source(files[0] as SinkFile)))) as number;
      expect(card).toContain(`  dataset_size: ${referenceSize(written) - first + 1_000_000}\n`);
    } finally {
      await d.cleanup();
    }
  });
});
