/**
 * Every data or configuration problem `@logitpack/sampler` detects is a `SamplerError` with a machine-readable
 * `code` and, where known, the offending column, flag, file or row. Programmer mistakes are `TypeError`/`RangeError`.
 */
export type SamplerErrorCode =
  /** A column the options name is not in the dataset (the message lists the columns that exist). */
  | "MISSING_COLUMN"
  /** A flag value is malformed (JSON of --sample-subject / --batch-thresholds, --shard, a number). */
  | "INVALID_FLAG"
  /** The dataset path or repo does not exist, or holds no readable file. */
  | "SOURCE_NOT_FOUND"
  /** A source kind this package cannot read (a Hub repo without a Hub provider, an unknown file type). */
  | "UNSUPPORTED_SOURCE"
  /** A row that cannot be read or encoded (bad JSON line, bad content). */
  | "INVALID_ROW"
  /** A dataset file holds no rows at all. */
  | "EMPTY_DATASET"
  /** A dataset file is not a complete file of its format (a truncated or damaged Parquet file). */
  | "CORRUPT_FILE"
  /** Precomputed lengths do not fit the dataset (missing indices, duplicates, negative lengths). */
  | "LENGTHS_MISMATCH"
  /** Every example produced 0 assistant tokens: the template's markers never matched. */
  | "NO_ASSISTANT_TOKENS"
  /** A worker thread failed to start or crashed. */
  | "WORKER_FAILED";

export interface SamplerErrorContext {
  column?: string;
  flag?: string;
  file?: string;
  row?: number;
}

export class SamplerError extends Error {
  override readonly name = "SamplerError";
  readonly code: SamplerErrorCode;
  readonly column?: string;
  readonly flag?: string;
  readonly file?: string;
  readonly row?: number;

  constructor(code: SamplerErrorCode, message: string, context: SamplerErrorContext = {}, options?: ErrorOptions) {
    super(`[sampler] ${formatContext(context)}${message}`, options);
    this.code = code;
    if (context.column !== undefined) {
      this.column = context.column;
    }
    if (context.flag !== undefined) {
      this.flag = context.flag;
    }
    if (context.file !== undefined) {
      this.file = context.file;
    }
    if (context.row !== undefined) {
      this.row = context.row;
    }
  }
}

function formatContext({ column, flag, file, row }: SamplerErrorContext): string {
  const parts: string[] = [];
  if (flag !== undefined) {
    parts.push(flag);
  }
  if (file !== undefined) {
    parts.push(file);
  }
  if (row !== undefined) {
    parts.push(`row ${row}`);
  }
  if (column !== undefined) {
    parts.push(`column ${column}`);
  }
  return parts.length > 0 ? `${parts.join(", ")}: ` : "";
}

/** The error for a missing column: names it and lists the columns that exist. */
export function missingColumnError(column: string, columns: readonly string[], flag?: string, file?: string) {
  const ctx: SamplerErrorContext = { column };
  if (flag !== undefined) {
    ctx.flag = flag;
  }
  if (file !== undefined) {
    ctx.file = file;
  }
  return new SamplerError(
    "MISSING_COLUMN",
    `no column "${column}" in the dataset; its columns are: ${columns.map((c) => JSON.stringify(c)).join(", ")}`,
    ctx,
  );
}
