import type { Output } from "./output.js";

/** One flag of a command, declared once: parsing, validation and `--help` come from it. */
export interface FlagSpec {
  type: "string" | "boolean";
  short?: string;
  /** One line for `--help`. */
  description: string;
  /** Placeholder of the value in `--help` (`N`, `PATH`, `JSON`). */
  valueName?: string;
  /** Default shown in `--help` (the command applies it). */
  default?: string;
  /** Section of `--help` the flag is listed under. */
  group?: string;
}

export interface PositionalSpec {
  name: string;
  description: string;
  optional?: boolean;
}

/** What a command's `run` gets. */
export interface CommandContext {
  /** Parsed flags by kebab-case name; booleans are `true` or absent. */
  flags: Readonly<Record<string, string | boolean | undefined>>;
  positionals: readonly string[];
  out: Output;
  env: NodeJS.ProcessEnv;
  /** The command line after `logitpack` (for "go on with" hints). */
  argv: readonly string[];
}

/** An entry of the command table. */
export interface CommandSpec {
  /** `extract`, or `explore info` for a subcommand. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Paragraphs shown by `--help` after the usage line. */
  description?: string;
  flags: Record<string, FlagSpec>;
  positionals?: PositionalSpec[];
  examples?: string[];
  /** Resolves with the exit code (nothing: 0). */
  run(ctx: CommandContext): Promise<number | undefined | void>;
}

/** Flags every command takes. */
export const GLOBAL_FLAGS: Record<string, FlagSpec> = {
  json: { type: "boolean", description: "machine-readable output: JSON lines on stdout", group: "Output" },
  quiet: {
    type: "boolean",
    short: "q",
    description: "no progress or messages on stderr (errors still)",
    group: "Output",
  },
  debug: { type: "boolean", description: "print the stack trace of an error", group: "Output" },
  help: { type: "boolean", short: "h", description: "show this help", group: "Output" },
};

const WIDTH = 100;

/** `--help` text of one command, generated from its table entry. */
export function commandHelp(spec: CommandSpec, subcommands: CommandSpec[] = []): string {
  const lines: string[] = [];
  const pos = (spec.positionals ?? []).map((p) => (p.optional ? `[${p.name}]` : p.name)).join(" ");
  const sub = subcommands.length > 0 ? " <command>" : "";
  lines.push(`Usage: logitpack ${spec.name}${sub}${pos ? ` ${pos}` : ""} [flags]`, "");
  lines.push(spec.summary);
  if (spec.description) {
    lines.push("", ...wrap(spec.description, WIDTH));
  }
  if (subcommands.length > 0) {
    lines.push("", "Commands:");
    const w = Math.max(...subcommands.map((s) => s.name.length));
    for (const s of subcommands) {
      lines.push(`  ${s.name.padEnd(w)}  ${s.summary}`);
    }
    lines.push("", `Run 'logitpack ${spec.name} <command> --help' for a command's flags.`);
  }
  if (spec.positionals && spec.positionals.length > 0) {
    lines.push("", "Arguments:");
    const w = Math.max(...spec.positionals.map((p) => p.name.length));
    for (const p of spec.positionals) {
      const body = wrap(p.description, WIDTH - w - 4);
      lines.push(`  ${p.name.padEnd(w)}  ${body[0] ?? ""}`);
      for (const b of body.slice(1)) {
        lines.push(`  ${"".padEnd(w)}  ${b}`);
      }
    }
  }
  const all = { ...spec.flags, ...GLOBAL_FLAGS };
  const groups = new Map<string, [string, FlagSpec][]>();
  for (const [name, f] of Object.entries(all)) {
    const g = f.group ?? "Flags";
    let list = groups.get(g);
    if (!list) {
      list = [];
      groups.set(g, list);
    }
    list.push([name, f]);
  }
  const label = ([name, f]: [string, FlagSpec]) =>
    `${f.short ? `-${f.short}, ` : "    "}--${name}${f.type === "string" ? ` ${f.valueName ?? "VALUE"}` : ""}`;
  const labelWidth = Math.min(34, Math.max(...Object.entries(all).map((e) => label(e).length)));
  for (const [group, list] of groups) {
    lines.push("", `${group}:`);
    for (const entry of list) {
      const l = label(entry);
      const f = entry[1];
      const text = f.default !== undefined ? `${f.description} (default: ${f.default})` : f.description;
      const body = wrap(text, WIDTH - labelWidth - 6);
      if (l.length > labelWidth) {
        lines.push(`  ${l}`);
        for (const b of body) {
          lines.push(`  ${"".padEnd(labelWidth)}  ${b}`);
        }
      } else {
        lines.push(`  ${l.padEnd(labelWidth)}  ${body[0] ?? ""}`);
        for (const b of body.slice(1)) {
          lines.push(`  ${"".padEnd(labelWidth)}  ${b}`);
        }
      }
    }
  }
  if (spec.examples && spec.examples.length > 0) {
    lines.push("", "Examples:");
    for (const e of spec.examples) {
      lines.push(`  ${e}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split("\n")) {
    if (para.trim() === "") {
      out.push("");
      continue;
    }
    let line = "";
    for (const word of para.split(/\s+/)) {
      if (line && line.length + 1 + word.length > width) {
        out.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    if (line) {
      out.push(line);
    }
  }
  return out;
}
