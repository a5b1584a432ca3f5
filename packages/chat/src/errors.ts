/**
 * Every data or configuration problem `@logitpack/chat` detects is a `ChatError` with a machine-readable `code` and,
 * where known, the offending column, flag, file or row. Programmer mistakes (a wrong argument type) are
 * `TypeError`/`RangeError`.
 */
export type ChatErrorCode =
  /** The chat template has no `{% generation %}` markers, or a conversation produced 0 assistant tokens. */
  | "NO_ASSISTANT_TOKENS"
  /** A column the input shape needs is not in the dataset. */
  | "MISSING_COLUMN"
  /** A row's messages are not a list of `{role, content}` (or ShareGPT `{from, value}`) objects. */
  | "INVALID_MESSAGES"
  /** Content that cannot be tokenized faithfully: marker sentinels, unpaired surrogates, a non-string value. */
  | "INVALID_CONTENT"
  /** A token's bytes do not match the text at its position: offsets would be wrong, so nothing is returned. */
  | "OFFSET_MISMATCH"
  /** The chat template failed to parse or render, or its generation markers are unbalanced. */
  | "TEMPLATE_ERROR"
  /** No chat template was found (not in the tokenizer config, no such file, no such built-in). */
  | "TEMPLATE_NOT_FOUND"
  /** `tokenizer.json` / `tokenizer_config.json` are missing or unreadable. */
  | "TOKENIZER_LOAD"
  /** The tokenizer uses a model, normalizer or offset setting whose offsets this package cannot verify. */
  | "UNSUPPORTED_TOKENIZER"
  /** Skip rules are malformed or name a string that is not a single token. */
  | "INVALID_SKIP_RULES"
  /**
   * `maskOverrun: "error"` only: a generation span ends on a character no token covers (a combining mark NFC merged
   * into the previous character), so transformers' mask runs to the end of the sequence.
   */
  | "MASK_OVERRUN";

export interface ChatErrorContext {
  /** Dataset column involved, when known. */
  column?: string;
  /** CLI flag whose value was malformed, when known (e.g. `--chat-template`). */
  flag?: string;
  /** File involved, when known. */
  file?: string;
  /** Row (example) number, when known. */
  row?: number;
}

export class ChatError extends Error {
  override readonly name = "ChatError";
  readonly code: ChatErrorCode;
  readonly column?: string;
  readonly flag?: string;
  readonly file?: string;
  readonly row?: number;

  constructor(code: ChatErrorCode, message: string, context: ChatErrorContext = {}, options?: ErrorOptions) {
    super(`[chat] ${formatContext(context)}${message}`, options);
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

function formatContext({ column, flag, file, row }: ChatErrorContext): string {
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
