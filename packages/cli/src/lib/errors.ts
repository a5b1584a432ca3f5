/**
 * The error the library throws: a `code` to branch on, the `option` it is about (a config path such as
 * `sampling.topP`), and an optional `hint`. The message names the option the way the caller asked for
 * (`optionName`: config paths by default, flag names in the CLI).
 */
export type ExtractionErrorCode =
  /** A config value is malformed, out of range, or conflicts with another: the caller's mistake (CLI exit 2). */
  | "INVALID_OPTION"
  /** A file, folder, dataset or model that does not exist or cannot be read. */
  | "NOT_FOUND"
  /** The output or cache folder cannot be written. */
  | "NOT_WRITABLE"
  /** The model cannot be loaded or does not fit its tokenizer. */
  | "MODEL"
  /** The output already holds an earlier run's examples and neither `resume` nor `forceRestart` was set. */
  | "OUTPUT_NOT_EMPTY"
  /** The earlier run in the output used other settings. */
  | "SETTINGS_MISMATCH"
  /** The selection is empty, or the template marks no token. */
  | "NOTHING_TO_DO";

export class ExtractionError extends Error {
  override readonly name = "ExtractionError";
  constructor(
    readonly code: ExtractionErrorCode,
    message: string,
    readonly option?: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** How messages name an option: the CLI passes its flag names (`sampling.topP` -> `--top-p`). */
export type OptionNamer = (option: string) => string;

export const configPath: OptionNamer = (option) => option;
