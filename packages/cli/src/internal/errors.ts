import { ExtractionError } from "../lib/errors.js";

/**
 * Exit codes: 0 success, 1 failure (a file, a dataset, a model, the network, the data), 2 usage error (the command
 * line itself: an unknown flag, a malformed or out-of-range value, flags that conflict). `130` after a second Ctrl+C.
 */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A problem with the command line: exit code 2. `flag` is named first in the message. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    message: string,
    readonly flag?: string,
  ) {
    super(flag ? `${flag}: ${message}` : message);
  }
}

/** A failure the CLI itself detects (exit code 1), with the thing it is about first in the message. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Library error codes that mean "the value of a flag is malformed": those are usage errors too. */
const USAGE_CODES = new Set(["INVALID_FLAG", "INVALID_ARGUMENT", "INVALID_SKIP_RULES", "INVALID_OPTION"]);

export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) {
    return EXIT_USAGE;
  }
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string" && USAGE_CODES.has(code)) {
    return EXIT_USAGE;
  }
  // node:util parseArgs
  if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) {
    return EXIT_USAGE;
  }
  return EXIT_FAILURE;
}

/**
 * One line for the user: the library prefix (`[sampler] `) dropped, whitespace collapsed, the code of a library
 * error in brackets at the end so that it can be searched for.
 */
export function errorLine(error: unknown): string {
  if (!(error instanceof Error)) {
    return String(error);
  }
  let message = error.message
    .replace(/^\[[a-z-]+\] /, "")
    .replace(/\s+/g, " ")
    .trim();
  // parseArgs messages end with advice about "--" that does not apply to our commands
  message = message.replace(/ To specify a positional argument starting with a '-'.*$/, "");
  const code = (error as { code?: unknown }).code;
  // the pipeline's own errors read as the CLI's: no code, the hint in brackets
  const own = error instanceof UsageError || error instanceof CliError || error instanceof ExtractionError;
  if (typeof code === "string" && !code.startsWith("ERR_") && !own) {
    message = `${message} [${code}]`;
  }
  if ((error instanceof CliError || error instanceof ExtractionError) && error.hint) {
    message = `${message} (${error.hint})`;
  }
  return message;
}
