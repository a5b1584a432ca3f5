/**
 * `dataset_size` / `splits[].num_bytes` of the dataset card, computed the way Hugging Face `datasets` computes them
 * when it pushes a dataset to the Hub (the numbers the Hub's own cards carry).
 *
 * The rule, as read in `datasets` 5.0.1: `Dataset.push_to_hub` -> `_push_parquet_shards_to_hub` writes
 * `SplitInfo(num_bytes=self._estimate_nbytes())` and `dataset_size` = the sum of the splits' `num_bytes`;
 * `_estimate_nbytes()` is `self.data.nbytes` (pyarrow `Table.nbytes`) for datasets without Image/Audio/Video columns.
 * For a dataset loaded from Parquet (`load_dataset("parquet", ...)` or from the Hub), `self.data` is the Arrow cache
 * file the builder wrote: the Parquet builder reads each file in batches of its first row group's row count
 * (batches never span row groups), and `ArrowWriter` writes each batch as IPC record batches of at most
 * `writer_batch_size` rows (100 when a feature is `binary`, `config.ARROW_RECORD_BATCH_SIZE_FOR_BINARY_DATASETS`;
 * else `config.DEFAULT_MAX_BATCH_SIZE` = 1000). Each record batch is one chunk of the memory-mapped table, and pyarrow
 * (`util::ReferencedBufferSize`) counts per chunk of `n` rows:
 * - a validity bitmap only where the chunk has nulls (the IPC writer drops it otherwise): `ceil(n / 8)` bytes;
 * - fixed-width values: `n * width`;
 * - list and binary offsets: `n * 4` (n, not n + 1: pyarrow counts the offsets of the referenced values only);
 * - a list's child over the chunk's element range `[offsets[0], offsets[n])`, with its own bitmap rule; binary data:
 *   the referenced bytes.
 *
 * (`load_dataset`'s own `info.dataset_size` is another number: `ArrowWriter` sums `Table.nbytes` of the batches
 * *before* the IPC round trip, where pyarrow's Parquet reader gives some columns validity bitmaps without nulls.)
 *
 * Our shards never hold nulls (the codec refuses them), so for them the chunking changes nothing; it matters for
 * tables with nulls, which the functions here take too.
 */
import type { ColumnType, EncodedRow, LogitFile } from "@logitpack/codec";
import { columnsOf } from "@logitpack/codec";

/** `datasets`' record batch size of the Arrow cache for our features: 100 rows with a binary column, else 1000. */
export function datasetsWriterBatchSize(types: readonly ColumnType[]): number {
  return types.includes("binary") ? 100 : 1000;
}

/** One column of some rows, as lengths and nulls (no values needed). */
export interface SizedColumn {
  type: ColumnType;
  /** Lists and binary: where each row starts, in elements (lists) or bytes (binary); length rows + 1. */
  rowOffsets?: ArrayLike<number>;
  /** Per row, 0 = null (all rows present when absent). */
  valid?: ArrayLike<number>;
  /** Lists: per element (indexed like `rowOffsets`), 0 = null element (all present when absent). */
  childValid?: ArrayLike<number>;
}

const WIDTH: Record<ColumnType, number> = {
  int32: 4,
  binary: 1,
  float32: 4,
  float64: 8,
  "list<uint16>": 2,
  "list<uint8>": 1,
  "list<float32>": 4,
  "list<float64>": 8,
};

function hasZero(mask: ArrayLike<number> | undefined, start: number, end: number): boolean {
  if (mask === undefined) {
    return false;
  }
  for (let i = start; i < end; i++) {
    if (mask[i] === 0) {
      return true;
    }
  }
  return false;
}

/** pyarrow `nbytes` of rows `[start, end)` of a column as one IPC-read chunk (see the module comment). */
export function chunkNbytes(column: SizedColumn, start: number, end: number): number {
  const n = end - start;
  let bytes = hasZero(column.valid, start, end) ? Math.ceil(n / 8) : 0;
  if (column.type === "binary" || column.type.startsWith("list<")) {
    const offsets = column.rowOffsets;
    if (offsets === undefined) {
      throw new RangeError(`a ${column.type} column needs rowOffsets`);
    }
    const a = offsets[start] as number;
    const b = offsets[end] as number;
    bytes += 4 * n + (b - a) * WIDTH[column.type];
    if (column.type !== "binary" && hasZero(column.childValid, a, b)) {
      bytes += Math.ceil((b - a) / 8);
    }
  } else {
    bytes += n * WIDTH[column.type];
  }
  return bytes;
}

/**
 * Rows of each chunk of the Arrow cache `datasets` builds from one Parquet file: its row groups cut into batches of
 * the first row group's row count, each cut into record batches of at most `writerBatchSize` rows.
 */
export function datasetsChunkRows(rowGroupRows: readonly number[], writerBatchSize: number): number[][] {
  const batch = rowGroupRows[0] ?? 0;
  return rowGroupRows.map((rows) => {
    const chunks: number[] = [];
    for (let r = 0; r < rows; r += batch) {
      const piece = Math.min(batch, rows - r);
      for (let s = 0; s < piece; s += writerBatchSize) {
        chunks.push(Math.min(writerBatchSize, piece - s));
      }
    }
    return chunks;
  });
}

/** pyarrow `nbytes` of some rows of a table (one row group) cut into chunks of `chunkRows` rows. */
export function tableNbytes(columns: readonly SizedColumn[], chunkRows: readonly number[]): number {
  let bytes = 0;
  for (const column of columns) {
    let start = 0;
    for (const n of chunkRows) {
      bytes += chunkNbytes(column, start, start + n);
      start += n;
    }
  }
  return bytes;
}

/**
 * The `num_bytes` `datasets` gives a split made of this shard (pyarrow `Table.nbytes` of its Arrow cache), or
 * undefined when the file has a column the layout does not know (its size could not be told). Reads every list and
 * binary column of the file (row group by row group).
 */
export async function shardDatasetNbytes(file: LogitFile): Promise<number | undefined> {
  const specs = new Map(columnsOf(file.info.layout).map((c) => [c.name, c.type]));
  const types: ColumnType[] = [];
  for (const name of file.info.columns) {
    const type = specs.get(name);
    if (type === undefined) {
      return undefined;
    }
    types.push(type);
  }
  const chunks = datasetsChunkRows(file.info.rowGroupRows, datasetsWriterBatchSize(types));
  let bytes = 0;
  for (let g = 0; g < file.info.numRowGroups; g++) {
    const rows = file.info.rowGroupRows[g] as number;
    const fixed: SizedColumn[] = [];
    const nested: string[] = [];
    file.info.columns.forEach((name, i) => {
      const type = types[i] as ColumnType;
      if (type === "binary" || type.startsWith("list<")) {
        nested.push(name);
      } else {
        fixed.push({ type });
      }
    });
    bytes += tableNbytes(fixed, chunks[g] ?? [rows]);
    for (const name of nested) {
      const batch = await file.readGroupColumns(g, [name]);
      const decoded = batch.columns[name];
      bytes += tableNbytes(
        [{ type: specs.get(name) as ColumnType, rowOffsets: decoded?.rowOffsets }],
        chunks[g] ?? [rows],
      );
    }
  }
  return bytes;
}

/**
 * The same number as `shardDatasetNbytes` for a shard of these rows, counted from the rows as encoded (no read back:
 * what the writer uses for the shards it cuts). Our rows have no nulls, so no bitmap and no dependence on the chunk
 * plan: 4 bytes per row for each int32 column, and for each list or binary column 4 bytes of offset per row plus
 * its values' bytes.
 */
export function rowsDatasetNbytes(layout: "nucleus" | "importance", rows: readonly EncodedRow[]): number {
  let bytes = 0;
  for (const spec of columnsOf(layout)) {
    if (spec.type === "int32") {
      bytes += 4 * rows.length;
      continue;
    }
    for (const row of rows) {
      const values = row.columns[spec.name];
      if (values === undefined) {
        throw new RangeError(`row ${row.index} has no column ${spec.name}`);
      }
      bytes += 4 + values.byteLength;
    }
  }
  return bytes;
}
