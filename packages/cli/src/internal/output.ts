/**
 * Where the CLI writes: stdout carries data (tables, or JSON lines with `--json`), stderr carries progress and
 * messages for people (silenced by `--quiet`; errors are always shown). Colour only on a terminal, never with
 * `NO_COLOR` set (https://no-color.org) or `TERM=dumb`; `FORCE_COLOR` forces it.
 */
export interface OutputOptions {
  json?: boolean;
  quiet?: boolean;
  debug?: boolean;
  env?: NodeJS.ProcessEnv;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
}

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const plain: Style = {
  bold: (s) => s,
  dim: (s) => s,
  red: (s) => s,
  green: (s) => s,
  yellow: (s) => s,
  cyan: (s) => s,
};

const sgr = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;
const ansi: Style = {
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
  cyan: sgr(36, 39),
};

export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") {
    return false;
  }
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0" && env.FORCE_COLOR !== "false") {
    return true;
  }
  return stream.isTTY === true && env.TERM !== "dumb";
}

export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly debug: boolean;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  /** Styles for stderr (messages, progress). */
  readonly err: Style;
  /** Styles for stdout (human tables; never with --json). */
  readonly style: Style;
  /** Whether stderr is a terminal we may redraw (the progress bar). */
  readonly interactive: boolean;
  #statusLine = false;

  constructor(options: OutputOptions = {}) {
    const env = options.env ?? process.env;
    this.json = options.json ?? false;
    this.quiet = options.quiet ?? false;
    this.debug = options.debug ?? false;
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    this.err = colorEnabled(this.stderr, env) ? ansi : plain;
    this.style = !this.json && colorEnabled(this.stdout, env) ? ansi : plain;
    this.interactive = this.stderr.isTTY === true && env.TERM !== "dumb" && !this.quiet;
  }

  /** A message for people on stderr (not with --quiet). */
  info(message: string): void {
    if (!this.quiet) {
      this.writeErr(`${message}\n`);
    }
  }

  /** A warning on stderr (not with --quiet). */
  warn(message: string): void {
    if (!this.quiet) {
      this.writeErr(`${this.err.yellow("warning:")} ${message}\n`);
    }
  }

  /** The error line: always shown. */
  error(message: string): void {
    this.writeErr(`${this.err.red("error:")} ${message}\n`);
  }

  /** Data for stdout: `human` prints it for people; with --json the object is printed as one JSON line. */
  data(object: unknown, human: () => string | undefined): void {
    if (this.json) {
      this.event(object);
      return;
    }
    const text = human();
    if (text !== undefined) {
      this.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
    }
  }

  /** A JSON line on stdout, only with --json (progress and run events). */
  event(object: unknown): void {
    if (this.json) {
      this.stdout.write(`${JSON.stringify(object, jsonReplacer)}\n`);
    }
  }

  /** Redraw the status line (progress bar) on a terminal. */
  status(line: string): void {
    if (!this.interactive) {
      return;
    }
    const width = this.stderr.columns || 100;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
    const visible = line.replace(/\x1b\[[0-9;]*m/g, "");
    const cut = visible.length > width - 1 ? visible.slice(0, width - 1) : line;
    this.stderr.write(`\r\x1b[2K${cut}`);
    this.#statusLine = true;
  }

  /** Remove the status line (before other stderr output, and at the end). */
  clearStatus(): void {
    if (this.#statusLine) {
      this.stderr.write("\r\x1b[2K");
      this.#statusLine = false;
    }
  }

  private writeErr(text: string): void {
    const had = this.#statusLine;
    this.clearStatus();
    this.stderr.write(text);
    this.#statusLine = false;
    if (had) {
      this.#redraw?.();
    }
  }

  #redraw: (() => void) | undefined;

  /** The progress bar registers itself so that messages do not tear it. */
  onRedraw(fn: (() => void) | undefined): void {
    this.#redraw = fn;
  }
}

/** Typed arrays as plain arrays, bigints as numbers, in JSON output. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") {
    return Number(value);
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number>);
  }
  if (value instanceof Error) {
    return { name: value.name, message: value.message };
  }
  return value;
}
