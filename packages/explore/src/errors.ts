/**
 * Data problems explore detects are an `ExploreError` with a machine-readable `code`. Programmer mistakes (a wrong
 * argument) are `TypeError`/`RangeError`. Errors from the codec, chat and hub-stream packages pass through as they are
 * (`CodecError`, `ChatError`, `HubStreamError`), except where explore adds what it knows (then they are the `cause`).
 */
export type ExploreErrorCode =
  /** Nothing to read: an empty folder, a repo without Parquet files, a path that does not exist. */
  | "NOT_FOUND"
  /** A row or dataset index that the dataset does not hold. */
  | "OUT_OF_RANGE"
  /** Shards of one dataset that cannot be read together (different layouts). */
  | "INCOMPATIBLE_SHARDS"
  /**
   * The re-rendered text does not line up with the stored positions: a different template, tokenizer or skip
   * rules. `details` says what differs.
   */
  | "ALIGNMENT_MISMATCH"
  /** What alignment needs is missing: no tokenizer, no template, no example, no input shape. */
  | "MISSING_INPUT"
  /** A full distribution given to the fidelity report that does not fit the sample (vocabulary, NaN). */
  | "INVALID_DISTRIBUTION"
  /** Columns of a row that disagree with each other (counts that do not add up to the entries). */
  | "INCONSISTENT_ROW"
  /** A worker thread of the parallel statistics failed. */
  | "WORKER_FAILED";

export class ExploreError extends Error {
  override readonly name = "ExploreError";
  readonly code: ExploreErrorCode;
  /** Structured facts about the failure (for `ALIGNMENT_MISMATCH`: an `AlignmentMismatch`). */
  readonly details?: unknown;

  constructor(code: ExploreErrorCode, message: string, details?: unknown, options?: ErrorOptions) {
    super(`[explore] ${message}`, options);
    this.code = code;
    if (details !== undefined) {
      this.details = details;
    }
  }
}
