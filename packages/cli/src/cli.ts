/**
 * `logitpack`: parse the command line against the command table, dispatch, return the exit code. Errors are one
 * line (`error: <what>: <why>`), with the stack only under `--debug`; exit 1 on failure, 2 on a usage error.
 * `runCli` runs in-process with its own streams and environment (the tests use it; `bin.ts` is the command).
 */
import { parseArgs } from "node:util";
import { COMMANDS, findCommand, subcommandsOf, VERSION } from "./commands/index.js";
import { EXIT_USAGE, errorLine, exitCodeOf, UsageError } from "./internal/errors.js";
import { Output } from "./internal/output.js";
import { type CommandSpec, commandHelp, type FlagSpec, GLOBAL_FLAGS } from "./internal/spec.js";

function topHelp(): string {
  const top = COMMANDS.filter((c) => !c.name.includes(" "));
  const w = Math.max(...top.map((c) => c.name.length));
  return [
    "logitpack: extract a teacher LLM's sparse logits over a chat dataset into Parquet, resume, verify, explore.",
    "",
    "Usage: logitpack <command> [flags]",
    "",
    "Commands:",
    ...top.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    "",
    "Global flags: --json (JSON lines on stdout), --quiet, --debug (stack traces), --help, --version.",
    "Run 'logitpack <command> --help' for a command's flags. Colour follows NO_COLOR / FORCE_COLOR.",
    "",
    "Start here:",
    "  logitpack extract                  # the bundled tiny model over the bundled sample dataset -> ./logits-out",
    "  logitpack explore info logits-out  # what was written",
    "",
  ].join("\n");
}

/** Where a run of the command reads and writes (default: the process's). */
export interface CliIO {
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
}

/** Runs `logitpack <argv>`; resolves with the exit code. */
export async function runCli(argv: string[], io: CliIO = {}): Promise<number> {
  // Global flags may appear anywhere; read them first so that errors respect --json/--debug/--quiet.
  const early = new Output({
    ...io,
    json: argv.includes("--json"),
    quiet: argv.includes("--quiet") || argv.includes("-q"),
    debug: argv.includes("--debug"),
  });
  try {
    return (await dispatch(argv, early, io)) ?? 0;
  } catch (error) {
    return report(error, early);
  }
}

function report(error: unknown, out: Output): number {
  out.clearStatus();
  const code = exitCodeOf(error);
  const line = errorLine(error);
  if (out.json) {
    out.event({ event: "error", message: line, code: (error as { code?: unknown })?.code ?? null, exitCode: code });
  }
  out.error(line);
  if (code === EXIT_USAGE && !(error instanceof UsageError && error.message.includes("--help"))) {
    out.info(out.err.dim("Run with --help for usage."));
  }
  if (out.debug && error instanceof Error && error.stack) {
    out.stderr.write(`${error.stack}\n`);
    let cause = error.cause;
    while (cause instanceof Error) {
      out.stderr.write(`caused by: ${cause.stack ?? cause.message}\n`);
      cause = cause.cause;
    }
  }
  return code;
}

async function dispatch(argv: string[], out: Output, io: CliIO): Promise<number | undefined> {
  const first = argv.find((a) => !a.startsWith("-"));
  if (argv.length === 0 || (first === undefined && (argv.includes("--help") || argv.includes("-h")))) {
    out.stdout.write(topHelp());
    return 0;
  }
  if (first === undefined && (argv.includes("--version") || argv.includes("-v"))) {
    out.stdout.write(`logitpack ${VERSION}\n`);
    return 0;
  }
  if (first === undefined) {
    throw new UsageError(`no command given (${argv.join(" ")}); commands: ${topNames()}`);
  }
  if (first === "help") {
    const rest = argv.slice(argv.indexOf(first) + 1).filter((a) => !a.startsWith("-"));
    const spec = rest.length > 0 ? resolve(rest) : undefined;
    out.stdout.write(spec ? commandHelp(spec.spec, subcommandsOf(spec.spec.name)) : topHelp());
    return 0;
  }
  const words = argv.filter((a) => !a.startsWith("-"));
  const { spec, used } = resolve(words);
  // remove the command words (the first `used` non-flag arguments) from argv
  const rest: string[] = [];
  let skip = used;
  for (const a of argv) {
    if (skip > 0 && a === words[used - skip]) {
      skip--;
      continue;
    }
    rest.push(a);
  }
  const subs = subcommandsOf(spec.name);
  if (rest.includes("--help") || rest.includes("-h")) {
    out.stdout.write(commandHelp(spec, subs));
    return 0;
  }
  if (subs.length > 0) {
    const given = rest.find((a) => !a.startsWith("-"));
    throw new UsageError(
      given === undefined
        ? `which one? ${subs.map((s) => s.name.split(" ").at(-1)).join(", ")} (see 'logitpack ${spec.name} --help')`
        : `unknown command "${given}"; commands: ${subs.map((s) => s.name.split(" ").at(-1)).join(", ")}`,
      `logitpack ${spec.name}`,
    );
  }
  const options = toParseArgs({ ...spec.flags, ...GLOBAL_FLAGS });
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(cleanParseError((error as Error).message, spec), undefined);
  }
  const max = spec.positionals?.length ?? 0;
  if (parsed.positionals.length > max) {
    throw new UsageError(
      `unexpected argument ${JSON.stringify(parsed.positionals[max])}${max === 0 ? " (this command takes only flags)" : ""}`,
      `logitpack ${spec.name}`,
    );
  }
  const required = (spec.positionals ?? []).filter((p) => !p.optional);
  if (parsed.positionals.length < required.length) {
    throw new UsageError(`missing ${required[parsed.positionals.length]?.name}`, `logitpack ${spec.name}`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const cmdOut = new Output({
    ...io,
    json: values.json === true,
    quiet: values.quiet === true,
    debug: values.debug === true,
  });
  try {
    const env = io.env ?? process.env;
    return (await spec.run({ flags: values, positionals: parsed.positionals, out: cmdOut, env, argv })) ?? 0;
  } finally {
    cmdOut.clearStatus();
  }
}

function topNames(): string {
  return COMMANDS.filter((c) => !c.name.includes(" "))
    .map((c) => c.name)
    .join(", ");
}

function resolve(words: string[]): { spec: CommandSpec; used: number } {
  const two = words.slice(0, 2).join(" ");
  const sub = words.length >= 2 ? findCommand(two) : undefined;
  if (sub) {
    return { spec: sub, used: 2 };
  }
  const one = findCommand(words[0] ?? "");
  if (!one) {
    throw new UsageError(`unknown command "${words[0]}"; commands: ${topNames()}`);
  }
  return { spec: one, used: 1 };
}

function toParseArgs(flags: Record<string, FlagSpec>) {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, f] of Object.entries(flags)) {
    options[name] = f.short ? { type: f.type, short: f.short } : { type: f.type };
  }
  return options;
}

function cleanParseError(message: string, spec: CommandSpec): string {
  const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message);
  if (unknown) {
    const name = (unknown[1] as string).replace(/^-+/, "");
    const close = closest(name, Object.keys({ ...spec.flags, ...GLOBAL_FLAGS }));
    return `unknown flag ${unknown[1]} for 'logitpack ${spec.name}'${close ? ` (did you mean --${close}?)` : ""}`;
  }
  const missing = /Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(message);
  if (missing) {
    return `${missing[1]}: needs a value`;
  }
  const noValue = /Option '(--[\w-]+)' does not take an argument/.exec(message);
  if (noValue) {
    return `${noValue[1]}: is a switch and takes no value`;
  }
  return message;
}

function closest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = distance(name.replace(/_/g, "-"), c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] as number;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] as number;
      dp[j] = Math.min((dp[j] as number) + 1, (dp[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length] as number;
}
