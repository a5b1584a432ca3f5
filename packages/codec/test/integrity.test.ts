import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetMetadata } from "hyparquet";
import { afterAll, describe, expect, it } from "vitest";
import { FIXTURE_DIR } from "../scripts/fixtures.js";
import { CodecError, encodeLogitFile, encodeNucleusSample, type LogitFile, openLogitFile } from "../src/index.js";
import { snappyDecompress } from "../src/internal/snappy.js";
import { randomInput, rng } from "./gen.js";
import { findPython, runPython } from "./python.js";
import { cloneRow, rawFile } from "./raw.js";

const dir = mkdtempSync(join(tmpdir(), "logitpack-integrity-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function decodeAll(file: LogitFile): Promise<number[]> {
  const ids: number[] = [];
  for await (const b of file.batches()) {
    if (b.layout !== "importance") {
      ids.push(...b.top.ids, ...b.sampled.ids);
    }
  }
  return ids;
}

async function codecError(p: Promise<unknown>): Promise<CodecError> {
  const e = await p.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(e).toBeInstanceOf(CodecError);
  return e as CodecError;
}

/** Byte range [start, end) of column `name`'s chunk in row group 0. */
function chunkRange(bytes: Uint8Array, name: string): [number, number] {
  const md = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer);
  const cc = md.row_groups[0]?.columns.find((c) => c.meta_data?.path_in_schema[0] === name)?.meta_data;
  if (!cc) {
    throw new Error(`no column ${name}`);
  }
  const start = Number(cc.dictionary_page_offset ?? cc.data_page_offset);
  return [start, start + Number(cc.total_compressed_size)];
}

const rows = () => {
  const r = rng(99);
  return [0, 1, 2].map((i) => encodeNucleusSample(randomInput(i, r, { tokens: 5, vocab: 151_936 })));
};

describe("page checksums", () => {
  it("turn a damaged page of ours into a CORRUPT_FILE error naming the column, not different values", async () => {
    const bytes = await encodeLogitFile(rows(), { compression: "none" });
    const [, end] = chunkRange(bytes, "logsumexp");
    const bad = bytes.slice();
    bad[end - 1] = (bad[end - 1] as number) ^ 0x01; // a value byte of the last page: decodes, to another number
    const e = await codecError(decodeAll(await openLogitFile(bad, { name: "bad.parquet" })));
    expect(e.code).toBe("CORRUPT_FILE");
    expect(e.column).toBe("logsumexp");
    expect(e.file).toBe("bad.parquet");
    expect(e.message).toMatch(/checksum/);
    // without verification the same damage goes unnoticed: different values, no error
    const unchecked = await openLogitFile(bad, { verifyChecksums: false });
    const good = await openLogitFile(bytes);
    const [a, b] = [await unchecked.readRows(0, 3), await good.readRows(0, 3)];
    expect(a.map((s) => [...s.logsumexp])).not.toEqual(b.map((s) => [...s.logsumexp]));
  });

  it("are checked on pyarrow's pages too (write_page_checksum)", async () => {
    const bytes = new Uint8Array(readFileSync(join(FIXTURE_DIR, "pyarrow-seed-v2-zstd-bss.parquet")));
    await decodeAll(await openLogitFile(bytes));
    const [, end] = chunkRange(bytes, "top_min");
    const bad = bytes.slice();
    bad[end - 1] = (bad[end - 1] as number) ^ 0x10;
    const e = await codecError(decodeAll(await openLogitFile(bad)));
    expect(e.code).toBe("CORRUPT_FILE");
    expect(e.column).toBe("top_min");
  });

  const py = findPython(["pyarrow"]);
  it.skipIf(!py.python)(
    "are what pyarrow verifies: it reads ours with verification and rejects the damaged one",
    async () => {
      const bytes = await encodeLogitFile(rows(), { compression: "zstd" });
      const good = join(dir, "good.parquet");
      const bad = join(dir, "bad.parquet");
      writeFileSync(good, bytes);
      const [start, end] = chunkRange(bytes, "sampled_indices_low");
      const damaged = bytes.slice();
      const at = Math.floor((start + end) / 2) + 20;
      damaged[at] = (damaged[at] as number) ^ 0x04;
      writeFileSync(bad, damaged);
      const code = `
import sys, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1], page_checksum_verification=True)
print(t.num_rows)
try:
    pq.read_table(sys.argv[2], page_checksum_verification=True)
    print("accepted")
except Exception as e:
    print("rejected:", e)
`;
      const out = runPython(py.python as string, code, [good, bad])
        .trim()
        .split("\n");
      expect(out[0]).toBe("3");
      expect(out[1]).toMatch(/^rejected: .*CRC/i);
    },
  );
  if (!py.python) {
    console.log(`skipping the pyarrow checksum test: ${py.reason}`);
  }
});

describe("decoded ids", () => {
  it("are checked against the teacher's logits width the settings record", async () => {
    const r = rng(5);
    const input = randomInput(7, r, { tokens: 3, vocab: 151_936 });
    const ok = await encodeLogitFile(
      [encodeNucleusSample({ ...input, topIds: Array.from(input.topIds, () => 151_935) })],
      {
        settings: { logitsWidth: 151_936 },
      },
    );
    const file = await openLogitFile(ok);
    expect(file.info.idLimit).toBe(151_936);
    expect(Math.max(...(await decodeAll(file)))).toBe(151_935);
    const sampled = Array.from(input.sampledIds);
    sampled[4] = 151_936; // a padded-logit id one past the width
    const bad = await encodeLogitFile([encodeNucleusSample({ ...input, sampledIds: sampled })], {
      settings: { logitsWidth: 151_936 },
    });
    const e = await codecError(decodeAll(await openLogitFile(bad, { name: "w.parquet" })));
    expect(e.code).toBe("INVALID_VALUE");
    expect(e.row).toBe(0);
    expect(e.column).toBe("sampled_indices_high");
    expect(e.message).toMatch(/151936/);
    // the same file without the setting: the 18-bit range applies and the id is legitimate
    const plain = await encodeLogitFile([encodeNucleusSample({ ...input, sampledIds: sampled })]);
    expect(Math.max(...(await decodeAll(await openLogitFile(plain))))).toBe(151_936);
  });

  it("rejects a logitsWidth that is not an integer in [1, 2^18]", async () => {
    for (const w of [0, 262_145, 1.5, "151936"]) {
      const bytes = await encodeLogitFile(rows(), { settings: { logitsWidth: w as number } });
      const e = await codecError(openLogitFile(bytes));
      expect(e.code).toBe("INVALID_VALUE");
    }
  });

  it("rejects low halves outside uint16 (negative or wide) instead of returning ids outside [0, 2^18)", async () => {
    for (const v of [70_000, -1]) {
      const row = cloneRow(rows()[1] as never);
      (row.columns["top_indices_low"] as number[])[2] = v;
      const e = await codecError(decodeAll(await openLogitFile(await rawFile([row]))));
      expect(e.code).toBe("INVALID_VALUE");
      expect(e.column).toBe("top_indices_low");
      expect(e.row).toBe(0);
    }
  });
});

describe("other rules", () => {
  it("a negative dataset index is an error, when writing and when reading", async () => {
    const r = rng(1);
    expect(() => encodeNucleusSample(randomInput(-1, r, { tokens: 1 }))).toThrow(/index -1/);
    const row = cloneRow(rows()[0] as never);
    row.index = -1;
    const e = await codecError(decodeAll(await openLogitFile(await rawFile([row]), { name: "neg.parquet" })));
    expect(e.code).toBe("INVALID_VALUE");
    expect(e.column).toBe("index");
  });

  it("a snappy page declaring far more bytes than it can hold fails at once", () => {
    const input = new Uint8Array(4096).map((_, i) => (i * 131) & 0xff);
    input[0] = 0x80;
    input[1] = 0x80;
    input[2] = 0x80;
    input[3] = 0x20; // preamble: 64 MiB
    const t = performance.now();
    expect(() => snappyDecompress(input, new Uint8Array(64 << 20))).toThrow(CodecError);
    // garbage that declares exactly the output size: one bounded pass, then an error
    const t2 = performance.now();
    const out = new Uint8Array(1 << 20);
    const garbage = new Uint8Array(1 << 16).map((_, i) => (i * 7919) & 0xff);
    garbage.set([0x80, 0x80, 0x40], 0);
    expect(() => snappyDecompress(garbage, out)).toThrow(CodecError);
    expect(performance.now() - t).toBeLessThan(500);
    expect(performance.now() - t2).toBeLessThan(200);
  });
});

describe("LogitFile.verify", () => {
  it("decodes every row group and reports each damaged one with its rows and column, without throwing", async () => {
    const r = rng(11);
    const many = Array.from({ length: 6 }, (_, i) => encodeNucleusSample(randomInput(i, r, { tokens: 4 })));
    const bytes = await encodeLogitFile(many, { compression: "none", rowGroupRows: 2 });
    const clean = await (await openLogitFile(bytes, { name: "s.parquet" })).verify();
    expect(clean).toMatchObject({ file: "s.parquet", rows: 6, tokens: 24, rowGroups: 3, problems: [] });
    // damage row group 0's logsumexp and row group 2's top_min
    const md = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer);
    const bad = bytes.slice();
    for (const [g, name] of [
      [0, "logsumexp"],
      [2, "top_min"],
    ] as const) {
      const cc = md.row_groups[g]?.columns.find((c) => c.meta_data?.path_in_schema[0] === name)?.meta_data;
      const end = Number(cc?.data_page_offset) + Number(cc?.total_compressed_size);
      bad[end - 2] = (bad[end - 2] as number) ^ 0x40;
    }
    const report = await (await openLogitFile(bad, { name: "s.parquet" })).verify();
    expect(report.rows).toBe(2);
    expect(report.problems.map((p) => [p.rowGroup, p.rows, p.column, p.code])).toEqual([
      [0, [0, 2], "logsumexp", "CORRUPT_FILE"],
      [2, [4, 6], "top_min", "CORRUPT_FILE"],
    ]);
    expect(report.problems[0]?.message).toMatch(/^\[codec\] s\.parquet/);
  });
});
