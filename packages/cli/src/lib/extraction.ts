/**
 * `runExtraction`: the whole pipeline of `logitpack extract` as a library call, with no printing. Inputs are
 * resolved (model, dataset, template), lengths computed or read, examples selected and batched, the teacher run,
 * and rows streamed to a folder or the Hub; everything the user may want to know is an `ExtractionEvent`.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import { type ChatEncoder, checkShapeColumns, exampleFromRow, type InputShape, shapeColumns } from "@logitpack/chat";
import type { ExtractionSettings } from "@logitpack/codec";
import {
  createSink,
  type DownloadProgress,
  downloadToCache,
  findLocalPaths,
  fingerprintPath,
  HubStreamError,
  hubFingerprint,
  listRepoFiles,
  localLabel,
  parseShardFileName,
  type Sink,
  StreamingWriter,
  type WriterEvent,
} from "@logitpack/hub-stream";
import {
  buildEncoder,
  computeLengths,
  type DatasetSource,
  isEmptyResponse,
  iterateBatches,
  type LengthsResult as LengthsData,
  type LengthsTable,
  openDataset,
  openLocalFiles,
  openRowReader,
  prepareBatches,
  readLengths,
} from "@logitpack/sampler";
import {
  type ExtractionConfig,
  type OutputTarget,
  type ResolvedExtractionConfig,
  validateExtractionConfig,
} from "./config.js";
import { configPath, ExtractionError, type OptionNamer } from "./errors.js";
import type { ExtractionEvent, ExtractionResult, ProgressEvent, RunOptions } from "./events.js";
import {
  checkPathLike,
  flagOfColumn,
  type ResolvedDataset,
  type ResolvedModel,
  resolveDataset,
  resolveModel,
  resolveShape,
  resolveTemplateValue,
} from "./inputs.js";
import { openTeacher, type Teacher, type TeacherExample } from "./teacher.js";
import { checkWritableDir } from "./writable.js";

interface Run {
  c: ResolvedExtractionConfig;
  name: OptionNamer;
  emit: (event: ExtractionEvent) => void;
  signal: AbortSignal | undefined;
  started: number;
  /** The figures of the last `progress` event. */
  progress: Omit<ProgressEvent, "event">;
  /** Examples left out: invalid content (lengths could not be computed), empty answers. */
  skipped: { invalid: number; empty: number };
}

interface Inputs {
  model: ResolvedModel;
  dataset: ResolvedDataset;
  shape: InputShape;
  encoder: ChatEncoder;
  encoderSpec: Parameters<typeof buildEncoder>[0];
}

/**
 * Runs an extraction. Resolves with the final summary (also the last event: `done`, or `stopped` when `signal` was
 * aborted; a stopped run is resumable with `output.resume`). Throws `ExtractionError` (or a library error with a
 * `code`) for bad options, missing inputs and refusals, with the option named through `optionName`.
 */
export async function runExtraction(
  config: ExtractionConfig,
  options: RunOptions<ExtractionEvent> = {},
): Promise<ExtractionResult> {
  const name = options.optionName ?? configPath;
  const c = validateExtractionConfig(config, { optionName: name, ...(options.env ? { env: options.env } : {}) });
  const run: Run = {
    c,
    name,
    emit: options.onEvent ?? (() => undefined),
    signal: options.signal,
    started: performance.now(),
    progress: { done: 0, total: 0, tokens: 0, positions: 0, uploading: false, shards: 0 },
    skipped: { invalid: 0, empty: 0 },
  };
  const inputs = await openInputs(run, config);
  const target = c.output.target;
  const sink = await openSink(run, target);
  if (target.kind === "hub") {
    // the token and the repo are checked before any heavy work (lengths, the model); a folder is created later only
    await sink.prepare();
  }
  const { plan, selected } = await planRun(run, inputs);
  if (selected === 0) {
    return finish(run, {
      ...emptyResult(target),
      skippedInvalid: run.skipped.invalid,
      skippedEmpty: run.skipped.empty,
    });
  }
  const settings = baseSettings(c, inputs);
  if (c.runtime.verifyMask) {
    await emitMask(run, inputs, plan.order[0] as number);
  }
  const teacher = await loadTeacher(run, inputs);
  Object.assign(settings, teacher.settings, await contentIdentity(run, inputs, teacher.vocabSize), {
    ...(inputs.model.modelFile !== undefined ? { modelFile: inputs.model.modelFile } : {}),
    ...(inputs.model.dtype !== undefined ? { dtype: inputs.model.dtype } : {}),
  });
  // what names the inputs must not be a machine path (free text such as a template or a system prompt may hold one)
  const chatTokenizer = (settings.chat as { tokenizer?: unknown } | undefined)?.tokenizer;
  const leaks = findLocalPaths({
    model: settings.model,
    dataset: settings.dataset,
    labels: settings.labels,
    tokenizer: chatTokenizer,
    modelFile: settings.modelFile,
  });
  if (leaks.length > 0) {
    await teacher.close();
    throw new ExtractionError("INTERNAL", `the settings would publish a local path (${leaks[0]})`);
  }
  if (teacher.lmHead.startsWith("full logits")) {
    run.emit({
      event: "warning",
      message: `the LM head was not recognized (${teacher.lmHead.replace(/^full logits: /, "")}): the logits of every position are computed, then gathered (correct, slower)`,
    });
  }
  const writer = await openWriter(run, sink, settings, teacher);
  try {
    await checkEarlierRun(run, writer, sink, plan.order, selected);
  } catch (error) {
    await teacher.close();
    throw error;
  }
  return extractRows(run, { inputs, plan, selected, sink, teacher, writer });
}

async function openInputs(run: Run, config: ExtractionConfig): Promise<Inputs> {
  const { c, name, emit } = run;
  const ctx = {
    name,
    notice: (kind: "download" | "input", message: string, repo?: string, files?: number) =>
      emit({
        event: "notice",
        kind,
        message,
        ...(repo !== undefined ? { repo } : {}),
        ...(files !== undefined && files > 0 ? { files } : {}),
      }),
    progress: (repo: string, p: DownloadProgress & { file: number; files: number }) =>
      emit({
        event: "download-progress",
        repo,
        path: p.path,
        file: p.file,
        files: p.files,
        bytes: p.bytes,
        ...(p.total !== undefined ? { total: p.total } : {}),
        bytesPerSecond: p.bytesPerSecond,
        done: p.done,
        ...(p.cached ? { cached: true } : {}),
      }),
    ...(c.hub.token ? { token: c.hub.token } : {}),
  };
  const model = await resolveModel(config.model?.id, ctx, {
    weights: true,
    choice: {
      ...(c.model.dtype !== undefined ? { dtype: c.model.dtype } : {}),
      ...(c.model.file !== undefined ? { file: c.model.file } : {}),
      device: c.model.device.device,
    },
  });
  if (model.modelFile !== undefined && model.available !== undefined) {
    emit({
      event: "notice",
      kind: "model-variant",
      message: `Teacher file: ${model.modelFile}${model.dtype !== undefined ? ` (dtype ${model.dtype})` : ""}; the repo has ${model.available.join(", ") || "no dtype variant"}`,
    });
  }
  const target = c.output.target;
  if (target.kind === "folder") {
    checkWritableDir(target.where, name("output.folder"));
  }
  checkWritableDir(target.cacheDir, name("output.cacheDir"));
  const dataset = await resolveDataset(c.dataset, ctx);
  if (config.model?.id === undefined && config.dataset?.id === undefined) {
    emit({
      event: "notice",
      kind: "embedded-default",
      message: `No ${name("model.id")} and no ${name("dataset.id")}: running the bundled tiny model (Qwen3 vocabulary) over the bundled sample dataset into ${displayPath(target.where)}`,
    });
  }
  const columns = await dataset.source.columns();
  // which columns hold the conversation (said for the user's datasets; the embedded default has its own notice)
  const shape = resolveShape(
    c.dataset,
    c.chat.systemPrompt,
    columns,
    name,
    dataset.embedded ? undefined : (message) => emit({ event: "notice", kind: "input", message }),
  );
  const template = resolveTemplateValue(
    c.chat.template,
    model,
    (message) => emit({ event: "notice", kind: "chat-template", message }),
    name,
  );
  const encoderSpec = {
    tokenizerDir: model.tokenizerDir,
    ...(template ? { chatTemplate: template } : {}),
    ...(c.chat.skipRules ? { skipRules: c.chat.skipRules } : {}),
  };
  // builds the tokenizer and template now: a template without generation markers fails here, before any work
  const encoder = buildEncoder(encoderSpec, shape);
  // every column the shape reads must exist (named with its option)
  checkShapeColumns(shape, columns, flagOfColumn(shape, name));
  return { model, dataset, shape, encoder, encoderSpec };
}

async function planRun(run: Run, inputs: Inputs) {
  const { c, name, emit } = run;
  const lengths = await lengthsOf(run, inputs);
  const columns = await inputs.dataset.source.columns();
  const subjectCol =
    c.selection.subjectCol ?? (inputs.dataset.embedded && columns.includes("subject") ? "subject" : undefined);
  const s = c.selection;
  const prepared = await prepareBatches({
    source: inputs.dataset.source,
    shape: inputs.shape,
    lengths,
    ...(subjectCol !== undefined ? { subjectCol } : {}),
    select: {
      ...(s.maxSeqLen !== undefined ? { maxSeqLen: s.maxSeqLen } : {}),
      ...(s.sampleSubject !== undefined ? { sampleSubject: s.sampleSubject } : {}),
      ...(s.limit !== undefined ? { limit: s.limit } : {}),
      randomSample: s.randomSample,
      seed: c.sampling.seed,
      fullDataset: s.fullDataset,
    },
    batching: { mode: "dynamic", ...(c.batching.thresholds ? { thresholds: c.batching.thresholds } : {}) },
    shard: s.shard,
    missingLengths: "skip",
  });
  const st = prepared.stats;
  run.skipped.empty = st.skippedEmpty;
  if (st.skippedNoLength > 0 && s.tokenizedDataset !== undefined) {
    emit({
      event: "warning",
      message: `${st.skippedNoLength} examples have no length in ${name("selection.tokenizedDataset")} ${s.tokenizedDataset} and are left out`,
    });
  }
  emit({ event: "selection", ...st });
  const selected = prepared.plan.order.length;
  if (selected === 0 && s.shard.count === 1) {
    throw new ExtractionError(
      "NOTHING_TO_DO",
      `no example to extract: of ${st.total}, ${st.skippedTooLong} are longer than ${name("selection.maxSeqLen")}, ${st.skippedEmpty} have an empty answer, ${st.skippedNoLength} have no length`,
    );
  }
  if (selected === 0) {
    emit({
      event: "warning",
      message: `Shard ${s.shard.index}/${s.shard.count} has no examples: the selection makes ${prepared.totalBatches} batch(es) in all`,
    });
  }
  return { plan: prepared.plan, selected };
}

async function lengthsOf(run: Run, inputs: Inputs): Promise<LengthsData | LengthsTable> {
  const { c, name, emit } = run;
  const tokenized = c.selection.tokenizedDataset;
  if (tokenized !== undefined) {
    const option = "selection.tokenizedDataset";
    checkPathLike(tokenized, option, name);
    const source = await openDataset(tokenized, { flag: name(option), hub: hubProvider(run) });
    return readLengths(source, { lengthCol: c.selection.lengthCol, flag: name(option) });
  }
  const t0 = performance.now();
  const result = await computeLengths({
    source: inputs.dataset.source,
    shape: inputs.shape,
    encoder: inputs.encoderSpec,
    numProc: c.runtime.numProc ?? Math.max(1, availableParallelism()),
    invalidRows: "skip",
    flagOf: flagOfColumn(inputs.shape, name),
    onProgress: ({ rows, tokens }) => emit({ event: "lengths-progress", rows, tokens }),
  });
  const seconds = (performance.now() - t0) / 1000;
  emit({ event: "lengths-computed", rows: result.rows, invalid: result.invalid.length, seconds });
  for (const bad of result.invalid.slice(0, 3)) {
    emit({
      event: "warning",
      row: bad.row,
      message: `example ${bad.row} skipped: ${bad.message.replace(/^\[chat\] /, "")}`,
    });
  }
  if (result.invalid.length > 3) {
    emit({ event: "warning", message: `${result.invalid.length - 3} more examples skipped (invalid content)` });
  }
  run.skipped.invalid = result.invalid.length;
  await markBlankAnswers(inputs, result);
  return result;
}

/**
 * Null, empty and whitespace-only answers get 0 tokens to extract, so the selection drops them (and counts them as
 * empty): the template still gives them tokens (an end-of-turn marker, whitespace), which would be extracted.
 */
async function markBlankAnswers(inputs: Inputs, lengths: LengthsData): Promise<void> {
  const at = new Map<number, number>();
  for (let k = 0; k < lengths.index.length; k++) {
    at.set(lengths.index[k] as number, k);
  }
  for await (const b of inputs.dataset.source.batches({ columns: shapeColumns(inputs.shape), batchRows: 8192 })) {
    for (let r = 0; r < b.rows.length; r++) {
      if (isEmptyResponse(b.rows[r] as Record<string, unknown>, inputs.shape)) {
        const k = at.get(b.start + r);
        if (k !== undefined) {
          lengths.extractTokens[k] = 0;
        }
      }
    }
  }
}

/** Files of a model folder that decide what it computes (weights, graph, configs, tokenizer, template). */
const MODEL_FILE = /\.(onnx|onnx_data|data|json|txt|model|jinja|safetensors|bin)$/i;
const TOKENIZER_FILE =
  /^(tokenizer\.json|tokenizer_config\.json|chat_template\.(jinja|json)|special_tokens_map\.json)$/;

/** Local files a dataset source reads (a file, or the parts of a folder or a downloaded Hub dataset). */
function sourceFiles(source: DatasetSource): string[] {
  const s = source as { file?: unknown; parts?: readonly DatasetSource[] };
  if (typeof s.file === "string") {
    return [s.file];
  }
  return s.parts ? s.parts.flatMap(sourceFiles) : [];
}

/**
 * What identifies the inputs, by content and never by where they are: the model (a Hub commit, or a hash of the
 * local folder's files, remembered in the model cache), the dataset (a hash of the files read), the tokenizer (a hash
 * of its files); `labels` keep readable names for cards and messages (not compared on resume).
 */
async function contentIdentity(run: Run, inputs: Inputs, logitsWidth: number): Promise<ExtractionSettings> {
  const { model, dataset } = inputs;
  const memoFile = join(run.c.model.cacheDir, "fingerprints.json");
  let modelId = model.spec;
  let modelLabel = model.spec;
  const snapshot = model.dir ? /[\\/]snapshots[\\/]([0-9a-f]{40})[\\/]?$/.exec(model.dir) : null;
  if (model.kind === "folder" && snapshot) {
    modelId = hubFingerprint(model.spec, snapshot[1] as string);
  } else if (model.kind === "folder" && model.dir) {
    modelId = await fingerprintPath(model.dir, { memoFile, include: (p) => MODEL_FILE.test(p) });
    modelLabel = localLabel(model.dir);
  }
  let datasetId = dataset.spec;
  let datasetLabel = dataset.spec;
  if (!dataset.embedded) {
    const files = sourceFiles(dataset.source);
    const h = createHash("sha256");
    for (const f of files) {
      h.update(`${await fingerprintPath(f, { memoFile })}\n`);
    }
    datasetId = `sha256:${h.digest("hex")}`;
    datasetLabel = existsSync(dataset.spec) ? localLabel(dataset.spec) : dataset.spec;
  }
  const tokenizerHash = await fingerprintPath(model.tokenizerDir, { include: (p) => TOKENIZER_FILE.test(p) });
  const chat = { ...inputs.encoder.metadata(), tokenizer: model.kind === "tiny" ? model.spec : modelLabel };
  return {
    model: modelId,
    dataset: datasetId,
    tokenizerHash,
    chat,
    logitsWidth,
    labels: { model: modelLabel, dataset: datasetLabel, ...splitLabels(dataset) },
  };
}

/** The split and config a folder or Hub dataset was read from (`explore align` reads the same rows by default). */
function splitLabels(dataset: Inputs["dataset"]): { split?: string; config?: string } {
  const files = dataset.source.dataFiles;
  if (dataset.embedded || files === undefined) {
    return {};
  }
  return { split: files.split, ...(files.config !== undefined ? { config: files.config } : {}) };
}

function baseSettings(c: ResolvedExtractionConfig, inputs: Inputs): ExtractionSettings {
  const s = c.sampling;
  return {
    model: inputs.model.spec,
    templateHash: createHash("sha256")
      .update(inputs.encoder.template?.source ?? "")
      .digest("hex"),
    mode: s.mode,
    seed: s.seed,
    ...(s.mode === "nucleus"
      ? { topP: s.topP, topPMax: s.topPMax, sampledN: s.sampledN }
      : { rounds: s.rounds, temperature: s.temperature }),
    dataset: inputs.dataset.spec,
    input: inputs.shape,
    chat: inputs.encoder.metadata(),
  };
}

async function loadTeacher(run: Run, inputs: Inputs): Promise<Teacher> {
  const { c, name, emit } = run;
  const { model, encoder } = inputs;
  const teacher = await openTeacher({
    onGenerate: () =>
      emit({
        event: "notice",
        kind: "generate-model",
        message: `Generating the bundled tiny model into ${c.model.cacheDir} (first run only)`,
      }),
    model:
      model.kind === "tiny"
        ? { kind: "tiny" }
        : {
            kind: "folder",
            dir: model.dir as string,
            ...(model.modelFile !== undefined ? { file: model.modelFile } : {}),
          },
    cacheDir: c.model.cacheDir,
    device: c.model.device.device,
    ...(c.model.device.id !== undefined ? { deviceId: c.model.device.id } : {}),
    ...c.sampling,
    name,
  });
  if (teacher.vocabSize < encoder.tokenizer.vocabSize) {
    await teacher.close();
    throw new ExtractionError(
      "MODEL",
      `${name("model.id")}: the model has ${teacher.vocabSize} logits per position but its tokenizer has ${encoder.tokenizer.vocabSize} tokens`,
      "model.id",
    );
  }
  return teacher;
}

async function openSink(run: Run, target: OutputTarget): Promise<Sink> {
  if (target.kind === "folder") {
    return createSink({ folder: target.where });
  }
  const { token } = run.c.hub;
  return createSink({
    hub: true,
    repo: target.where,
    ...(token ? { token } : {}),
    ...(run.c.output.private ? { private: true } : {}),
    onRetry: (info) => run.emit({ event: "retry", ...info }),
  });
}

async function openWriter(
  run: Run,
  sink: Sink,
  settings: ExtractionSettings,
  teacher: Teacher,
): Promise<StreamingWriter> {
  const { c, name } = run;
  const o = c.output;
  try {
    return await StreamingWriter.open({
      sink,
      cacheDir: o.target.cacheDir,
      layout: c.sampling.mode,
      settings,
      shard: c.selection.shard,
      ...(o.uploadEvery !== undefined ? { uploadEvery: o.uploadEvery } : {}),
      ...(o.uploadSizeMb !== undefined ? { uploadSizeMb: o.uploadSizeMb } : {}),
      // the refusal to mix with earlier progress is decided on this run's own examples only (the output may hold
      // other writers' shards of a split run): see checkEarlierRun
      resume: true,
      forceRestart: o.forceRestart,
      card: {
        ...(o.target.kind === "hub" ? { repoId: o.target.where } : {}),
        ...(o.license !== undefined ? { license: o.license } : {}),
        ...(o.cardExtra !== undefined ? { extraText: o.cardExtra } : {}),
      },
      onEvent: (e) => writerEvent(run, e),
    });
  } catch (error) {
    await teacher.close();
    if (error instanceof HubStreamError && error.code === "SETTINGS_MISMATCH") {
      throw new ExtractionError(
        "SETTINGS_MISMATCH",
        error.message.replace(/^\[hub-stream\] /, ""),
        undefined,
        `run with the earlier settings, write to another ${name("output.folder")}, or pass ${name("output.forceRestart")} to discard the earlier run`,
      );
    }
    throw error;
  }
}

/** Refuses to mix with an earlier run unless `resume`; with `forceRestart`, removes its shards. */
async function checkEarlierRun(
  run: Run,
  writer: StreamingWriter,
  sink: Sink,
  order: ArrayLike<number>,
  selected: number,
): Promise<void> {
  const { c, name, emit } = run;
  const { target, resume, forceRestart } = c.output;
  let todo = 0;
  for (let k = 0; k < order.length; k++) {
    if (!writer.isDone(order[k] as number)) {
      todo++;
    }
  }
  if (!resume && !forceRestart && todo < selected) {
    await writer.stop("refused");
    const option = target.kind === "folder" ? "output.folder" : "output.hubRepo";
    throw new ExtractionError(
      "OUTPUT_NOT_EMPTY",
      `${name(option)}: ${displayWhere(target)} already holds ${selected - todo} of the ${selected} selected examples from an earlier run`,
      option,
      `pass ${name("output.resume")} to go on with it, or ${name("output.forceRestart")} to discard it and start over`,
    );
  }
  const shard = c.selection.shard;
  const mine = (path: string) => {
    const parsed = parseShardFileName(path);
    return shard.count === 1 || (parsed?.shard.index === shard.index && parsed.shard.count === shard.count);
  };
  const paths = writer.resume.ignoredFiles.map((x) => x.path).filter(mine);
  if (forceRestart && paths.length > 0) {
    await sink.remove(paths, `Remove ${paths.length} shard(s) of an earlier run (force restart)`);
    emit({ event: "restarted", removed: paths.length });
  }
}

interface Loop {
  inputs: Inputs;
  plan: Awaited<ReturnType<typeof prepareBatches>>["plan"];
  selected: number;
  sink: Sink;
  teacher: Teacher;
  writer: StreamingWriter;
}

async function extractRows(run: Run, loop: Loop): Promise<ExtractionResult> {
  const { c, emit, signal } = run;
  const { inputs, plan, selected, teacher, writer } = loop;
  let todo = 0;
  for (let k = 0; k < plan.order.length; k++) {
    todo += writer.isDone(plan.order[k] as number) ? 0 : 1;
  }
  const target = c.output.target;
  const shard = c.selection.shard;
  emit({
    event: "start",
    output: target.where,
    outputKind: target.kind,
    cacheDir: target.cacheDir,
    selected,
    done: selected - todo,
    todo,
    device: teacher.device,
    providerFailures: [...teacher.providerFailures],
    ...(inputs.model.modelFile !== undefined ? { modelFile: inputs.model.modelFile } : {}),
    ...(inputs.model.dtype !== undefined ? { dtype: inputs.model.dtype } : {}),
    lmHead: teacher.lmHead,
    model: inputs.model.spec,
    dataset: inputs.dataset.spec,
    shard: `${shard.index}/${shard.count}`,
  });
  const onAbort = () => emit({ event: "stopping", reason: reasonOf(signal) });
  if (signal?.aborted) {
    onAbort();
  } else {
    signal?.addEventListener("abort", onAbort, { once: true });
  }
  const counts = run.progress;
  counts.total = todo;
  const reader = await openRowReader(inputs.dataset.source, { columns: shapeColumns(inputs.shape) });
  /** Tokens and positions of the examples handed to the teacher, by index, until their row is written. */
  const sizes = new Map<number, [number, number]>();
  // Batches of examples not done yet, tokenized here while the device runs the previous batch. Stops when the
  // signal is aborted: the batch on the device is finished and written, nothing after it is started.
  async function* batches(): AsyncGenerator<TeacherExample[]> {
    for (const { indices } of iterateBatches(plan)) {
      if (signal?.aborted) {
        return;
      }
      const wanted = Array.from(indices).filter((i) => !writer.isDone(i));
      if (wanted.length === 0) {
        continue;
      }
      const rows = await reader.read(wanted);
      yield rows.map((row, k) => {
        const index = wanted[k] as number;
        const e = inputs.encoder.encode(exampleFromRow(row, inputs.shape, index));
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
      counts.tokens += t;
      counts.positions += pos;
      counts.done++;
      emit({ event: "progress", ...counts });
    }
  } catch (error) {
    // keep what was produced: rows go to pending/, the running upload is waited for
    await writer.stop("error").catch(() => undefined);
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    await reader.close();
    await teacher.close();
  }
  const stopped = signal?.aborted === true;
  const reason = stopped ? reasonOf(signal) : null;
  const summary = stopped ? await writer.stop(reason as string) : await writer.close();
  if (!stopped) {
    const missing = writer.missing(plan.order);
    if (missing.length > 0) {
      throw new ExtractionError(
        "INCOMPLETE",
        `the run ended but ${missing.length} of the ${selected} selected examples are stored nowhere (e.g. example ${missing[0]}); run again with ${run.name("output.resume")} to produce them`,
      );
    }
  }
  return finish(run, {
    event: stopped ? "stopped" : "done",
    reason,
    output: target.where,
    outputKind: target.kind,
    location: target.kind === "folder" ? target.where : loop.sink.location,
    cacheDir: target.cacheDir,
    examples: counts.done,
    tokens: counts.tokens,
    positions: counts.positions,
    selected,
    done: summary.progress.done,
    shards: summary.shards,
    backups: summary.backups,
    pendingFile: summary.pendingFile ?? null,
    bytesUploaded: summary.progress.bytesUploaded,
    seconds: 0,
    warnings: summary.warnings,
    skippedInvalid: run.skipped.invalid,
    skippedEmpty: run.skipped.empty,
  });
}

function emptyResult(target: OutputTarget): ExtractionResult {
  return {
    event: "done",
    reason: null,
    output: target.where,
    outputKind: target.kind,
    location: target.where,
    cacheDir: target.cacheDir,
    examples: 0,
    tokens: 0,
    positions: 0,
    selected: 0,
    done: 0,
    shards: [],
    backups: [],
    pendingFile: null,
    bytesUploaded: 0,
    seconds: 0,
    warnings: [],
    skippedInvalid: 0,
    skippedEmpty: 0,
  };
}

function finish(run: Run, result: ExtractionResult): ExtractionResult {
  result.seconds = (performance.now() - run.started) / 1000;
  run.emit(result);
  return result;
}

/** `signal.reason` as a short string: a string reason as is, an error by its name (`AbortError`, `TimeoutError`). */
function reasonOf(signal: AbortSignal | undefined): string {
  const r: unknown = signal?.reason;
  if (typeof r === "string") {
    return r;
  }
  return r instanceof Error ? r.name : String(r ?? "aborted");
}

function writerEvent(run: Run, e: WriterEvent): void {
  const { emit } = run;
  switch (e.type) {
    case "progress": {
      const p = run.progress;
      p.shards = e.progress.shardsUploaded;
      if (e.progress.uploadInFlight !== p.uploading) {
        // an upload started or ended: the progress figures say so at once
        p.uploading = e.progress.uploadInFlight;
        emit({ event: "progress", ...p });
      }
      return;
    }
    case "resumed":
      emit({
        event: "resumed",
        done: e.done,
        pendingRows: e.pendingRows,
        backups: e.backups,
        shardsChecked: e.scannedFiles + e.knownFiles,
        ms: e.ms,
      });
      return;
    case "shard-start":
      emit({ event: "shard-start", path: e.path, rows: e.rows, bytes: e.bytes });
      return;
    case "shard-uploaded":
      emit({ event: "shard-uploaded", path: e.path, rows: e.rows, bytes: e.bytes, ms: e.ms });
      return;
    case "upload-failed":
      emit({
        event: "upload-failed",
        path: e.path,
        backup: e.backup,
        message: e.error.message.replace(/^\[hub-stream\] /, ""),
      });
      return;
    case "backup-uploaded":
      emit({ event: "backup-uploaded", path: e.path });
      return;
    case "retry":
      emit({ event: "retry", ...e.info });
      return;
    case "pending-saved":
      emit({ event: "pending-saved", path: e.path, rows: e.rows });
      return;
    case "warning":
      emit({ event: "warning", message: e.message.replace(/^\[hub-stream\] /, "") });
      return;
    default:
      return;
  }
}

/** `selection.tokenizedDataset` as a Hub id: its Parquet/JSON files, downloaded into the standard cache. */
function hubProvider(run: Run) {
  const { token } = run.c.hub;
  const option = run.name("selection.tokenizedDataset");
  return {
    async open(repo: string, options: { split?: string; revision?: string }): Promise<DatasetSource> {
      const read = { repo, ...(options.revision ? { revision: options.revision } : {}), ...(token ? { token } : {}) };
      const files = (await listRepoFiles(read)).filter((x) => /\.(parquet|jsonl|json)$/i.test(x.path));
      if (files.length === 0) {
        throw new ExtractionError(
          "NOT_FOUND",
          `${option}: the Hub dataset ${repo} has no .parquet, .jsonl or .json files`,
        );
      }
      const paths: string[] = [];
      for (const x of files) {
        paths.push(await downloadToCache({ ...read, path: x.path }));
      }
      return openLocalFiles(paths, repo);
    },
  };
}

/** `runtime.verifyMask`: the first example with its assistant mask, before any work. */
async function emitMask(run: Run, inputs: Inputs, index: number): Promise<void> {
  const reader = await openRowReader(inputs.dataset.source, { columns: shapeColumns(inputs.shape) });
  const [row] = await reader.read([index]);
  await reader.close();
  const e = inputs.encoder.encode(exampleFromRow(row as Record<string, unknown>, inputs.shape, index));
  run.emit({
    event: "verify-mask",
    index,
    tokens: e.ids.length,
    assistantTokens: e.numAssistantTokens,
    extractTokens: e.numExtractTokens,
    text: e.text,
    offsets: Uint32Array.from(e.offsets),
    extractMask: e.extractMask,
  });
  if (e.numExtractTokens === 0) {
    throw new ExtractionError(
      "NOTHING_TO_DO",
      `${run.name("runtime.verifyMask")}: 0 tokens get logits in the first example`,
      "chat.template",
      "the chat template needs {% generation %} markers around the assistant's answer",
    );
  }
}

export function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel === "" ? "." : rel.startsWith("..") ? p : `./${rel}`;
}

function displayWhere(t: OutputTarget): string {
  return t.kind === "folder" ? displayPath(t.where) : `the Hub dataset ${t.where}`;
}
