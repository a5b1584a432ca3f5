import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join, relative, resolve } from "node:path";
import { type ChatEncoder, exampleFromRow, type InputShape, parseSkipRules, shapeColumns } from "@logitpack/chat";
import type { ExtractionSettings } from "@logitpack/codec";
import {
  createSink,
  HubStreamError,
  installShutdownHandlers,
  parseRepoId,
  parseShardFileName,
  type Sink,
  StreamingWriter,
  type WriterEvent,
} from "@logitpack/hub-stream";
import {
  type BatchingOptions,
  buildEncoder,
  computeLengths,
  iterateBatches,
  type LengthsResult,
  type LengthsTable,
  openDataset,
  openRowReader,
  parseBatchThresholds,
  parseSampleSubject,
  prepareBatches,
  readLengths,
  resolveShard,
  type SelectOptions,
} from "@logitpack/sampler";
import { CliError, UsageError } from "../internal/errors.js";
import { bool, choice, conflicts, has, int, num, requires, str } from "../internal/flags.js";
import {
  checkPathLike,
  EMBEDDED_MODEL_NAME,
  flagOfColumn,
  INPUT_FLAGS,
  type ResolvedModel,
  resolveDataset,
  resolveModel,
  resolveShape,
} from "../internal/inputs.js";
import { formatBytes, formatCount, formatDuration, ProgressBar } from "../internal/progress.js";
import type { CommandContext, CommandSpec } from "../internal/spec.js";
import { openTeacher, type Teacher, type TeacherExample } from "../internal/teacher.js";
import { checkWritableDir } from "../internal/writable.js";

export const DEFAULT_OUTPUT = "logits-out";

export const extract: CommandSpec = {
  name: "extract",
  summary: "run the teacher over a dataset and store sparse logits of every assistant token (seed extract_logits.py)",
  description:
    "With no --model and no --dataset, runs the bundled tiny model over the bundled sample dataset (300 single- and multi-turn conversations) into ./logits-out: a complete run in well under two minutes on 2 cores.\n" +
    "Rows are stored as Parquet shards (data/*.parquet) in a folder, or committed to a Hub dataset repo with --push-to-hub, while extraction goes on (⬆ in the progress bar). Ctrl+C stops cleanly (unwritten rows are kept in the local cache; a second Ctrl+C exits at once) and --resume goes on without losing or repeating an example.",
  flags: {
    ...INPUT_FLAGS,
    "tokenized-dataset": {
      type: "string",
      valueName: "PATH|ID",
      description:
        "pre-computed lengths ('logitpack lengths'): examples are sorted longest first into dynamic batches; without it lengths are computed first",
      group: "Selection",
    },
    "length-col": {
      type: "string",
      valueName: "COL",
      description: "length column of --tokenized-dataset",
      default: "length",
      group: "Selection",
    },
    "max-seq-len": {
      type: "string",
      valueName: "N",
      description: "skip examples longer than N tokens",
      group: "Selection",
    },
    "subject-col": {
      type: "string",
      valueName: "COL",
      description: "column for stratified sampling with --sample-subject",
      default: "subject for the bundled dataset",
      group: "Selection",
    },
    "sample-subject": {
      type: "string",
      valueName: "JSON",
      description: 'at most N examples per subject, e.g. \'{"*": 50000, "physics": 1000}\' ("*": unlisted subjects)',
      group: "Selection",
    },
    "random-sample": {
      type: "boolean",
      description: "sample at random (with --seed) instead of taking the first examples",
      group: "Selection",
    },
    limit: { type: "string", valueName: "N", description: "at most N examples in all", group: "Selection" },
    "full-dataset": {
      type: "boolean",
      description: "every example that passes the filters (no --sample-subject, no --limit)",
      group: "Selection",
    },
    shard: {
      type: "string",
      valueName: "I/N",
      description: "this machine's part of a split run (default: SLURM array or Kubernetes indexed job, else 0/1)",
      group: "Selection",
    },
    "num-shards": {
      type: "string",
      valueName: "N",
      description: "parts of a Kubernetes indexed job (JOB_COMPLETION_INDEX)",
      group: "Selection",
    },
    "batch-thresholds": {
      type: "string",
      valueName: "JSON",
      description:
        'seq_len -> batch size, e.g. \'{"256": 16, "512": 8, "1024": 4, "2048": 2}\' (longer: 1); the default is that',
      group: "Batching",
    },
    mode: {
      type: "string",
      valueName: "MODE",
      description: "nucleus (top-p nucleus + sampled tail, the seed layout) or importance (seed 004)",
      default: "nucleus",
      group: "Sampling",
    },
    "top-p": {
      type: "string",
      valueName: "P",
      description: "nucleus: cumulative probability to reach",
      default: "0.98",
      group: "Sampling",
    },
    "top-p-max": {
      type: "string",
      valueName: "N",
      description: "nucleus: at most N tokens (<= 255)",
      default: "100",
      group: "Sampling",
    },
    "sampled-n": {
      type: "string",
      valueName: "N",
      description: "nucleus: tokens sampled from the rest of the vocabulary per position",
      default: "24",
      group: "Sampling",
    },
    rounds: {
      type: "string",
      valueName: "N",
      description: "importance: draws per position",
      default: "50",
      group: "Sampling",
    },
    temperature: {
      type: "string",
      valueName: "T",
      description: "importance: temperature of the proposal softmax(logits / T)",
      default: "1.0",
      group: "Sampling",
    },
    seed: {
      type: "string",
      valueName: "N",
      description: "seed of the sampling noise and of --random-sample (same seed, same dataset)",
      default: "0",
      group: "Sampling",
    },
    device: {
      type: "string",
      valueName: "DEV",
      description: "auto (CUDA, then WebGPU, then CPU), cuda, webgpu, cpu; cuda:1 picks a device id",
      default: "auto; cpu for the bundled tiny model",
      group: "Runtime",
    },
    "num-proc": {
      type: "string",
      valueName: "N",
      description: "tokenizer worker threads when lengths are computed",
      default: "the number of cores",
      group: "Runtime",
    },
    "max-runtime-minutes": {
      type: "string",
      valueName: "M",
      description:
        "stop cleanly after M minutes (fractions allowed, e.g. 0.5) and keep unwritten rows for --resume; exit code 0",
      group: "Runtime",
    },
    output: {
      type: "string",
      short: "o",
      valueName: "DIR|ID",
      description: "output folder (README.md + data/*.parquet); with --push-to-hub, the Hub dataset repo",
      default: DEFAULT_OUTPUT,
      group: "Output",
    },
    "output-repo": {
      type: "string",
      valueName: "ID",
      description: "Hub dataset repo to write to (implies --push-to-hub)",
      group: "Output",
    },
    "push-to-hub": {
      type: "boolean",
      description: "write to the Hub (HF_ENDPOINT, --token or HF_TOKEN) instead of a folder",
      group: "Output",
    },
    private: { type: "boolean", description: "create the Hub repo as private", group: "Output" },
    "upload-every": {
      type: "string",
      valueName: "N",
      description: "cut a Parquet shard every N examples",
      default: "500",
      group: "Output",
    },
    "upload-size-mb": {
      type: "string",
      valueName: "MB",
      description: "cut a shard when the buffered rows reach MB megabytes (with --upload-every: whichever first)",
      group: "Output",
    },
    resume: {
      type: "boolean",
      description: "go on from an earlier run (shards in the output, the local cache): nothing lost, nothing twice",
      group: "Output",
    },
    "force-restart": {
      type: "boolean",
      description: "ignore and remove the earlier run's shards and cached rows, and start over",
      group: "Output",
    },
    "cache-dir": {
      type: "string",
      valueName: "DIR",
      description:
        "local cache (checkpoint, pending rows, failed uploads); default: OUTPUT/.logit_extraction_cache for a folder, ./.logit_extraction_cache/<repo> for the Hub",
      group: "Output",
    },
    "verify-mask": {
      type: "boolean",
      description: "print the first example with its assistant mask (the tokens that get logits) before running",
      group: "Checks",
    },
  },
  examples: [
    "logitpack extract                       # the embedded default: tiny model, sample dataset -> ./logits-out",
    "logitpack extract --limit 20 --output demo",
    "logitpack extract --model ./Qwen3-4B-Instruct-2507 --dataset ./MegaScience --output you/MegaScience-Q3-4B-Logits --push-to-hub --max-seq-len 4096 --upload-every 15000 --subject-col subject --tokenized-dataset you/MegaScience-Lengths-Qwen3 --chat-template ./qwen_chat_template.jinja --sample-subject '{\"*\": 50000}' --length-col length --resume --random-sample",
    "logitpack extract ... --max-runtime-minutes 55 --resume   # spot instances: stop in time, go on next run",
  ],
  run: runExtract,
};

interface OutputTarget {
  kind: "folder" | "hub";
  /** Folder path or repo id. */
  where: string;
  cacheDir: string;
}

function outputTarget(ctx: CommandContext): OutputTarget {
  const f = ctx.flags;
  const repoFlag = str(f, "output-repo");
  const hub = bool(f, "push-to-hub") || repoFlag !== undefined;
  const cacheFlag = str(f, "cache-dir");
  if (hub) {
    if (repoFlag !== undefined && has(f, "output")) {
      throw new UsageError("--output and --output-repo cannot be used together with --push-to-hub: name the repo once");
    }
    const raw = repoFlag ?? str(f, "output");
    if (raw === undefined) {
      throw new UsageError(
        "needs the Hub dataset repo: --output-repo owner/name (or --output owner/name)",
        "--push-to-hub",
      );
    }
    let repo: string;
    try {
      repo = parseRepoId(raw);
    } catch {
      throw new UsageError(
        `"${raw}" is not a Hub dataset repo id (owner/name)`,
        repoFlag ? "--output-repo" : "--output",
      );
    }
    return {
      kind: "hub",
      where: repo,
      cacheDir: resolve(cacheFlag ?? join(".logit_extraction_cache", `datasets--${repo.replace("/", "--")}`)),
    };
  }
  if (has(f, "private")) {
    throw new UsageError("is only for Hub output (--push-to-hub)", "--private");
  }
  const dir = resolve(str(f, "output") ?? DEFAULT_OUTPUT);
  return { kind: "folder", where: dir, cacheDir: resolve(cacheFlag ?? join(dir, ".logit_extraction_cache")) };
}

/** Where the bundled tiny model is generated (once): the logitpack cache. */
function modelCacheDir(env: NodeJS.ProcessEnv): string {
  if (env.LOGITPACK_CACHE) {
    return env.LOGITPACK_CACHE;
  }
  return join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "logitpack");
}

function parseDevice(value: string | undefined): { device: "auto" | "cuda" | "webgpu" | "cpu"; id?: number } {
  if (value === undefined) {
    return { device: "auto" };
  }
  const m = /^(auto|cuda|webgpu|cpu)(?::(\d+))?$/.exec(value.trim());
  if (!m) {
    throw new UsageError(
      `expected auto, cuda, webgpu or cpu (cuda:1 for a device id), got ${JSON.stringify(value)}`,
      "--device",
    );
  }
  const device = m[1] as "auto" | "cuda" | "webgpu" | "cpu";
  return m[2] === undefined ? { device } : { device, id: Number(m[2]) };
}

async function runExtract(ctx: CommandContext): Promise<void> {
  const f = ctx.flags;
  const { out } = ctx;
  const started = performance.now();

  // ---- flags (all usage errors before any work) ----
  conflicts(f, "resume", "force-restart", "resume goes on from the earlier run, force-restart discards it");
  conflicts(f, "full-dataset", "limit", "--full-dataset takes every example");
  conflicts(f, "full-dataset", "sample-subject", "--full-dataset takes every example");
  requires(f, "length-col", "tokenized-dataset");
  const mode = choice(f, "mode", ["nucleus", "importance"] as const) ?? "nucleus";
  if (mode === "importance") {
    for (const n of ["top-p", "top-p-max", "sampled-n"]) {
      if (has(f, n)) {
        throw new UsageError(`--${n} is for --mode nucleus; importance sampling uses --rounds and --temperature`);
      }
    }
  } else {
    for (const n of ["rounds", "temperature"]) {
      if (has(f, n)) {
        throw new UsageError(`--${n} is for --mode importance; nucleus mode uses --top-p, --top-p-max, --sampled-n`);
      }
    }
  }
  const topP = num(f, "top-p", { min: 0, max: 1, minExclusive: true }) ?? 0.98;
  const topPMax = int(f, "top-p-max", { min: 1, max: 255 }) ?? 100;
  const sampledN = int(f, "sampled-n", { min: 0, max: 65535 }) ?? 24;
  const rounds = int(f, "rounds", { min: 1, max: 65535 }) ?? 50;
  const temperature = num(f, "temperature", { min: 0, minExclusive: true }) ?? 1;
  const seed = int(f, "seed", { min: 0, max: 2 ** 31 - 1 }) ?? 0;
  const limit = int(f, "limit", { min: 1 });
  const maxSeqLen = int(f, "max-seq-len", { min: 1 });
  const numProc = int(f, "num-proc", { min: 1, max: 256 });
  const uploadEvery = int(f, "upload-every", { min: 1 });
  const uploadSizeMb = num(f, "upload-size-mb", { min: 0, minExclusive: true });
  const maxRuntimeMinutes = num(f, "max-runtime-minutes", { min: 0, minExclusive: true });
  const numShards = int(f, "num-shards", { min: 1 });
  // the tiny model runs on the CPU unless told otherwise: probing CUDA and WebGPU costs seconds for no gain
  const device = parseDevice(str(f, "device") ?? (has(f, "model") && str(f, "model") !== "tiny" ? undefined : "cpu"));
  const sampleSubjectText = str(f, "sample-subject");
  const sampleSubject = sampleSubjectText === undefined ? undefined : parseSampleSubject(sampleSubjectText);
  const thresholdsText = str(f, "batch-thresholds");
  const thresholds = thresholdsText === undefined ? undefined : parseBatchThresholds(thresholdsText);
  const skipText = str(f, "skip-rules");
  const skipRules = skipText === undefined ? undefined : parseSkipRules(skipText, "--skip-rules");
  const shard = resolveShard({
    ...(str(f, "shard") ? { shard: str(f, "shard") as string } : {}),
    ...(numShards ? { numShards } : {}),
  });
  const target = outputTarget(ctx);
  if (shard.count > 1 && !has(f, "cache-dir")) {
    // writers of a split run keep separate caches (their pending rows and checkpoints never mix)
    target.cacheDir = join(target.cacheDir, `shard-${shard.index}-of-${shard.count}`);
  }
  const resume = bool(f, "resume");
  const forceRestart = bool(f, "force-restart");

  // ---- inputs ----
  const model = await resolveModel(ctx);
  const embeddedDefault = !has(f, "model") && !has(f, "dataset");
  if (target.kind === "folder") {
    checkWritableDir(target.where, "--output");
  }
  checkWritableDir(target.cacheDir, "--cache-dir");
  const dataset = await resolveDataset(ctx);
  if (embeddedDefault) {
    out.info(
      `${out.err.bold("No --model and no --dataset:")} running the bundled tiny model (Qwen3 vocabulary) over the bundled sample dataset into ${displayPath(target.where)}`,
    );
  }
  const columns = await dataset.source.columns();
  const shape = resolveShape(ctx, columns);
  const subjectCol = str(f, "subject-col") ?? (dataset.embedded && columns.includes("subject") ? "subject" : undefined);
  const chatTemplate = str(f, "chat-template") ?? model.defaultTemplate;
  const encoderSpec = {
    tokenizerDir: model.tokenizerDir,
    ...(chatTemplate ? { chatTemplate } : {}),
    ...(skipRules ? { skipRules } : {}),
  };
  // builds the tokenizer and template now: a template without generation markers fails here, before any work
  const encoder = buildEncoder(encoderSpec, shape);
  // every column the shape reads must exist (named with its flag)
  const { checkShapeColumns } = await import("@logitpack/chat");
  checkShapeColumns(shape, columns, flagOfColumn(shape));

  // ---- lengths and batches ----
  let lengths: LengthsResult | LengthsTable;
  const tokenized = str(f, "tokenized-dataset");
  if (tokenized !== undefined) {
    checkPathLike(tokenized, "--tokenized-dataset");
    const source = await openDataset(tokenized, { flag: "--tokenized-dataset", hub: hubProvider(ctx) });
    lengths = await readLengths(source, { lengthCol: str(f, "length-col") ?? "length", flag: "--tokenized-dataset" });
  } else {
    const workers = numProc ?? Math.max(1, (await import("node:os")).availableParallelism());
    const t0 = performance.now();
    const result = await computeLengths({
      source: dataset.source,
      shape,
      encoder: encoderSpec,
      numProc: workers,
      invalidRows: "skip",
      flagOf: flagOfColumn(shape),
      onProgress: ({ rows }) => out.status(`Computing token lengths: ${rows} examples`),
    });
    out.clearStatus();
    lengths = result;
    if (!dataset.embedded || out.debug) {
      out.info(
        `Token lengths of ${result.rows} examples computed in ${formatDuration((performance.now() - t0) / 1000)} (pass --tokenized-dataset from 'logitpack lengths' to skip this)`,
      );
    }
    for (const bad of result.invalid.slice(0, 3)) {
      out.warn(`example ${bad.row} skipped: ${bad.message.replace(/^\[chat\] /, "")}`);
    }
    if (result.invalid.length > 3) {
      out.warn(`${result.invalid.length - 3} more examples skipped (invalid content)`);
    }
  }
  const select: SelectOptions = {
    ...(maxSeqLen !== undefined ? { maxSeqLen } : {}),
    ...(sampleSubject !== undefined ? { sampleSubject } : {}),
    ...(limit !== undefined ? { limit } : {}),
    randomSample: bool(f, "random-sample"),
    seed,
    fullDataset: bool(f, "full-dataset"),
  };
  const batching: BatchingOptions = { mode: "dynamic", ...(thresholds ? { thresholds } : {}) };
  const prepared = await prepareBatches({
    source: dataset.source,
    shape,
    lengths,
    ...(subjectCol !== undefined ? { subjectCol } : {}),
    select,
    batching,
    shard,
    missingLengths: "skip",
  });
  const plan = prepared.plan;
  const selected = plan.order.length;
  const st = prepared.stats;
  const left = [
    st.skippedTooLong > 0 ? `${st.skippedTooLong} longer than --max-seq-len` : "",
    st.skippedEmpty > 0 ? `${st.skippedEmpty} with an empty answer` : "",
    st.skippedNoLength > 0 ? `${st.skippedNoLength} without a length` : "",
    st.notSampled > 0 ? `${st.notSampled} not sampled (--limit, --sample-subject)` : "",
  ].filter(Boolean);
  if (left.length > 0 || !dataset.embedded) {
    out.info(`Dataset: ${st.total} examples${left.length > 0 ? `; left out: ${left.join(", ")}` : ""}`);
  }
  if (st.skippedNoLength > 0 && tokenized !== undefined) {
    out.warn(`${st.skippedNoLength} examples have no length in --tokenized-dataset ${tokenized} and are left out`);
  }
  out.event({ event: "selection", ...st });
  if (selected === 0 && shard.count > 1) {
    out.info(
      `Shard ${shard.index}/${shard.count} has no examples: the selection makes ${prepared.totalBatches} batch(es) in all`,
    );
    out.event({ event: "done", output: target.where, outputKind: target.kind, examples: 0, selected: 0 });
    return;
  }
  if (selected === 0) {
    throw new CliError(
      `no example to extract: of ${prepared.stats.total}, ${prepared.stats.skippedTooLong} are longer than --max-seq-len, ${prepared.stats.skippedEmpty} have an empty answer, ${prepared.stats.skippedNoLength} have no length`,
    );
  }

  // ---- settings, sink, writer ----
  const templateSource = encoder.template?.source ?? "";
  const settings: ExtractionSettings = {
    model: model.spec,
    templateHash: createHash("sha256").update(templateSource).digest("hex"),
    mode,
    seed,
    ...(mode === "nucleus" ? { topP, topPMax, sampledN } : { rounds, temperature }),
    dataset: dataset.spec,
    input: shape,
    chat: encoder.metadata(),
  };

  const sink = await openSink(ctx, target);
  const teacherCacheDir = modelCacheDir(ctx.env);
  if (bool(f, "verify-mask")) {
    await printMask(ctx, encoder, shape, dataset.source, plan.order[0] as number);
  }
  const teacher = await openTeacher({
    onGenerate: () => out.info(`Generating the bundled tiny model into ${teacherCacheDir} (first run only)`),
    model: model.kind === "tiny" ? { kind: "tiny" } : { kind: "folder", dir: model.dir as string },
    cacheDir: teacherCacheDir,
    device: device.device,
    ...(device.id !== undefined ? { deviceId: device.id } : {}),
    mode,
    topP,
    topPMax,
    sampledN,
    rounds,
    temperature,
    seed,
  });
  Object.assign(settings, teacher.settings, { model: model.spec });
  if (teacher.vocabSize !== encoder.tokenizer.vocabSize && teacher.vocabSize < encoder.tokenizer.vocabSize) {
    await teacher.close();
    throw new CliError(
      `--model: the model has ${teacher.vocabSize} logits per position but its tokenizer has ${encoder.tokenizer.vocabSize} tokens`,
    );
  }

  const bar = new ProgressBar(out, "extract");
  let writer: StreamingWriter;
  try {
    writer = await StreamingWriter.open({
      sink,
      cacheDir: target.cacheDir,
      layout: mode,
      settings,
      shard,
      ...(uploadEvery !== undefined ? { uploadEvery } : {}),
      ...(uploadSizeMb !== undefined ? { uploadSizeMb } : {}),
      // the refusal to mix with earlier progress is decided below, on this run's own examples only (the output
      // may hold other writers' shards of a split run)
      resume: true,
      forceRestart,
      card: { ...(target.kind === "hub" ? { repoId: target.where } : {}) },
      onEvent: (e) => onWriterEvent(ctx, bar, e),
    });
  } catch (error) {
    await teacher.close();
    bar.finish();
    throw explainOpenError(error);
  }
  let todo = 0;
  for (let k = 0; k < plan.order.length; k++) {
    if (!writer.isDone(plan.order[k] as number)) {
      todo++;
    }
  }
  if (!resume && !forceRestart && todo < selected) {
    await writer.stop("refused");
    await teacher.close();
    bar.finish();
    throw new CliError(
      `${target.kind === "folder" ? "--output" : "--output-repo"}: ${displayWhere(target)} already holds ${selected - todo} of the ${selected} selected examples from an earlier run`,
      "pass --resume to go on with it, or --force-restart to discard it and start over",
    );
  }
  const mine = (path: string) => {
    const name = parseShardFileName(path);
    return shard.count === 1 || (name?.shard.index === shard.index && name.shard.count === shard.count);
  };
  if (forceRestart && writer.resume.ignoredFiles.some((x) => mine(x.path))) {
    const paths = writer.resume.ignoredFiles.map((x) => x.path).filter(mine);
    await sink.remove(paths, `Remove ${paths.length} shard(s) of an earlier run (--force-restart)`);
    out.info(`--force-restart: removed ${paths.length} shard(s) of the earlier run from ${displayWhere(target)}`);
  }
  const already = selected - todo;
  out.event({
    event: "start",
    output: target.where,
    outputKind: target.kind,
    selected,
    done: already,
    todo,
    device: teacher.device,
    model: model.spec,
    dataset: dataset.spec,
    shard: `${shard.index}/${shard.count}`,
  });
  out.info(
    `${selected} examples selected${already > 0 ? `, ${already} already done (resumed)` : ""}; teacher on ${teacher.device}; writing to ${displayWhere(target)}`,
  );

  const shutdown = installShutdownHandlers({
    ...(maxRuntimeMinutes !== undefined ? { maxRuntimeMinutes } : {}),
    onStop: (reason) => {
      const why = reason === "max-runtime" ? `--max-runtime-minutes ${maxRuntimeMinutes} reached` : reason;
      out.info(`${why}: stopping after this batch and saving unwritten rows (Ctrl+C again to exit at once)`);
      out.event({ event: "stopping", reason });
    },
    onForce: (signal) => {
      out.clearStatus();
      out.error(`${signal} again: exiting now; the output and cache stay resumable (--resume)`);
      // Die by the signal itself (the shell sees 130 for SIGINT): process.exit would tear ONNX Runtime down while a
      // run is in flight, a native abort. Every file is written atomically, so leaving without cleanup is safe.
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    },
  });

  bar.update({ total: todo, done: 0 });
  let done = 0;
  let tokens = 0;
  let positions = 0;
  const reader = await openRowReader(dataset.source, { columns: shapeColumns(shape) });
  /** Tokens and positions of the examples handed to the teacher, by index, until their row is written. */
  const sizes = new Map<number, [number, number]>();
  // Batches of examples not done yet, tokenized here while the device runs the previous batch. Stops at Ctrl+C or
  // the time limit: the batch on the device is finished and written, nothing after it is started.
  async function* batches(): AsyncGenerator<TeacherExample[]> {
    for (const { indices } of iterateBatches(plan)) {
      if (shutdown.signal.aborted) {
        return;
      }
      const wanted = Array.from(indices).filter((i) => !writer.isDone(i));
      if (wanted.length === 0) {
        continue;
      }
      const rows = await reader.read(wanted);
      yield rows.map((row, k) => {
        const index = wanted[k] as number;
        const e = encoder.encode(exampleFromRow(row, shape, index));
        sizes.set(index, [e.ids.length, e.numExtractTokens]);
        return { index, ids: e.ids, extractMask: e.extractMask };
      });
    }
  }
  try {
    for await (const row of teacher.extract(batches())) {
      await writer.write(row);
      const [t, pos] = sizes.get(row.index) ?? [0, 0];
      sizes.delete(row.index);
      tokens += t;
      positions += pos;
      done++;
      bar.update({ done, tokens, positions });
    }
  } catch (error) {
    // keep what was produced: rows go to pending/, the running upload is waited for
    bar.finish();
    await writer.stop("error").catch(() => undefined);
    shutdown.dispose();
    await reader.close();
    await teacher.close();
    throw error;
  }
  await reader.close();
  await teacher.close();
  const stopped = shutdown.signal.aborted;
  const reason = shutdown.reason;
  let summary: Awaited<ReturnType<StreamingWriter["close"]>>;
  try {
    summary = stopped ? await writer.stop(reason) : await writer.close();
  } finally {
    shutdown.dispose();
    bar.finish();
  }
  const seconds = (performance.now() - started) / 1000;
  const p = summary.progress;
  const result = {
    event: stopped ? "stopped" : "done",
    reason: reason ?? null,
    output: target.where,
    outputKind: target.kind,
    examples: done,
    tokens,
    positions,
    selected,
    done: p.done,
    shards: summary.shards,
    backups: summary.backups,
    pendingFile: summary.pendingFile ?? null,
    bytesUploaded: p.bytesUploaded,
    seconds,
    warnings: summary.warnings,
  };
  out.event(result);
  const rerun = commandLine(["--resume"]);
  if (stopped) {
    out.info(
      `Stopped (${reason === "max-runtime" ? "--max-runtime-minutes" : reason}): ${done} examples this run, ${p.done} of ${selected} done in all; unwritten rows are saved in ${displayPath(target.cacheDir)}`,
    );
    out.info(`Go on with:  ${rerun}`);
    process.exitCode = reason === "max-runtime" ? 0 : 130;
    return;
  }
  for (const w of summary.warnings) {
    out.warn(w);
  }
  if (summary.backups.length > 0) {
    out.warn(
      `${summary.backups.length} shard(s) could not be uploaded and are kept in ${displayPath(target.cacheDir)}; run again with --resume to upload them`,
    );
    process.exitCode = 1;
  }
  out.info(
    `${out.err.green("Done:")} ${done} examples, ${formatCount(positions)} assistant tokens (${formatCount(tokens)} tokens in all) in ${formatDuration(seconds)}; ${summary.shards.length} shard(s), ${formatBytes(p.bytesUploaded)}`,
  );
  const shown = target.kind === "folder" ? displayPath(target.where).replace(/^\.\//, "") : target.where;
  out.info(`Output:  ${target.kind === "folder" ? target.where : sinkLocation(sink)}`);
  out.info(`Explore: logitpack explore info ${quote(shown)}`);
  out.info(`         logitpack explore sample ${quote(shown)} --row 0`);
  out.info(`Verify:  logitpack verify ${quote(shown)}`);
  out.data(result, () => undefined);
}

function quote(s: string): string {
  return /^[\w./@:-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

function sinkLocation(sink: Sink): string {
  return sink.location;
}

function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel === "" ? "." : rel.startsWith("..") ? p : `./${rel}`;
}

function displayWhere(t: OutputTarget): string {
  return t.kind === "folder" ? displayPath(t.where) : `the Hub dataset ${t.where}`;
}

/** The command line that was run, with extra flags (for "go on with"). */
function commandLine(extra: string[]): string {
  const args = process.argv.slice(2).filter((a) => !extra.includes(a) && a !== "--force-restart");
  return ["logitpack", ...args.map(quote), ...extra].join(" ");
}

async function openSink(ctx: CommandContext, target: OutputTarget): Promise<Sink> {
  if (target.kind === "folder") {
    return createSink({ folder: target.where });
  }
  const token = str(ctx.flags, "token");
  return createSink({
    hub: true,
    repo: target.where,
    ...(token ? { token } : {}),
    ...(bool(ctx.flags, "private") ? { private: true } : {}),
    onRetry: (info) => {
      ctx.out.event({ event: "retry", ...info });
    },
  });
}

function hubProvider(ctx: CommandContext) {
  const token = str(ctx.flags, "token");
  return {
    async open(repo: string, options: { split?: string; revision?: string }) {
      const { downloadToCache, listRepoFiles } = await import("@logitpack/hub-stream");
      const { openLocalFiles } = await import("@logitpack/sampler");
      const read = { repo, ...(options.revision ? { revision: options.revision } : {}), ...(token ? { token } : {}) };
      const files = (await listRepoFiles(read)).filter((x) => /\.(parquet|jsonl|json)$/i.test(x.path));
      if (files.length === 0) {
        throw new CliError(`--tokenized-dataset: the Hub dataset ${repo} has no .parquet, .jsonl or .json files`);
      }
      const paths: string[] = [];
      for (const x of files) {
        paths.push(await downloadToCache({ ...read, path: x.path }));
      }
      return openLocalFiles(paths, repo);
    },
  };
}

function explainOpenError(error: unknown): unknown {
  if (error instanceof HubStreamError && error.code === "SETTINGS_MISMATCH") {
    return new CliError(
      error.message.replace(/^\[hub-stream\] /, ""),
      "run with the earlier settings, write to another --output, or pass --force-restart to discard the earlier run",
    );
  }
  return error;
}

function onWriterEvent(ctx: CommandContext, bar: ProgressBar, e: WriterEvent): void {
  const { out } = ctx;
  switch (e.type) {
    case "progress":
      if (e.progress.uploadInFlight !== bar.state.uploading) {
        bar.update({ uploading: e.progress.uploadInFlight, shards: e.progress.shardsUploaded }, true);
      }
      return;
    case "resumed":
      out.event({ event: "resumed", done: e.done, pendingRows: e.pendingRows, backups: e.backups, ms: e.ms });
      if (e.done > 0 || e.pendingRows > 0) {
        out.info(
          `Resuming: ${e.done} examples already done (${e.scannedFiles + e.knownFiles} shard(s) checked${e.pendingRows > 0 ? `, ${e.pendingRows} saved rows merged` : ""}${e.backups > 0 ? `, ${e.backups} backup shard(s) to upload` : ""})`,
        );
      }
      return;
    case "shard-start":
      out.event({ event: "shard-start", path: e.path, rows: e.rows, bytes: e.bytes });
      return;
    case "shard-uploaded":
      out.event({ event: "shard-uploaded", path: e.path, rows: e.rows, bytes: e.bytes, ms: e.ms });
      if (!out.interactive) {
        out.info(`wrote ${e.path} (${e.rows} rows, ${formatBytes(e.bytes)})`);
      }
      return;
    case "upload-failed":
      out.event({ event: "upload-failed", path: e.path, backup: e.backup, message: e.error.message });
      out.warn(`upload of ${e.path} failed (${e.error.message.replace(/^\[hub-stream\] /, "")}); kept in ${e.backup}`);
      return;
    case "backup-uploaded":
      out.event({ event: "backup-uploaded", path: e.path });
      out.info(`uploaded ${e.path} from an earlier run's backup`);
      return;
    case "retry":
      out.event({ event: "retry", ...e.info });
      return;
    case "pending-saved":
      out.event({ event: "pending-saved", path: e.path, rows: e.rows });
      return;
    case "warning":
      out.warn(e.message.replace(/^\[hub-stream\] /, ""));
      return;
    default:
      return;
  }
}

/** --verify-mask: the first example's text with the tokens that get logits marked, and the counts. */
async function printMask(
  ctx: CommandContext,
  encoder: ChatEncoder,
  shape: InputShape,
  source: Parameters<typeof openRowReader>[0],
  index: number,
): Promise<void> {
  const reader = await openRowReader(source, { columns: shapeColumns(shape) });
  const [row] = await reader.read([index]);
  await reader.close();
  const e = encoder.encode(exampleFromRow(row as Record<string, unknown>, shape, index));
  const { out } = ctx;
  let text = "";
  let inSpan = false;
  let shownTo = 0;
  for (let t = 0; t < e.ids.length; t++) {
    // tokens holding parts of one character share its offsets: show each character once
    const from = Math.max(e.offsets[2 * t] as number, shownTo);
    const to = Math.max(e.offsets[2 * t + 1] as number, from);
    const piece = e.text.slice(from, to);
    shownTo = to;
    const on = e.extractMask[t] === 1;
    if (on !== inSpan) {
      text += on ? "⟦" : "⟧";
      inSpan = on;
    }
    text += piece;
  }
  if (inSpan) {
    text += "⟧";
  }
  out.event({
    event: "verify-mask",
    index,
    tokens: e.ids.length,
    assistantTokens: e.numAssistantTokens,
    extractTokens: e.numExtractTokens,
    text: e.text,
    extractMask: e.extractMask,
  });
  out.info(
    `--verify-mask: example ${index}: ${e.ids.length} tokens, ${e.numAssistantTokens} in the assistant mask, ${e.numExtractTokens} get logits (between ⟦ ⟧):`,
  );
  out.info(text);
  if (e.numExtractTokens === 0) {
    throw new CliError(
      "--verify-mask: 0 tokens get logits in the first example",
      "the chat template needs {% generation %} markers around the assistant's answer",
    );
  }
}

export { EMBEDDED_MODEL_NAME, type ResolvedModel, type Teacher };
