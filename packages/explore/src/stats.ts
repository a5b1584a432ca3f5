import type { ColumnBatch, ExtractionSettings, LayoutName, LogitBatch, LogitFile } from "@logitpack/codec";
import type { LogitDataset } from "./dataset.js";
import { ExploreError } from "./errors.js";
import {
  type AccumulatorState,
  addPositions,
  addRow,
  histQuantile,
  MASS_BINS,
  mergeStates,
  newState,
  tokBucketValue,
} from "./internal/accumulator.js";
import type { Summary } from "./internal/summary.js";

export type { AccumulatorState, Summary };
export { mergeStates, newState };

/** A distribution on [0, 1] (probability masses), from a 4096-bin histogram: quantiles are within 1/4096. */
export interface MassStats {
  count: number;
  mean: number;
  min: number;
  max: number;
  p01: number;
  p10: number;
  p50: number;
  p90: number;
  p99: number;
  /** 64 equal bins over [0, 1]: `histogram[i]` counts values in `[i/64, (i+1)/64)` (1 in the last). */
  histogram: number[];
}

/** Dataset statistics (`logitpack explore stats`). */
export interface DatasetStats {
  name: string;
  layout: LayoutName;
  rows: number;
  tokens: number;
  /** Stored nucleus entries (unique drawn ids for importance) over all positions. */
  entries: number;
  /** Nucleus size per position (unique drawn ids for importance), exact. */
  nucleusSize: Summary & {
    /** `histogram[s]` = positions with nucleus size `s`, for s = 0..max. */
    histogram: number[];
  };
  /** The cap on the nucleus size the share below is measured against (null for importance). */
  topPMax: number | null;
  /** Where `topPMax` came from: the file's settings, the caller, or the Python tool's default (100). */
  topPMaxSource: "settings" | "option" | "default" | null;
  /** Positions whose nucleus size reached `topPMax` (the top-p threshold was cut short). */
  capped: number;
  cappedShare: number | null;
  /** Probability mass of the nucleus per position (drawn ids for importance). Null when no position has one. */
  nucleusMass: MassStats | null;
  /** `1 - nucleus mass` per position. */
  tailMass: MassStats | null;
  /** Positions whose masses are unknown (legacy files without quantization ranges). */
  massUnknown: number;
  /** Tokens per sample; quantiles exact below 4096, within 1.6% above. */
  tokensPerSample: Summary;
  settings: ExtractionSettings;
  /** Wall time of the computation and the resulting throughput. */
  seconds: number;
  tokensPerSecond: number;
  /** Worker threads used (0: this thread). */
  workers: number;
}

export interface StatsOptions {
  /** Rows of the dataset to cover (default all). */
  rowStart?: number;
  rowEnd?: number;
  /** Cap of the nucleus size for `cappedShare`; default: the file's `topPMax`, else 100 (the Python tool's). */
  topPMax?: number;
  /** Called after every row group. */
  onProgress?: (progress: { rows: number; tokens: number }) => void;
  signal?: AbortSignal;
  /**
   * `columns` (default for the nucleus and importance layouts): decode only the columns statistics need (counts,
   * quantized nucleus logits, min/max, logsumexp), several times faster than full batches. `batches`: full
   * decoding through the codec (the only way for the u8 layout).
   */
  path?: "columns" | "batches";
}

/** Records every row of a decoded batch (any layout). */
export function accumulateBatch(state: AccumulatorState, batch: LogitBatch, r0 = 0, r1 = batch.numRows): void {
  const s = batch.layout === "importance" ? batch.drawn : batch.top;
  for (let r = r0; r < r1; r++) {
    const p0 = batch.rowOffsets[r] as number;
    const p1 = batch.rowOffsets[r + 1] as number;
    addRow(state, p1 - p0);
    addPositions(state, s.offsets, s.quantized, s.min, s.max, batch.logsumexp, batch.levels, p0, p1);
  }
}

/** The columns the `columns` path reads, per layout. */
export function statsColumns(layout: LayoutName): string[] | undefined {
  switch (layout) {
    case "nucleus":
      return ["top_counts", "top_logits_quantized", "top_min", "top_max", "logsumexp"];
    case "importance":
      return ["is_counts", "is_logits_quantized", "is_min", "is_max", "logsumexp"];
    default:
      return undefined;
  }
}

/**
 * Records rows `[r0, r1)` of a row group decoded as a column projection (`statsColumns`). Checks per row that the
 * counts add up to the stored entries and that the per-position columns agree. `scratch` is reused offsets storage.
 */
export function accumulateColumns(
  state: AccumulatorState,
  cols: ColumnBatch,
  layout: LayoutName,
  scratch: { offsets: Int32Array },
  where = "",
  r0 = 0,
  r1 = cols.numRows,
): void {
  const names = statsColumns(layout);
  if (!names) {
    throw new RangeError(`layout ${layout} has no column statistics path`);
  }
  const [cName, qName, minName, maxName, lseName] = names as [string, string, string, string, string];
  const get = (n: string) => {
    const c = cols.columns[n];
    if (!c?.rowOffsets) {
      throw new ExploreError("INCONSISTENT_ROW", `${where}column ${n} is missing or not a list`);
    }
    return c as { values: ArrayLike<number>; rowOffsets: Int32Array };
  };
  const counts = get(cName);
  const q = get(qName);
  const min = get(minName);
  const max = get(maxName);
  const lse = get(lseName);
  const positions = counts.rowOffsets[cols.numRows] as number;
  if (scratch.offsets.length < positions + 1) {
    scratch.offsets = new Int32Array(Math.max(positions + 1, scratch.offsets.length * 2));
  }
  const off = scratch.offsets;
  const cv = counts.values;
  off[0] = q.rowOffsets[0] as number;
  for (let r = 0; r < cols.numRows; r++) {
    const p0 = counts.rowOffsets[r] as number;
    const p1 = counts.rowOffsets[r + 1] as number;
    if (
      min.rowOffsets[r + 1] !== p1 ||
      max.rowOffsets[r + 1] !== p1 ||
      lse.rowOffsets[r + 1] !== p1 ||
      off[p0] !== q.rowOffsets[r]
    ) {
      throw new ExploreError(
        "INCONSISTENT_ROW",
        `${where}row ${cols.firstRow + r}: ${cName}, ${minName}, ${maxName} and ${lseName} disagree on the number of positions`,
      );
    }
    let e = off[p0] as number;
    for (let t = p0; t < p1; t++) {
      e += cv[t] as number;
      off[t + 1] = e;
    }
    if (e !== q.rowOffsets[r + 1]) {
      throw new ExploreError(
        "INCONSISTENT_ROW",
        `${where}row ${cols.firstRow + r}: ${cName} add up to ${e - (q.rowOffsets[r] as number)}, but ${qName} has ${(q.rowOffsets[r + 1] as number) - (q.rowOffsets[r] as number)} entries`,
      );
    }
  }
  for (let r = r0; r < r1; r++) {
    const p0 = counts.rowOffsets[r] as number;
    const p1 = counts.rowOffsets[r + 1] as number;
    addRow(state, p1 - p0);
  }
  addPositions(
    state,
    off,
    q.values as Uint16Array,
    min.values as Float32Array,
    max.values as Float32Array,
    lse.values as Float64Array,
    65535,
    counts.rowOffsets[r0] as number,
    counts.rowOffsets[r1] as number,
  );
}

/** Accumulates row groups `groups` of one file (all its rows), by the columns path when the layout allows it. */
export async function accumulateFile(
  state: AccumulatorState,
  file: LogitFile,
  options: { path?: "columns" | "batches"; groups?: readonly number[]; onGroup?: () => void; signal?: AbortSignal },
): Promise<void> {
  const names = options.path === "batches" ? undefined : statsColumns(file.layout);
  const groups = options.groups ?? Array.from({ length: file.info.numRowGroups }, (_, g) => g);
  const scratch = { offsets: new Int32Array(1024) };
  for (const g of groups) {
    options.signal?.throwIfAborted();
    if (names) {
      accumulateColumns(state, await file.readGroupColumns(g, names), file.layout, scratch, `${file.name ?? ""}: `);
    } else {
      accumulateBatch(state, await file.readBatch(g));
    }
    options.onGroup?.();
  }
}

/**
 * Dataset statistics over any number of rows with bounded memory (one row group at a time): nucleus-size histogram
 * and quantiles, share of positions capped at `topPMax`, nucleus and tail mass distributions, tokens per sample.
 * Runs on this thread; `datasetStatsParallel` (`@logitpack/explore/node`) uses worker threads.
 */
export async function datasetStats(dataset: LogitDataset, options: StatsOptions = {}): Promise<DatasetStats> {
  const t0 = performance.now();
  const state = newState();
  const start = options.rowStart ?? 0;
  const end = options.rowEnd ?? dataset.numRows;
  if (!(start >= 0 && end <= dataset.numRows && start <= end)) {
    throw new ExploreError("OUT_OF_RANGE", `rows [${start}, ${end}) are outside [0, ${dataset.numRows})`);
  }
  const names = options.path === "batches" ? undefined : statsColumns(dataset.layout);
  const scratch = { offsets: new Int32Array(1024) };
  const files = dataset.files;
  // the row groups to read, in order, with the rows of each to count
  const work: { file: LogitFile; g: number; r0: number; r1: number }[] = [];
  for (let i = 0; i < files.length; i++) {
    const file = files[i] as LogitFile;
    const s0 = dataset.shardStart(i);
    if (s0 + file.numRows <= start || s0 >= end) {
      continue;
    }
    let g0 = 0;
    for (let g = 0; g < file.info.numRowGroups; g++) {
      const rows = file.info.rowGroupRows[g] as number;
      const a = Math.max(start, s0 + g0);
      const b = Math.min(end, s0 + g0 + rows);
      if (a < b) {
        work.push({ file, g, r0: a - s0 - g0, r1: b - s0 - g0 });
      }
      g0 += rows;
    }
  }
  // one row group is read ahead while the current one is counted (overlaps I/O, HTTP range reads above all)
  const read = (k: number): Promise<ColumnBatch | LogitBatch> | undefined => {
    const w = work[k];
    if (!w) {
      return undefined;
    }
    const p: Promise<ColumnBatch | LogitBatch> = names ? w.file.readGroupColumns(w.g, names) : w.file.readBatch(w.g);
    p.catch(() => undefined);
    return p;
  };
  let next = read(0);
  for (let k = 0; k < work.length; k++) {
    options.signal?.throwIfAborted();
    const w = work[k] as (typeof work)[number];
    const data = await (next as Promise<ColumnBatch | LogitBatch>);
    next = read(k + 1);
    if (names) {
      accumulateColumns(state, data as ColumnBatch, w.file.layout, scratch, `${w.file.name ?? ""}: `, w.r0, w.r1);
    } else {
      accumulateBatch(state, data as LogitBatch, w.r0, w.r1);
    }
    options.onProgress?.({ rows: state.rows, tokens: state.tokens });
  }
  return finishStats(state, dataset, options, (performance.now() - t0) / 1000, 0);
}

/** Turns an accumulated state into the report. */
export function finishStats(
  state: AccumulatorState,
  dataset: { name: string; layout: LayoutName; settings: ExtractionSettings },
  options: { topPMax?: number },
  seconds: number,
  workers: number,
): DatasetStats {
  const sizes = state.sizeCounts;
  let maxSize = -1;
  let minSize = -1;
  let sizeTotal = 0;
  for (let i = 0; i < sizes.length; i++) {
    if ((sizes[i] as number) > 0) {
      if (minSize < 0) {
        minSize = i;
      }
      maxSize = i;
      sizeTotal += sizes[i] as number;
    }
  }
  const nan = Number.NaN;
  const sizeQ = (p: number) => (sizeTotal > 0 ? histQuantile(sizes, sizeTotal, p) : nan);
  let topPMax: number | null = null;
  let topPMaxSource: DatasetStats["topPMaxSource"] = null;
  if (dataset.layout !== "importance") {
    if (options.topPMax !== undefined) {
      topPMax = options.topPMax;
      topPMaxSource = "option";
    } else if (typeof dataset.settings.topPMax === "number") {
      topPMax = dataset.settings.topPMax;
      topPMaxSource = "settings";
    } else {
      topPMax = 100;
      topPMaxSource = "default";
    }
  }
  let capped = 0;
  if (topPMax !== null) {
    for (let i = topPMax; i < sizes.length; i++) {
      capped += sizes[i] as number;
    }
  }
  const tokTotal = state.rows;
  const tokQ = (p: number) => (tokTotal > 0 ? tokBucketValue(histQuantile(state.tokBins, tokTotal, p)) : nan);
  return {
    name: dataset.name,
    layout: dataset.layout,
    rows: state.rows,
    tokens: state.tokens,
    entries: state.entries,
    nucleusSize: {
      count: sizeTotal,
      mean: sizeTotal > 0 ? state.entries / sizeTotal : nan,
      min: sizeTotal > 0 ? minSize : nan,
      max: sizeTotal > 0 ? maxSize : nan,
      p50: sizeQ(0.5),
      p90: sizeQ(0.9),
      p99: sizeQ(0.99),
      histogram: Array.from(sizes.subarray(0, maxSize + 1)),
    },
    topPMax,
    topPMaxSource,
    capped,
    cappedShare: topPMax !== null && sizeTotal > 0 ? capped / sizeTotal : null,
    nucleusMass: massStats(state.massBins, state.massCount, state.massSum, state.massMin, state.massMax),
    tailMass: massStats(
      state.tailBins,
      state.massCount,
      state.tailSum,
      Math.max(0, 1 - state.massMax),
      Math.max(0, 1 - state.massMin),
    ),
    massUnknown: state.massUnknown,
    tokensPerSample: {
      count: tokTotal,
      mean: tokTotal > 0 ? state.tokens / tokTotal : nan,
      min: tokTotal > 0 ? state.tokMin : nan,
      max: tokTotal > 0 ? state.tokMax : nan,
      p50: Math.min(tokQ(0.5), state.tokMax),
      p90: Math.min(tokQ(0.9), state.tokMax),
      p99: Math.min(tokQ(0.99), state.tokMax),
    },
    settings: dataset.settings,
    seconds,
    tokensPerSecond: seconds > 0 ? state.tokens / seconds : nan,
    workers,
  };
}

function massStats(bins: Float64Array, count: number, sum: number, min: number, max: number): MassStats | null {
  if (count === 0) {
    return null;
  }
  const clamp = (v: number) => Math.min(max, Math.max(min, v));
  const q = (p: number) => clamp((histQuantile(bins, count, p) + 0.5) / MASS_BINS);
  const coarse = new Array<number>(64).fill(0);
  const per = MASS_BINS / 64;
  for (let i = 0; i < MASS_BINS; i++) {
    coarse[Math.floor(i / per)] += bins[i] as number;
  }
  return {
    count,
    mean: sum / count,
    min,
    max,
    p01: q(0.01),
    p10: q(0.1),
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
    histogram: coarse,
  };
}
