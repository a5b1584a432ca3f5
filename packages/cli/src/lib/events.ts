/**
 * What `runExtraction` and `runLengths` report while they run: one discriminated union on `event`. Each event is
 * emitted once (`progress` once per written row). The CLI's `--json` prints these objects as JSON lines (progress
 * at most once per second), so the field names are a public interface: see packages/cli/README.md.
 */
import type { SelectionStats } from "@logitpack/sampler";

/** Something for the user to know, with no effect on the result (a model being generated, files downloaded). */
export interface NoticeEvent {
  event: "notice";
  /** `input`: which split, config and files of the dataset are read, and which columns hold the conversation. */
  kind: "embedded-default" | "generate-model" | "download" | "chat-template" | "input" | "model-variant";
  message: string;
  /** `download`: the repo and the number of files. */
  repo?: string;
  files?: number;
}

/** A file of a Hub model being downloaded (at most every 100 ms per file, and when it is complete or found cached). */
export interface DownloadProgressEvent {
  event: "download-progress";
  repo: string;
  /** The file's path in the repo; `file` of `files` of this model. */
  path: string;
  file: number;
  files: number;
  bytes: number;
  total?: number;
  bytesPerSecond: number;
  done: boolean;
  /** Already in the cache: nothing downloaded. */
  cached?: boolean;
}

/** Something wrong that does not stop the run (an example skipped, a shard kept for a later upload). */
export interface WarningEvent {
  event: "warning";
  message: string;
  /** The dataset row it is about, when there is one. */
  row?: number;
}

/** Token lengths are being computed (no `selection.tokenizedDataset`), or by `runLengths`. */
export interface LengthsProgressEvent {
  event: "lengths-progress";
  rows: number;
  tokens: number;
}

export interface LengthsComputedEvent {
  event: "lengths-computed";
  rows: number;
  invalid: number;
  seconds: number;
}

/** What the selection kept and left out (`sampler`'s `SelectionStats`). */
export interface SelectionEvent extends SelectionStats {
  event: "selection";
}

/** `runtime.verifyMask`: the first example with the tokens that get logits. */
export interface VerifyMaskEvent {
  event: "verify-mask";
  index: number;
  tokens: number;
  assistantTokens: number;
  extractTokens: number;
  text: string;
  /** Character offsets `[from, to)` of each token in `text`. */
  offsets: Uint32Array;
  extractMask: Uint8Array;
}

/** The output's earlier progress, read before the first row (`resume`). */
export interface ResumedEvent {
  event: "resumed";
  done: number;
  pendingRows: number;
  backups: number;
  shardsChecked: number;
  ms: number;
}

/** `output.forceRestart` removed the earlier run's shards. */
export interface RestartedEvent {
  event: "restarted";
  removed: number;
}

export interface StartEvent {
  event: "start";
  output: string;
  outputKind: "folder" | "hub";
  cacheDir: string;
  /** Examples of the selection (this shard). */
  selected: number;
  /** Of those, already in the output (resume). */
  done: number;
  /** Left for this run. */
  todo: number;
  /** The execution provider the teacher got. */
  device: string;
  /** `model.device` auto: the providers tried before `device` and why each failed (one line each). */
  providerFailures: { provider: string; message: string }[];
  /** The ONNX file run (relative to the model folder) and its dtype variant, when known. */
  modelFile?: string;
  dtype?: string;
  /** How the LM head is handled: `gathered before MatMul|Gemm|MatMulNBits`, or `full logits: {why}`. */
  lmHead: string;
  model: string;
  dataset: string;
  shard: string;
}

/** After every written row. */
export interface ProgressEvent {
  event: "progress";
  /** Examples written by this run, of `total`. */
  done: number;
  total: number;
  /** Tokens through the teacher, assistant positions extracted (this run). */
  tokens: number;
  positions: number;
  /** An upload is running. */
  uploading: boolean;
  shards: number;
}

/** The signal was aborted: the batch on the device is finished and written, nothing after it is started. */
export interface StoppingEvent {
  event: "stopping";
  /** `signal.reason` as a string (the CLI: `SIGINT`, `SIGTERM`, `max-runtime`). */
  reason: string;
}

export interface ShardStartEvent {
  event: "shard-start";
  path: string;
  rows: number;
  bytes: number;
}

/** A shard is in the output (written to the folder, or committed to the Hub). */
export interface ShardWrittenEvent {
  event: "shard-uploaded";
  path: string;
  rows: number;
  bytes: number;
  ms: number;
}

export interface UploadFailedEvent {
  event: "upload-failed";
  path: string;
  /** Where the shard is kept for the next `resume`. */
  backup: string;
  message: string;
}

export interface BackupUploadedEvent {
  event: "backup-uploaded";
  path: string;
}

export interface RetryEvent {
  event: "retry";
  [key: string]: unknown;
}

export interface PendingSavedEvent {
  event: "pending-saved";
  path: string;
  rows: number;
}

/** The last event of a run, also what `runExtraction` returns. */
export interface ExtractionResult {
  /** `done`: every selected example is written; `stopped`: the signal stopped it (resumable). */
  event: "done" | "stopped";
  /** The abort reason when stopped, else null. */
  reason: string | null;
  output: string;
  outputKind: "folder" | "hub";
  /** Where the output can be read: the folder, or the repo's URL. */
  location: string;
  cacheDir: string;
  /** Examples, tokens and assistant positions of this run. */
  examples: number;
  tokens: number;
  positions: number;
  selected: number;
  /** Examples in the output in all. */
  done: number;
  shards: string[];
  /** Shards that could not be uploaded, kept in the cache for the next `resume`. */
  backups: string[];
  pendingFile: string | null;
  bytesUploaded: number;
  seconds: number;
  warnings: string[];
  /** Examples left out because their content is invalid (the lengths could not be computed). */
  skippedInvalid: number;
  /** Examples left out because their answer is null, empty or whitespace only. */
  skippedEmpty: number;
}

export type ExtractionEvent =
  | NoticeEvent
  | DownloadProgressEvent
  | WarningEvent
  | LengthsProgressEvent
  | LengthsComputedEvent
  | SelectionEvent
  | VerifyMaskEvent
  | ResumedEvent
  | RestartedEvent
  | StartEvent
  | ProgressEvent
  | StoppingEvent
  | ShardStartEvent
  | ShardWrittenEvent
  | UploadFailedEvent
  | BackupUploadedEvent
  | RetryEvent
  | PendingSavedEvent
  | ExtractionResult;

/** The last event of `runLengths`, also what it returns. */
export interface LengthsResult {
  event: "done";
  /** The Parquet file, or `<repo url>/<path>` on the Hub. */
  output: string;
  rows: number;
  tokens: number;
  invalid: number;
  seconds: number;
}

export type LengthsEvent = NoticeEvent | WarningEvent | LengthsProgressEvent | LengthsResult;

/** Options of `runExtraction` and `runLengths`. */
export interface RunOptions<E> {
  /** Aborting it stops the run cleanly: the running batch is finished and written, unwritten rows are saved. */
  signal?: AbortSignal;
  onEvent?: (event: E) => void;
  /** How error messages name options (default: config paths such as `sampling.topP`). */
  optionName?: (option: string) => string;
  /** Environment for defaults (cache folder, HF token, SLURM/Kubernetes shard). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}
