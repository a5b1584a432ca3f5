/**
 * Flags -> library config, in one pass over a table: each flag names the config path it sets and how its text is
 * read. The same table maps a config path back to its flag, so that library errors name the flag the user typed.
 */
import { str } from "./flags.js";
import type { CommandContext } from "./spec.js";

export type FlagKind = "string" | "number" | "boolean";

/** flag name (kebab-case) -> [config path, kind]. */
export type OptionTable = Readonly<Record<string, readonly [path: string, kind: FlagKind]>>;

const NUMBER = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

/**
 * The config the given flags describe. Numbers are parsed here only when they look like numbers; any other text is
 * passed on as is, so that the library's validator reports it (`--limit: expected an integer >= 1, got "ten"`).
 */
export function flagsToConfig(flags: CommandContext["flags"], table: OptionTable): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const [flag, [path, kind]] of Object.entries(table)) {
    if (flags[flag] === undefined) {
      continue;
    }
    let value: unknown;
    if (kind === "boolean") {
      value = flags[flag] === true;
    } else {
      const text = str(flags, flag) as string;
      value = kind === "number" && NUMBER.test(text) ? Number(text) : text;
    }
    setPath(config, path, value);
  }
  return config;
}

export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1) as string] = value;
}

/** config path -> `--flag` (paths without a flag are shown as they are). */
export function optionNamer(table: OptionTable, overrides: Record<string, string> = {}): (option: string) => string {
  const byPath = new Map<string, string>();
  for (const [flag, [path]] of Object.entries(table)) {
    if (!byPath.has(path)) {
      byPath.set(path, `--${flag}`);
    }
  }
  return (option) => overrides[option] ?? byPath.get(option) ?? option;
}

/** The input flags extract and lengths share. */
export const INPUT_OPTIONS: OptionTable = {
  model: ["model.id", "string"],
  dataset: ["dataset.id", "string"],
  split: ["dataset.split", "string"],
  config: ["dataset.config", "string"],
  "messages-col": ["dataset.messagesCol", "string"],
  "user-col": ["dataset.userCol", "string"],
  "tools-col": ["dataset.toolsCol", "string"],
  "assistant-col": ["dataset.assistantCol", "string"],
  "input-col": ["dataset.inputCol", "string"],
  "system-prompt": ["chat.systemPrompt", "string"],
  "chat-template": ["chat.template", "string"],
  "skip-rules": ["chat.skipRules", "string"],
  token: ["hub.token", "string"],
  "num-proc": ["runtime.numProc", "number"],
};

/** `logitpack extract`: every flag but the output target (mapped by hand) and --max-runtime-minutes (the signal). */
export const EXTRACT_OPTIONS: OptionTable = {
  ...INPUT_OPTIONS,
  device: ["model.device", "string"],
  dtype: ["model.dtype", "string"],
  "model-file": ["model.file", "string"],
  "tokenized-dataset": ["selection.tokenizedDataset", "string"],
  "length-col": ["selection.lengthCol", "string"],
  "max-seq-len": ["selection.maxSeqLen", "number"],
  "subject-col": ["selection.subjectCol", "string"],
  "sample-subject": ["selection.sampleSubject", "string"],
  "random-sample": ["selection.randomSample", "boolean"],
  limit: ["selection.limit", "number"],
  "full-dataset": ["selection.fullDataset", "boolean"],
  shard: ["selection.shard", "string"],
  "num-shards": ["selection.numShards", "number"],
  "batch-thresholds": ["batching.thresholds", "string"],
  mode: ["sampling.mode", "string"],
  "top-p": ["sampling.topP", "number"],
  "top-p-max": ["sampling.topPMax", "number"],
  "sampled-n": ["sampling.sampledN", "number"],
  rounds: ["sampling.rounds", "number"],
  temperature: ["sampling.temperature", "number"],
  seed: ["sampling.seed", "number"],
  private: ["output.private", "boolean"],
  "upload-every": ["output.uploadEvery", "number"],
  "upload-size-mb": ["output.uploadSizeMb", "number"],
  resume: ["output.resume", "boolean"],
  "force-restart": ["output.forceRestart", "boolean"],
  "cache-dir": ["output.cacheDir", "string"],
  license: ["output.license", "string"],
  "card-extra": ["output.cardExtra", "string"],
  "verify-mask": ["runtime.verifyMask", "boolean"],
  output: ["output.folder", "string"],
  "output-repo": ["output.hubRepo", "string"],
};

/** `logitpack lengths`. */
export const LENGTHS_OPTIONS: OptionTable = {
  ...INPUT_OPTIONS,
  output: ["output.file", "string"],
  "length-col": ["output.lengthCol", "string"],
  "output-repo": ["output.hubRepo", "string"],
};
