import { type InputShape, shapeColumns } from "@logitpack/chat";
import {
  type BatchPlan,
  type BatchThresholds,
  batchSizeFor,
  DEFAULT_BATCH_THRESHOLDS,
  numBatches,
  type PaddingStats,
  paddingStats,
  planDynamicBatches,
  planSequentialBatches,
  planTokenBudgetBatches,
} from "./batches.js";
import { missingColumnError, SamplerError } from "./errors.js";
import type { LengthsResult, LengthsTable } from "./lengths.js";
import { type ExampleTable, type SelectionStats, type SelectOptions, selectExamples } from "./select.js";
import { type Shard, shardPlan } from "./shard.js";
import type { DatasetSource } from "./sources.js";

/** How examples are grouped into batches. */
export type BatchingOptions =
  /** Longest first, batch size from `thresholds` by the batch's longest example (default: the seed's). */
  | { mode: "dynamic"; thresholds?: BatchThresholds }
  /** Longest first, at most `maxTokens` padded tokens per batch. */
  | { mode: "token-budget"; maxTokens: number; maxBatchSize?: number };

export interface PrepareOptions {
  source: DatasetSource;
  /** Needed to detect empty responses when lengths carry no `extract_tokens`. */
  shape?: InputShape;
  /** Lengths by dataset index: from `computeLengths` or `readLengths` (`--tokenized-dataset`). */
  lengths?: LengthsResult | LengthsTable;
  /** Column for stratified sampling (`--subject-col`). */
  subjectCol?: string;
  select?: SelectOptions;
  batching?: BatchingOptions;
  /**
   * Without lengths: batch size in dataset order. Default: the thresholds' size for `maxSeqLen` (1 for the seed's
   * defaults and any length over 2048), i.e. conservative, as the seed is.
   */
  unsortedBatchSize?: number;
  /** Examples without a length (-1): an error (default), or skipped and counted in `stats.skippedNoLength`. */
  missingLengths?: "error" | "skip";
  /** The shard to keep (`resolveShard()`); default all. */
  shard?: Pick<Shard, "index" | "count">;
}

export interface PreparedBatches {
  /** This shard's batches, in run order. */
  plan: BatchPlan;
  /** Batches of all shards together. */
  totalBatches: number;
  stats: SelectionStats;
  shard: Pick<Shard, "index" | "count">;
  /** Padding of this shard's batches, when lengths are known. */
  padding?: PaddingStats;
  /** True when batches are length-sorted (lengths were known). */
  sorted: boolean;
}

/**
 * From a dataset to this shard's batches (seed `prepare_dataset`): one streaming pass over the columns selection
 * needs, lengths joined by index, filters and sampling (`selectExamples`), then longest-first dynamic or
 * token-budget batches (dataset order without lengths), then the shard's share. Deterministic: the same inputs and
 * options give the same batches in the same order.
 */
export async function prepareBatches(options: PrepareOptions): Promise<PreparedBatches> {
  const { source } = options;
  const columns = await source.columns();
  if (options.subjectCol !== undefined && !columns.includes(options.subjectCol)) {
    throw missingColumnError(options.subjectCol, columns, "--subject-col", source.name);
  }
  const lengths = options.lengths;
  const extract = lengths ? lengths.extractTokens : undefined;
  const needEmptyScan = (options.select?.dropEmpty ?? true) && extract === undefined && options.shape !== undefined;
  const wanted: string[] = [];
  if (options.subjectCol !== undefined) {
    wanted.push(options.subjectCol);
  }
  if (needEmptyScan && options.shape) {
    for (const c of shapeColumns(options.shape)) {
      if (!columns.includes(c)) {
        throw missingColumnError(c, columns, undefined, source.name);
      }
      wanted.push(c);
    }
  }
  // One pass: row count, subjects, empty responses.
  const subjectIds = new Map<string, number>();
  const subjects: string[] = [];
  let subject = new Int32Array(1024);
  let empty = new Uint8Array(1024);
  let rows = 0;
  const known = await source.numRows();
  if (wanted.length === 0 && known !== undefined) {
    rows = known;
  } else {
    for await (const b of source.batches({
      columns: wanted.length > 0 ? wanted : columns.slice(0, 1),
      batchRows: 8192,
    })) {
      const end = b.start + b.rows.length;
      if (end > subject.length) {
        const size = Math.max(end, subject.length * 2);
        const s = new Int32Array(size);
        s.set(subject);
        subject = s;
        const e = new Uint8Array(size);
        e.set(empty);
        empty = e;
      }
      for (let k = 0; k < b.rows.length; k++) {
        const row = b.rows[k] as Record<string, unknown>;
        if (options.subjectCol !== undefined) {
          const name = String(row[options.subjectCol] ?? "");
          let id = subjectIds.get(name);
          if (id === undefined) {
            id = subjects.length;
            subjects.push(name);
            subjectIds.set(name, id);
          }
          subject[b.start + k] = id;
        }
        if (needEmptyScan && options.shape && isEmptyResponse(row, options.shape)) {
          empty[b.start + k] = 1;
        }
      }
      rows = Math.max(rows, end);
    }
  }
  const table: ExampleTable = { index: Int32Array.from({ length: rows }, (_, i) => i) };
  if (lengths !== undefined) {
    if (lengths.length.length < rows) {
      throw new SamplerError(
        "LENGTHS_MISMATCH",
        `lengths cover ${lengths.length.length} examples but the dataset has ${rows}; were they computed for this dataset?`,
        { flag: "--tokenized-dataset" },
      );
    }
    for (let i = rows; i < lengths.length.length; i++) {
      if (lengths.length[i] !== -1) {
        throw new SamplerError(
          "LENGTHS_MISMATCH",
          `lengths have an entry for index ${i} but the dataset has ${rows} rows; were they computed for this dataset?`,
          { flag: "--tokenized-dataset" },
        );
      }
    }
    const len = lengths.length.subarray(0, rows);
    // rows computeLengths skipped as invalid (length -1) are left out; any other missing length is an error
    const invalid = new Set("invalid" in lengths ? lengths.invalid.map((x) => x.row) : []);
    for (let i = len.indexOf(-1); i >= 0; i = len.indexOf(-1, i + 1)) {
      if (!invalid.has(i) && options.missingLengths !== "skip") {
        throw new SamplerError("LENGTHS_MISMATCH", `example ${i} has no precomputed length`, {
          flag: "--tokenized-dataset",
          row: i,
        });
      }
    }
    table.length = len;
    if (extract !== undefined) {
      table.extractTokens = extract.subarray(0, rows);
      if (rows > 0 && table.extractTokens.every((x) => x === 0)) {
        throw new SamplerError(
          "NO_ASSISTANT_TOKENS",
          `0 assistant tokens in all ${rows} examples: the chat template's {% generation %} markers never matched ` +
            "(check the role names the template tests for, and the input columns)",
        );
      }
    }
  }
  if (needEmptyScan) {
    table.empty = empty.subarray(0, rows);
  }
  if (options.subjectCol !== undefined) {
    table.subject = subject.subarray(0, rows);
    table.subjects = subjects;
  }
  const selection = selectExamples(table, options.select);
  const batching = options.batching ?? { mode: "dynamic" };
  let plan: BatchPlan;
  if (selection.length !== undefined) {
    plan =
      batching.mode === "dynamic"
        ? planDynamicBatches(selection.index, selection.length, batching.thresholds ?? DEFAULT_BATCH_THRESHOLDS)
        : planTokenBudgetBatches(selection.index, selection.length, batching.maxTokens, batching.maxBatchSize);
  } else {
    const thresholds =
      batching.mode === "dynamic" ? (batching.thresholds ?? DEFAULT_BATCH_THRESHOLDS) : DEFAULT_BATCH_THRESHOLDS;
    const size =
      options.unsortedBatchSize ?? batchSizeFor(options.select?.maxSeqLen ?? Number.POSITIVE_INFINITY, thresholds);
    plan = planSequentialBatches(selection.index, size);
  }
  const shard = options.shard ?? { index: 0, count: 1 };
  const mine = shardPlan(plan, shard);
  const out: PreparedBatches = {
    plan: mine,
    totalBatches: numBatches(plan),
    stats: selection.stats,
    shard,
    sorted: selection.length !== undefined,
  };
  if (mine.lengths !== undefined) {
    out.padding = paddingStats(mine);
  }
  return out;
}

/** True when the example's response is empty (no assistant text, no text, no completion). */
export function isEmptyResponse(row: Record<string, unknown>, shape: InputShape): boolean {
  const blank = (v: unknown) => typeof v !== "string" || v.trim() === "";
  switch (shape.kind) {
    case "columns":
      return blank(row[shape.assistantCol]);
    case "text":
      return blank(row[shape.textCol]);
    case "completion":
      return blank(row[shape.responseCol]);
    case "messages": {
      let list = row[shape.column];
      if (typeof list === "string") {
        try {
          list = JSON.parse(list);
        } catch {
          return false;
        }
      }
      if (!Array.isArray(list)) {
        return false;
      }
      return !list.some((m) => {
        if (typeof m !== "object" || m === null) {
          return false;
        }
        const o = m as Record<string, unknown>;
        const role = o.role ?? (o.from === "gpt" ? "assistant" : o.from);
        return (
          role === "assistant" &&
          (!blank(o.content ?? o.value) || !blank(o.reasoning_content) || Array.isArray(o.tool_calls))
        );
      });
    }
  }
}
