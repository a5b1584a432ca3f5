/** Write arbitrary (possibly inconsistent) rows, bypassing LogitWriter's checks: for error tests and fuzzing. */
import type { EncodedRow } from "../src/index.js";
import { NUCLEUS_COLUMNS } from "../src/index.js";
import { type ColumnData, ParquetFileWriter } from "../src/internal/parquet-writer.js";
import { ensureZstd } from "../src/internal/zstd.js";

export interface RawRow {
  index: number;
  numTokens: number;
  columns: Record<string, ArrayLike<number>>;
}

export async function rawFile(
  rows: readonly (RawRow | EncodedRow)[],
  compression: "zstd" | "none" = "none",
): Promise<Uint8Array> {
  await ensureZstd();
  const w = new ParquetFileWriter(
    NUCLEUS_COLUMNS.map((c) => ({ ...c, stats: c.name === "index" })),
    { compression, level: 3, pageBytes: 1 << 20, intEncoding: "delta", minSaving: 0 },
  );
  const data: ColumnData[] = NUCLEUS_COLUMNS.map((c) => {
    if (c.name === "index" || c.name === "num_tokens") {
      return { values: Int32Array.from(rows, (r) => (c.name === "index" ? r.index : r.numTokens)) };
    }
    const parts = rows.map((r) => r.columns[c.name] as ArrayLike<number>);
    const total = parts.reduce((s, p) => s + p.length, 0);
    const Ctor =
      c.type === "list<float32>"
        ? Float32Array
        : c.type === "list<float64>"
          ? Float64Array
          : c.type === "list<uint16>"
            ? Int32Array // wide enough for out-of-range low ids in error tests
            : Uint8Array;
    const values = new Ctor(total);
    let o = 0;
    for (const p of parts) {
      values.set(Array.from(p), o);
      o += p.length;
    }
    return { values, lengths: Int32Array.from(parts, (p) => p.length) };
  });
  const head = w.start();
  const body = w.rowGroup(rows.length, data);
  const foot = w.finish({}, "test");
  const out = new Uint8Array(head.length + body.length + foot.length);
  out.set(head, 0);
  out.set(body, head.length);
  out.set(foot, head.length + body.length);
  return out;
}

export function cloneRow(row: EncodedRow): RawRow {
  const columns: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(row.columns)) {
    columns[k] = Array.from(v as ArrayLike<number>);
  }
  return { index: row.index, numTokens: row.numTokens, columns };
}
