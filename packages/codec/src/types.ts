/** Names of the on-disk layouts this codec knows. */
export type LayoutName =
  /** The seed layout (seed docs 000/002/003): uint16 ids + logits, per-position counts, min/max, float64 logsumexp. */
  | "nucleus"
  /** The older seed-001 variant, read-only: uint8 quantized values in binary columns, one float logsumexp. */
  | "nucleus-u8"
  /** logitpack's importance-sampling layout (seed 004): unique drawn ids, draw counts, quantized logits. */
  | "importance";

/**
 * One sparse set per position, flat over a sample or a batch: entries of position `t` are
 * `[offsets[t], offsets[t + 1])` of `ids` / `quantized`. `offsets` index into `ids` and need not start at 0
 * (a sample decoded from a batch is a zero-copy view of the batch arrays).
 */
export interface SparseLogits {
  /** Entry offsets per position, length `numTokens + 1`. */
  readonly offsets: Int32Array;
  /** Token ids of every entry. */
  readonly ids: Int32Array;
  /** Quantized logits (uint16; uint8 values widened for the `nucleus-u8` layout). */
  readonly quantized: Uint16Array;
  /** Per-position quantization bounds, length `numTokens` (NaN when a legacy file does not store them). */
  readonly min: Float32Array;
  readonly max: Float32Array;
}

/** A decoded row of the nucleus layouts. All arrays are typed; nothing is allocated per token. */
export interface NucleusSample {
  readonly layout: "nucleus" | "nucleus-u8";
  /** Index of the example in the source dataset. */
  readonly index: number;
  /** Number of assistant positions. */
  readonly numTokens: number;
  /** Nucleus (top-p) entries per position. */
  readonly top: SparseLogits;
  /** Entries sampled from the rest of the vocabulary (a fixed number per position). */
  readonly sampled: SparseLogits;
  /** Full-vocabulary logsumexp per position, length `numTokens`. */
  readonly logsumexp: Float64Array;
  /** Levels of the quantized values: 65535 (uint16) or 255 (uint8 legacy). */
  readonly levels: number;
}

/** A decoded row of the importance-sampling layout. */
export interface ImportanceSample {
  readonly layout: "importance";
  readonly index: number;
  readonly numTokens: number;
  /** Unique drawn ids per position, with their quantized logits and min/max. */
  readonly drawn: SparseLogits;
  /** How many of the `rounds` draws fell on each entry (sums to `rounds` per position). */
  readonly draws: Uint16Array;
  /** Full-vocabulary logsumexp of the logits per position. */
  readonly logsumexp: Float64Array;
  /** Full-vocabulary logsumexp of logits / temperature per position (the proposal's normalizer). */
  readonly logsumexpT: Float64Array;
  /** Sampling temperature of the proposal `q = softmax(logits / temperature)`. */
  readonly temperature: number;
  readonly levels: number;
}

export type LogitSample = NucleusSample | ImportanceSample;

/**
 * Many rows decoded together (one Parquet row group, say), as flat typed arrays. Row `r` owns positions
 * `[rowOffsets[r], rowOffsets[r + 1])`; `sampleAt(batch, r)` returns a zero-copy view.
 */
export interface NucleusBatch {
  readonly layout: "nucleus" | "nucleus-u8";
  readonly numRows: number;
  readonly index: Int32Array;
  readonly rowOffsets: Int32Array;
  readonly top: SparseLogits;
  readonly sampled: SparseLogits;
  readonly logsumexp: Float64Array;
  readonly levels: number;
  /** Row number of the first row of this batch in its file. */
  readonly firstRow: number;
}

export interface ImportanceBatch {
  readonly layout: "importance";
  readonly numRows: number;
  readonly index: Int32Array;
  readonly rowOffsets: Int32Array;
  readonly drawn: SparseLogits;
  readonly draws: Uint16Array;
  readonly logsumexp: Float64Array;
  readonly logsumexpT: Float64Array;
  readonly temperature: number;
  readonly levels: number;
  readonly firstRow: number;
}

export type LogitBatch = NucleusBatch | ImportanceBatch;

/** Extraction settings recorded in every file's key-value metadata. */
export interface ExtractionSettings {
  model?: string;
  /** Hash of the chat template used (e.g. sha256 hex). */
  templateHash?: string;
  topP?: number;
  topPMax?: number;
  sampledN?: number;
  mode?: "nucleus" | "importance";
  seed?: number;
  rounds?: number;
  temperature?: number;
  /**
   * The teacher's logits width V (the model's output size, e.g. 151,936 for Qwen3; not the tokenizer's size, which
   * can be smaller). Readers reject any stored id outside [0, V); without it, [0, 2^18).
   */
  logitsWidth?: number;
  /** Anything else worth recording (skip rules, tokenizer, boundary rule...). Values are JSON-serialized. */
  [key: string]: unknown;
}

/** What a file says about itself. */
export interface FileInfo {
  layout: LayoutName;
  /** Layout version from the metadata (`1` when a file has no logitpack metadata). */
  layoutVersion: number;
  numRows: number;
  numRowGroups: number;
  /** Rows per row group. */
  rowGroupRows: number[];
  settings: ExtractionSettings;
  /** Every key-value pair of the file's metadata, as stored. */
  keyValueMetadata: Record<string, string>;
  /** Column names in file order. */
  columns: string[];
  createdBy?: string;
  /** Every id decoded from this file is below this: `settings.logitsWidth` when recorded, else 2^18. */
  idLimit: number;
}
