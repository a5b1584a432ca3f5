/**
 * `ExtractionConfig`: every option of an extraction, grouped the way the pipeline uses them, each with its default.
 * `validateExtractionConfig` checks a config once (types, ranges, conflicts) and returns it resolved (defaults
 * applied, JSON texts parsed), or throws an `ExtractionError` with code `INVALID_OPTION` naming the option by its
 * config path (`sampling.topP`); the CLI passes `optionName` to see its flag names instead.
 *
 * Adding an option: put it in its group here (with its default in `resolve*`), check it in the validator, read it
 * where the pipeline needs it, and give it a flag in the CLI's table (`src/commands/extract-flags.ts`).
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseSkipRules, type SkipRules } from "@logitpack/chat";
import { MODEL_DTYPES, type ModelDtype, parseRepoId } from "@logitpack/hub-stream";
import {
  type BatchThresholds,
  parseBatchThresholds,
  parseSampleSubject,
  resolveShard,
  type Shard,
  type SubjectQuota,
} from "@logitpack/sampler";
import { configPath, ExtractionError, type OptionNamer } from "./errors.js";

/** The teacher. */
export interface ModelConfig {
  /** `tiny` (the bundled tiny model over the Qwen3 vocabulary), a local folder, or a Hub model id. Default `tiny`. */
  id?: string;
  /** `auto` (CUDA, then WebGPU, then CPU), `cuda`, `webgpu`, `cpu`; `cuda:1` picks a device. Default: `cpu` for the tiny model, else `auto`. */
  device?: string;
  /** Where the tiny model is generated on first use. Default: `$LOGITPACK_CACHE`, else `$XDG_CACHE_HOME/logitpack`, else `~/.cache/logitpack`. */
  cacheDir?: string;
  /** Hub repos: the ONNX variant (transformers.js names: fp32, fp16, q4, q4f16, int8, uint8, bnb4, quantized). Default: the best the repo has for the device. */
  dtype?: string;
  /** The ONNX file to run, relative to the model folder or repo (e.g. `onnx/decoder_model_merged.onnx`); overrides `dtype`. */
  file?: string;
}

/** How conversations become tokens. */
export interface ChatConfig {
  /** A `.jinja` file, a template string, or a built-in (`qwen`, `seed-000`). Default: the tokenizer's own (`qwen` for the tiny model). */
  template?: string;
  /** Assistant tokens that get no logits: a preset (`none`, `think-tags`, `think-tags-and-end`, `no-reasoning`), JSON, or rules. Default `none`. */
  skipRules?: string | SkipRules;
  /** A system message put before every conversation. */
  systemPrompt?: string;
}

/** The source dataset. */
export interface DatasetConfig {
  /** A `.parquet`/`.jsonl`/`.json` file, a folder of them, or a Hub dataset id. Default: the bundled sample dataset (300 conversations). */
  id?: string;
  /** Split to read (folders, Hub datasets). Default `train`, as the dataset's README configs or file names define it. */
  split?: string;
  /** Config (subset) of the dataset's README `configs` (folders, Hub datasets). Default: its default config. */
  config?: string;
  /** Column holding a list of `{role, content}` messages. Default: `messages` or `conversations`, when present. */
  messagesCol?: string;
  /** Single-turn: column of the user message (with `assistantCol`). */
  userCol?: string;
  /** Single-turn: column of the assistant answer (with `userCol`). */
  assistantCol?: string;
  /**
   * Single-turn: an extra user column (Alpaca's `input`): the user turn is `userCol + "\n\n" + inputCol` when the
   * row's value is a non-empty string, else `userCol` alone. Default: `input` next to an auto-detected
   * `instruction` column. With `userCol` + `assistantCol`, or alone to extend the auto-detected single-turn columns.
   */
  inputCol?: string;
  /**
   * Column holding each row's tools (a list of function schemas, or its JSON text; null: none), passed to that row's
   * chat template as `tools`, as `apply_chat_template(messages, tools=...)`.
   */
  toolsCol?: string;
}

/** Which examples are extracted. */
export interface SelectionConfig {
  /** Pre-computed lengths (`runLengths`, `logitpack lengths`): a file, folder or Hub id. Without it lengths are computed first. */
  tokenizedDataset?: string;
  /** Length column of `tokenizedDataset`. Default `length`. */
  lengthCol?: string;
  /** Leave out examples longer than this many tokens. */
  maxSeqLen?: number;
  /** Column for `sampleSubject`. Default: `subject` for the bundled dataset. */
  subjectCol?: string;
  /** At most N examples per subject (`"*"`: unlisted subjects), as an object or its JSON text. */
  sampleSubject?: string | Record<string, number>;
  /** Sample at random (with `sampling.seed`) instead of taking the first examples. Default false. */
  randomSample?: boolean;
  /** At most this many examples in all. */
  limit?: number;
  /** Every example that passes the filters (no `sampleSubject`, no `limit`). Default false. */
  fullDataset?: boolean;
  /** This machine's part of a split run, `"i/N"` or `{ index, count }`. Default: SLURM array or Kubernetes indexed job, else 0/1. */
  shard?: string | { index: number; count: number };
  /** Parts of a Kubernetes indexed job (`JOB_COMPLETION_INDEX`). */
  numShards?: number;
}

export interface BatchingConfig {
  /** seq_len -> batch size (longer: 1), as an object or JSON. Default `{"256": 16, "512": 8, "1024": 4, "2048": 2}`. */
  thresholds?: string | Record<string, number>;
}

export interface SamplingConfig {
  /** `nucleus` (top-p nucleus + sampled tail, the seed layout) or `importance` (seed 004). Default `nucleus`. */
  mode?: "nucleus" | "importance";
  /** nucleus: cumulative probability to reach, in (0, 1]. Default 0.98. */
  topP?: number;
  /** nucleus: at most this many tokens, 1..255. Default 100. */
  topPMax?: number;
  /** nucleus: tokens sampled from the rest of the vocabulary per position, 1..65535. Default 24. */
  sampledN?: number;
  /** importance: draws per position, 1..65535. Default 50. */
  rounds?: number;
  /** importance: temperature of the proposal softmax(logits / T), > 0. Default 1. */
  temperature?: number;
  /** Seed of the sampling noise and of `selection.randomSample`, 0..2^31-1. Default 0. */
  seed?: number;
}

export interface OutputConfig {
  /** Output folder (README.md + data/*.parquet). Default `logits-out` (when `hubRepo` is not set). */
  folder?: string;
  /** Hub dataset repo (`owner/name`) to write to instead of a folder. */
  hubRepo?: string;
  /** Create the Hub repo as private. Default false. */
  private?: boolean;
  /** Cut a Parquet shard every N examples. Default 500. */
  uploadEvery?: number;
  /** Cut a shard when the buffered rows reach this many megabytes (with `uploadEvery`: whichever first). */
  uploadSizeMb?: number;
  /** Go on from an earlier run (shards in the output, the local cache). Default false. */
  resume?: boolean;
  /** Remove the earlier run's shards and cached rows, and start over. Default false. */
  forceRestart?: boolean;
  /** Local cache (checkpoint, pending rows, failed uploads). Default: `<folder>/.logit_extraction_cache`, or `./.logit_extraction_cache/datasets--owner--name` for the Hub. */
  cacheDir?: string;
  /** Licence of the output dataset for its card (an SPDX id such as `apache-2.0`, or `other`). */
  license?: string;
  /** Extra Markdown for the dataset card (its text, or the path of a .md file). */
  cardExtra?: string;
}

export interface HubConfig {
  /** Hugging Face access token. Default: `HF_TOKEN`, then the token file of `huggingface-cli login`. */
  token?: string;
}

export interface RuntimeConfig {
  /** Tokenizer worker threads when lengths are computed. Default: the number of cores. */
  numProc?: number;
  /** Emit the first example with its assistant mask (a `verify-mask` event) before running. Default false. */
  verifyMask?: boolean;
}

/** Every option of an extraction; everything is optional (`{}` is the embedded default). */
export interface ExtractionConfig {
  model?: ModelConfig;
  chat?: ChatConfig;
  dataset?: DatasetConfig;
  selection?: SelectionConfig;
  batching?: BatchingConfig;
  sampling?: SamplingConfig;
  output?: OutputConfig;
  hub?: HubConfig;
  runtime?: RuntimeConfig;
}

export interface ResolvedDevice {
  device: "auto" | "cuda" | "webgpu" | "cpu";
  id?: number;
}

export interface OutputTarget {
  kind: "folder" | "hub";
  /** Absolute folder path, or the repo id. */
  where: string;
  /** Absolute path of the local cache. */
  cacheDir: string;
}

/** A validated config: defaults applied, JSON texts and the shard parsed. */
export interface ResolvedExtractionConfig {
  model: { id: string; tiny: boolean; device: ResolvedDevice; cacheDir: string; dtype?: ModelDtype; file?: string };
  chat: { template?: string; skipRules?: SkipRules; systemPrompt?: string };
  dataset: DatasetConfig;
  selection: {
    tokenizedDataset?: string;
    lengthCol: string;
    maxSeqLen?: number;
    subjectCol?: string;
    sampleSubject?: SubjectQuota;
    randomSample: boolean;
    limit?: number;
    fullDataset: boolean;
    shard: Shard;
  };
  batching: { thresholds?: BatchThresholds };
  sampling: Required<SamplingConfig>;
  output: {
    target: OutputTarget;
    private: boolean;
    uploadEvery?: number;
    uploadSizeMb?: number;
    resume: boolean;
    forceRestart: boolean;
    license?: string;
    /** The card's extra Markdown (read from the file when `cardExtra` named one). */
    cardExtra?: string;
  };
  hub: HubConfig;
  runtime: { numProc?: number; verifyMask: boolean };
}

export const DEFAULT_OUTPUT = "logits-out";
export const DEFAULTS = {
  model: "tiny",
  lengthCol: "length",
  mode: "nucleus",
  topP: 0.98,
  topPMax: 100,
  sampledN: 24,
  rounds: 50,
  temperature: 1,
  seed: 0,
} as const;

/** Options of `validateExtractionConfig`. */
export interface ValidateOptions {
  /** How messages name options (default: config paths). */
  optionName?: OptionNamer;
  /** Environment for the defaults that read it (cache folder, SLURM/Kubernetes shard). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** Checks the config once and resolves it; throws `ExtractionError("INVALID_OPTION")` naming the option. */
export function validateExtractionConfig(
  config: ExtractionConfig,
  options: ValidateOptions = {},
): ResolvedExtractionConfig {
  const v = new Checker(options.optionName ?? configPath);
  const env = options.env ?? process.env;
  const c = config ?? {};
  for (const group of Object.keys(c)) {
    if (!GROUPS.includes(group)) {
      throw v.fail(group, `unknown option group (expected one of ${GROUPS.join(", ")})`);
    }
  }
  const sampling = checkSampling(v, c.sampling ?? {});
  const selection = checkSelection(v, c.selection ?? {}, env);
  const output = checkOutput(v, c.output ?? {}, selection.shard);
  const model = checkModel(v, c.model ?? {}, env);
  const dataset = checkDataset(v, c.dataset ?? {});
  const chat = checkChat(v, c.chat ?? {});
  const thresholds = c.batching?.thresholds;
  const batching =
    thresholds === undefined ? {} : { thresholds: v.parse("batching.thresholds", thresholds, parseBatchThresholds) };
  const token = v.str("hub.token", c.hub?.token);
  const runtime = {
    ...optional("numProc", v.int("runtime.numProc", c.runtime?.numProc, 1, 256)),
    verifyMask: v.bool("runtime.verifyMask", c.runtime?.verifyMask),
  };
  return { model, chat, dataset, selection, batching, sampling, output, hub: optional("token", token), runtime };
}

const GROUPS = ["model", "chat", "dataset", "selection", "batching", "sampling", "output", "hub", "runtime"];

function optional<K extends string, T>(key: K, value: T | undefined): { [P in K]?: T } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: T };
}

function checkSampling(v: Checker, s: SamplingConfig): Required<SamplingConfig> {
  const mode = v.choice("sampling.mode", s.mode, ["nucleus", "importance"] as const) ?? DEFAULTS.mode;
  const other = mode === "importance" ? ["topP", "topPMax", "sampledN"] : ["rounds", "temperature"];
  for (const key of other) {
    if ((s as Record<string, unknown>)[key] !== undefined) {
      const uses = mode === "importance" ? ["rounds", "temperature"] : ["topP", "topPMax", "sampledN"];
      const n = (k: string) => v.name(`sampling.${k}`);
      throw v.fail(
        undefined,
        `${n(key)} is for ${v.name("sampling.mode")} ${mode === "importance" ? "nucleus" : "importance"}; ${mode === "importance" ? "importance sampling" : "nucleus mode"} uses ${uses.map(n).join(mode === "importance" ? " and " : ", ")}`,
        `sampling.${key}`,
      );
    }
  }
  return {
    mode,
    topP: v.num("sampling.topP", s.topP, 0, 1, true) ?? DEFAULTS.topP,
    topPMax: v.int("sampling.topPMax", s.topPMax, 1, 255) ?? DEFAULTS.topPMax,
    sampledN: v.int("sampling.sampledN", s.sampledN, 1, 65535) ?? DEFAULTS.sampledN,
    rounds: v.int("sampling.rounds", s.rounds, 1, 65535) ?? DEFAULTS.rounds,
    temperature: v.num("sampling.temperature", s.temperature, 0, undefined, true) ?? DEFAULTS.temperature,
    seed: v.int("sampling.seed", s.seed, 0, 2 ** 31 - 1) ?? DEFAULTS.seed,
  };
}

function checkSelection(v: Checker, s: SelectionConfig, env: NodeJS.ProcessEnv): ResolvedExtractionConfig["selection"] {
  const every = `${v.name("selection.fullDataset")} takes every example`;
  v.conflicts(s.fullDataset === true, "selection.fullDataset", s.limit !== undefined, "selection.limit", every);
  const subject = s.sampleSubject !== undefined;
  v.conflicts(s.fullDataset === true, "selection.fullDataset", subject, "selection.sampleSubject", every);
  const tokenizedDataset = v.str("selection.tokenizedDataset", s.tokenizedDataset);
  const lengthCol = v.str("selection.lengthCol", s.lengthCol);
  if (lengthCol !== undefined && tokenizedDataset === undefined) {
    throw v.fail("selection.lengthCol", `needs ${v.name("selection.tokenizedDataset")}`);
  }
  const numShards = v.int("selection.numShards", s.numShards, 1);
  let shardText: string | undefined;
  if (typeof s.shard === "object" && s.shard !== null) {
    shardText = `${s.shard.index}/${s.shard.count}`;
  } else {
    shardText = v.str("selection.shard", s.shard);
  }
  const shard = v.parse("selection.shard", undefined, () =>
    resolveShard({ ...optional("shard", shardText), ...optional("numShards", numShards), env }),
  );
  const sampleSubject =
    s.sampleSubject === undefined
      ? undefined
      : v.parse("selection.sampleSubject", s.sampleSubject, (x, flag) => parseSampleSubject(x as string, flag));
  return {
    ...optional("tokenizedDataset", tokenizedDataset),
    lengthCol: lengthCol ?? DEFAULTS.lengthCol,
    ...optional("maxSeqLen", v.int("selection.maxSeqLen", s.maxSeqLen, 1)),
    ...optional("subjectCol", v.str("selection.subjectCol", s.subjectCol)),
    ...optional("sampleSubject", sampleSubject),
    randomSample: v.bool("selection.randomSample", s.randomSample),
    ...optional("limit", v.int("selection.limit", s.limit, 1)),
    fullDataset: v.bool("selection.fullDataset", s.fullDataset),
    shard,
  };
}

function checkOutput(v: Checker, o: OutputConfig, shard: Shard): ResolvedExtractionConfig["output"] {
  v.conflicts(
    o.resume === true,
    "output.resume",
    o.forceRestart === true,
    "output.forceRestart",
    "resume goes on from the earlier run, force-restart discards it",
  );
  const folder = v.str("output.folder", o.folder);
  const repo = v.str("output.hubRepo", o.hubRepo);
  const cache = v.str("output.cacheDir", o.cacheDir);
  let target: OutputTarget;
  if (repo !== undefined) {
    if (folder !== undefined) {
      throw v.fail(
        undefined,
        `${v.name("output.folder")} and ${v.name("output.hubRepo")} cannot be used together: write to a folder or to the Hub`,
        "output.hubRepo",
      );
    }
    let id: string;
    try {
      id = parseRepoId(repo);
    } catch {
      throw v.fail("output.hubRepo", `${JSON.stringify(repo)} is not a Hub dataset repo id (owner/name)`);
    }
    const cacheDir = resolve(cache ?? join(".logit_extraction_cache", `datasets--${id.replace("/", "--")}`));
    target = { kind: "hub", where: id, cacheDir };
  } else {
    if (o.private === true) {
      throw v.fail("output.private", `is only for Hub output (${v.name("output.hubRepo")})`);
    }
    const dir = resolve(folder ?? DEFAULT_OUTPUT);
    target = { kind: "folder", where: dir, cacheDir: resolve(cache ?? join(dir, ".logit_extraction_cache")) };
  }
  if (shard.count > 1 && cache === undefined) {
    // writers of a split run keep separate caches (their pending rows and checkpoints never mix)
    target.cacheDir = join(target.cacheDir, `shard-${shard.index}-of-${shard.count}`);
  }
  return {
    target,
    private: v.bool("output.private", o.private),
    ...optional("uploadEvery", v.int("output.uploadEvery", o.uploadEvery, 1)),
    ...optional("uploadSizeMb", v.num("output.uploadSizeMb", o.uploadSizeMb, 0, undefined, true)),
    resume: v.bool("output.resume", o.resume),
    forceRestart: v.bool("output.forceRestart", o.forceRestart),
    ...optional("license", v.str("output.license", o.license)),
    ...optional("cardExtra", cardExtraText(v, o.cardExtra)),
  };
}

/** `cardExtra`: a path of an existing .md/.txt file is read, anything else is the text itself. */
function cardExtraText(v: Checker, value: unknown): string | undefined {
  const text = v.str("output.cardExtra", value);
  if (text === undefined || !/\.(md|markdown|txt)$/i.test(text.trim())) {
    return text;
  }
  if (!existsSync(text.trim())) {
    throw v.fail("output.cardExtra", `names a file that does not exist: ${text.trim()}`);
  }
  return readFileSync(text.trim(), "utf8");
}

function checkModel(v: Checker, m: ModelConfig, env: NodeJS.ProcessEnv): ResolvedExtractionConfig["model"] {
  const id = v.str("model.id", m.id) ?? DEFAULTS.model;
  const tiny = id === "tiny" || id === "embedded:tiny-qwen3";
  // the tiny model runs on the CPU unless told otherwise: probing CUDA and WebGPU costs seconds for no gain
  const text = v.str("model.device", m.device) ?? (tiny ? "cpu" : "auto");
  const match = /^(auto|cuda|webgpu|cpu)(?::(\d+))?$/.exec(text.trim());
  if (!match) {
    throw v.fail(
      "model.device",
      `expected auto, cuda, webgpu or cpu (cuda:1 for a device id), got ${JSON.stringify(text)}`,
    );
  }
  const kind = match[1] as ResolvedDevice["device"];
  const device = match[2] === undefined ? { device: kind } : { device: kind, id: Number(match[2]) };
  const dtype = v.str("model.dtype", m.dtype);
  if (dtype !== undefined && !(MODEL_DTYPES as readonly string[]).includes(dtype)) {
    throw v.fail("model.dtype", `expected one of ${MODEL_DTYPES.join(", ")}, got ${JSON.stringify(dtype)}`);
  }
  const file = v.str("model.file", m.file);
  return {
    id,
    tiny,
    device,
    cacheDir: v.str("model.cacheDir", m.cacheDir) ?? modelCacheDir(env),
    ...(dtype !== undefined ? { dtype: dtype as ModelDtype } : {}),
    ...(file !== undefined ? { file } : {}),
  };
}

/** Where the bundled tiny model is generated (once): the logitpack cache. */
export function modelCacheDir(env: NodeJS.ProcessEnv): string {
  if (env.LOGITPACK_CACHE) {
    return env.LOGITPACK_CACHE;
  }
  const home = env.HOME ?? env.USERPROFILE ?? ".";
  return join(env.XDG_CACHE_HOME ?? join(home, ".cache"), "logitpack");
}

export function checkDataset(v: Checker, d: DatasetConfig): DatasetConfig {
  const messagesCol = v.str("dataset.messagesCol", d.messagesCol);
  const userCol = v.str("dataset.userCol", d.userCol);
  const assistantCol = v.str("dataset.assistantCol", d.assistantCol);
  const inputCol = v.str("dataset.inputCol", d.inputCol);
  const why = "a dataset is either multi-turn messages or single-turn columns";
  v.conflicts(messagesCol !== undefined, "dataset.messagesCol", inputCol !== undefined, "dataset.inputCol", why);
  v.conflicts(messagesCol !== undefined, "dataset.messagesCol", userCol !== undefined, "dataset.userCol", why);
  v.conflicts(
    messagesCol !== undefined,
    "dataset.messagesCol",
    assistantCol !== undefined,
    "dataset.assistantCol",
    why,
  );
  if ((userCol === undefined) !== (assistantCol === undefined)) {
    throw v.fail(
      undefined,
      `${v.name("dataset.userCol")} and ${v.name("dataset.assistantCol")} go together (single-turn columns)`,
      userCol === undefined ? "dataset.userCol" : "dataset.assistantCol",
    );
  }
  return {
    ...optional("id", v.str("dataset.id", d.id)),
    ...optional("split", v.str("dataset.split", d.split)),
    ...optional("config", v.str("dataset.config", d.config)),
    ...optional("messagesCol", messagesCol),
    ...optional("userCol", userCol),
    ...optional("assistantCol", assistantCol),
    ...optional("inputCol", inputCol),
    ...optional("toolsCol", v.str("dataset.toolsCol", d.toolsCol)),
  };
}

export function checkChat(v: Checker, c: ChatConfig): ResolvedExtractionConfig["chat"] {
  const skip = c.skipRules;
  const skipRules =
    skip === undefined ? undefined : v.parse("chat.skipRules", skip, (x, flag) => parseSkipRules(x, flag));
  return {
    ...optional("template", v.str("chat.template", c.template)),
    ...optional("skipRules", skipRules),
    ...optional("systemPrompt", v.str("chat.systemPrompt", c.systemPrompt, true)),
  };
}

/** Type, range and conflict checks that name the option through `name`. */
export class Checker {
  constructor(readonly name: OptionNamer) {}

  fail(option: string | undefined, message: string, about?: string): ExtractionError {
    return new ExtractionError(
      "INVALID_OPTION",
      option ? `${this.name(option)}: ${message}` : message,
      about ?? option,
    );
  }

  str(option: string, value: unknown, allowEmpty = false): string | undefined {
    if (value === undefined) {
      return undefined;
    }
    if (typeof value !== "string") {
      throw this.fail(option, `expected a string, got ${JSON.stringify(value)}`);
    }
    if (!allowEmpty && value.trim() === "") {
      throw this.fail(option, "needs a value");
    }
    return value;
  }

  bool(option: string, value: unknown): boolean {
    if (value === undefined) {
      return false;
    }
    if (typeof value !== "boolean") {
      throw this.fail(option, `expected true or false, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  int(option: string, value: unknown, min: number, max?: number): number | undefined {
    if (value === undefined) {
      return undefined;
    }
    if (
      typeof value !== "number" ||
      !Number.isSafeInteger(value) ||
      value < min ||
      (max !== undefined && value > max)
    ) {
      const bounds = max === undefined ? `>= ${min}` : `in ${min}..${max}`;
      throw this.fail(option, `expected an integer ${bounds}, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  num(option: string, value: unknown, min?: number, max?: number, minExclusive = false): number | undefined {
    if (value === undefined) {
      return undefined;
    }
    const n = typeof value === "number" ? value : Number.NaN;
    const below = min !== undefined && (minExclusive ? n <= min : n < min);
    if (!Number.isFinite(n) || below || (max !== undefined && n > max)) {
      const lo = min === undefined ? "" : `${minExclusive ? ">" : ">="} ${min}`;
      const hi = max === undefined ? "" : `<= ${max}`;
      const bounds = [lo, hi].filter(Boolean).join(" and ");
      throw this.fail(option, `expected a number${bounds ? ` ${bounds}` : ""}, got ${JSON.stringify(value)}`);
    }
    return n;
  }

  choice<T extends string>(option: string, value: unknown, values: readonly T[]): T | undefined {
    if (value === undefined) {
      return undefined;
    }
    if (!(values as readonly unknown[]).includes(value)) {
      throw this.fail(option, `expected one of ${values.join(", ")}, got ${JSON.stringify(value)}`);
    }
    return value as T;
  }

  conflicts(a: boolean, optionA: string, b: boolean, optionB: string, why?: string): void {
    if (a && b) {
      throw this.fail(
        undefined,
        `${this.name(optionA)} and ${this.name(optionB)} cannot be used together${why ? `: ${why}` : ""}`,
        optionA,
      );
    }
  }

  /** Runs a library parser that names its flag; its errors become `INVALID_OPTION` naming the option. */
  parse<T>(option: string, value: unknown, parser: (value: never, flag: string) => T): T {
    try {
      return parser(value as never, this.name(option));
    } catch (error) {
      const message = (error as Error).message.replace(/^\[[a-z-]+\] /, "");
      const label = `${this.name(option)}: `;
      throw this.fail(option, message.startsWith(label) ? message.slice(label.length) : message);
    }
  }
}
