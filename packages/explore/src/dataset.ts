import {
  type ExtractionSettings,
  type LayoutName,
  type LogitBatch,
  type LogitFile,
  type LogitSample,
  type RowRange,
  sampleAt,
} from "@logitpack/codec";
import { ExploreError } from "./errors.js";

/** How a worker thread can open a shard again on its own (local file or URL). */
export type ShardLocator =
  | { kind: "file"; path: string }
  | { kind: "url"; url: string; headers?: Record<string, string>; byteLength?: number };

/** One Parquet file of a dataset, opened lazily. */
export interface ShardRef {
  /** Path, URL or repo path: used in messages. */
  name: string;
  /** Opens the shard (called once; the dataset caches the result). */
  open(): Promise<LogitFile>;
  /** Where a worker can open it again; absent for in-memory shards (then statistics stay on this thread). */
  locator?: ShardLocator;
}

/** What a dataset says about itself. */
export interface DatasetInfo {
  name: string;
  layout: LayoutName;
  numRows: number;
  numShards: number;
  /** Extraction settings of the first shard (model, topP, topPMax, sampledN, templateHash, ...). */
  settings: ExtractionSettings;
  /** Key-value metadata of the first shard, as stored. */
  keyValueMetadata: Record<string, string>;
  shards: { name: string; rows: number; rowGroups: number; firstRow: number }[];
}

/** A sample with where it came from. */
export interface LoadedSample {
  sample: LogitSample;
  /** Row number over the whole dataset (shards in order). */
  row: number;
  /** Shard holding it and its row there. */
  shard: string;
  shardRow: number;
  settings: ExtractionSettings;
}

/**
 * A logit dataset: one or more shards (Parquet files) in order, read by streaming or by random access. Created by
 * `loadLogitDataset` (`@logitpack/explore/node`: paths, folders, URLs, Hub repos) or `LogitDataset.open(shards)`.
 */
export class LogitDataset {
  readonly name: string;
  readonly shards: readonly ShardRef[];
  readonly #files: LogitFile[];
  readonly #starts: number[];

  private constructor(name: string, shards: readonly ShardRef[], files: LogitFile[]) {
    this.name = name;
    this.shards = shards;
    this.#files = files;
    this.#starts = [0];
    for (const f of files) {
      this.#starts.push((this.#starts.at(-1) as number) + f.numRows);
    }
  }

  /** Opens every shard's footer (8 at a time) and checks that they share one layout. */
  static async open(shards: readonly ShardRef[], options: { name?: string; concurrency?: number } = {}) {
    const name = options.name ?? shards[0]?.name ?? "dataset";
    if (shards.length === 0) {
      throw new ExploreError("NOT_FOUND", `${name}: no Parquet files`);
    }
    const files: LogitFile[] = new Array(shards.length);
    let next = 0;
    const worker = async () => {
      while (next < shards.length) {
        const i = next++;
        files[i] = await (shards[i] as ShardRef).open();
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, shards.length) }, worker));
    const layout = (files[0] as LogitFile).layout;
    files.forEach((f, i) => {
      if (f.layout !== layout) {
        throw new ExploreError(
          "INCOMPATIBLE_SHARDS",
          `${shards[i]?.name} has layout ${f.layout} but ${shards[0]?.name} has ${layout}`,
        );
      }
    });
    return new LogitDataset(name, shards, files);
  }

  /** A dataset over files already opened (in memory, say). */
  static fromFiles(files: readonly LogitFile[], name = "dataset"): Promise<LogitDataset> {
    return LogitDataset.open(
      files.map((f, i) => ({ name: f.name ?? `${name}[${i}]`, open: async () => f })),
      { name },
    );
  }

  get numRows(): number {
    return this.#starts.at(-1) as number;
  }

  get layout(): LayoutName {
    return (this.#files[0] as LogitFile).layout;
  }

  get settings(): ExtractionSettings {
    return (this.#files[0] as LogitFile).info.settings;
  }

  /** The opened shard files, in order. */
  get files(): readonly LogitFile[] {
    return this.#files;
  }

  /** Row of the dataset where shard `i` starts. */
  shardStart(i: number): number {
    return this.#starts[i] as number;
  }

  info(): DatasetInfo {
    const first = this.#files[0] as LogitFile;
    return {
      name: this.name,
      layout: first.layout,
      numRows: this.numRows,
      numShards: this.#files.length,
      settings: first.info.settings,
      keyValueMetadata: first.info.keyValueMetadata,
      shards: this.#files.map((f, i) => ({
        name: (this.shards[i] as ShardRef).name,
        rows: f.numRows,
        rowGroups: f.info.numRowGroups,
        firstRow: this.#starts[i] as number,
      })),
    };
  }

  /** Which shard holds dataset row `row`, and the row inside it. */
  locate(row: number): { shard: number; shardRow: number } {
    if (!(Number.isInteger(row) && row >= 0 && row < this.numRows)) {
      throw new ExploreError("OUT_OF_RANGE", `row ${row} is outside 0..${this.numRows - 1} of ${this.name}`);
    }
    let lo = 0;
    let hi = this.#files.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.#starts[mid] as number) <= row) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return { shard: lo, shardRow: row - (this.#starts[lo] as number) };
  }

  /** Sample at dataset row `row` (reads one row group of one shard). */
  async sample(row: number): Promise<LoadedSample> {
    const { shard, shardRow } = this.locate(row);
    const file = this.#files[shard] as LogitFile;
    return {
      sample: await file.sample(shardRow),
      row,
      shard: (this.shards[shard] as ShardRef).name,
      shardRow,
      settings: file.info.settings,
    };
  }

  /**
   * Sample whose source-dataset index is `index`. Shards are searched in order; inside a shard, row groups whose
   * `index` statistics exclude it are skipped. Throws `OUT_OF_RANGE` when no shard holds it.
   */
  async findIndex(index: number): Promise<LoadedSample> {
    for (let i = 0; i < this.#files.length; i++) {
      const file = this.#files[i] as LogitFile;
      const found = await file.findIndex(index);
      if (found !== undefined) {
        const shardRow = await rowOf(file, index);
        return {
          sample: found,
          row: (this.#starts[i] as number) + shardRow,
          shard: (this.shards[i] as ShardRef).name,
          shardRow,
          settings: file.info.settings,
        };
      }
    }
    throw new ExploreError("OUT_OF_RANGE", `dataset index ${index} is in none of the ${this.#files.length} shard(s)`);
  }

  /** Streams decoded batches over all shards in order (one row group at a time per shard). */
  async *batches(range: RowRange = {}): AsyncGenerator<LogitBatch> {
    const start = range.rowStart ?? 0;
    const end = range.rowEnd ?? this.numRows;
    for (let i = 0; i < this.#files.length; i++) {
      const s0 = this.#starts[i] as number;
      const s1 = this.#starts[i + 1] as number;
      if (s1 <= start || s0 >= end) {
        continue;
      }
      yield* (this.#files[i] as LogitFile).batches({
        rowStart: Math.max(0, start - s0),
        rowEnd: Math.min(s1, end) - s0,
      });
    }
  }
}

async function rowOf(file: LogitFile, index: number): Promise<number> {
  for await (const b of file.columns(["index"])) {
    const values = b.columns["index"]?.values as Int32Array;
    const r = values.indexOf(index);
    if (r >= 0) {
      return b.firstRow + r;
    }
  }
  return -1;
}

/** The seed's `get_sample(ds, index)`: by dataset row (`{ row }`) or by source-dataset index (`{ index }`). */
export function getSample(dataset: LogitDataset, at: { row: number } | { index: number }): Promise<LoadedSample> {
  return "row" in at ? dataset.sample(at.row) : dataset.findIndex(at.index);
}

/** Samples of the whole dataset in order (for small datasets and tests; `batches()` for large ones). */
export async function* samples(dataset: LogitDataset, range: RowRange = {}): AsyncGenerator<LogitSample> {
  for await (const b of dataset.batches(range)) {
    for (let r = 0; r < b.numRows; r++) {
      yield sampleAt(b, r);
    }
  }
}
