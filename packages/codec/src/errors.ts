/**
 * Every data problem the codec detects is a `CodecError` with a machine-readable `code` and, where it is known,
 * the file, row and column it was found in. Programmer mistakes (a wrong argument) are `TypeError`/`RangeError`.
 */
export type CodecErrorCode =
  /** The file's schema lacks a column or a column has another type than the layout requires. */
  | "SCHEMA_MISMATCH"
  /** A row's columns disagree with each other (counts, lengths, num_tokens). */
  | "INCONSISTENT_ROW"
  /** A value is out of its range (NaN/Infinity min or max, max < min, id above the vocabulary limit). */
  | "INVALID_VALUE"
  /** A null where the layout has none. */
  | "NULL_VALUE"
  /** The Parquet structure itself is broken: truncated file, bad page header, bad encoding stream. */
  | "CORRUPT_FILE"
  /** A Parquet feature (codec, encoding, page type) this reader does not implement. */
  | "UNSUPPORTED"
  /** A requested row range, column or sample does not exist. */
  | "OUT_OF_RANGE";

export interface CodecErrorContext {
  /** File name or URL, when the error came from reading one. */
  file?: string;
  /** Row number in the file (0-based), when known. */
  row?: number;
  /** Column name, when known. */
  column?: string;
}

export class CodecError extends Error {
  override readonly name = "CodecError";
  readonly code: CodecErrorCode;
  readonly file?: string;
  readonly row?: number;
  readonly column?: string;

  constructor(code: CodecErrorCode, message: string, context: CodecErrorContext = {}, options?: ErrorOptions) {
    super(`[codec] ${formatContext(context)}${message}`, options);
    this.code = code;
    if (context.file !== undefined) {
      this.file = context.file;
    }
    if (context.row !== undefined) {
      this.row = context.row;
    }
    if (context.column !== undefined) {
      this.column = context.column;
    }
  }

  /** A copy of this error with more context (the file name is known only at the outer layer). */
  withContext(context: CodecErrorContext): CodecError {
    const merged: CodecErrorContext = {
      file: this.file ?? context.file,
      row: this.row ?? context.row,
      column: this.column ?? context.column,
    };
    const bare = this.message.replace(/^\[codec\] (?:[^:]*?: )?/, "");
    return new CodecError(this.code, stripContext(bare, this), merged, { cause: this.cause });
  }
}

function formatContext({ file, row, column }: CodecErrorContext): string {
  const parts: string[] = [];
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

function stripContext(message: string, error: CodecError): string {
  const prefix = formatContext({ file: error.file, row: error.row, column: error.column });
  const full = `[codec] ${prefix}`;
  return error.message.startsWith(full) ? error.message.slice(full.length) : message;
}
