/**
 * `runLengths`: `logitpack lengths` as a library call. Renders and tokenizes every conversation exactly as
 * extraction will, and writes the lengths dataset (index, length, extract_tokens) as Parquet, to a file or a Hub
 * dataset repo; pass it to an extraction as `selection.tokenizedDataset`.
 */
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createSink, parseRepoId } from "@logitpack/hub-stream";
import { computeLengths, writeLengthsParquet } from "@logitpack/sampler";
import { type ChatConfig, Checker, checkChat, checkDataset, type DatasetConfig, type HubConfig } from "./config.js";
import { configPath, ExtractionError } from "./errors.js";
import type { LengthsEvent, LengthsResult, RunOptions } from "./events.js";
import { flagOfColumn, resolveDataset, resolveModel, resolveShape } from "./inputs.js";
import { checkWritableFile } from "./writable.js";

export interface LengthsConfig {
  /** The model whose tokenizer is used (no weights are needed): `tiny`, a folder, or a Hub model id. */
  model?: { id?: string };
  chat?: ChatConfig;
  dataset?: DatasetConfig;
  output?: {
    /** Parquet file to write. Default `lengths.parquet` (a temporary file when `hubRepo` is set). */
    file?: string;
    /** Hub dataset repo to upload the lengths to. */
    hubRepo?: string;
    /** Name of the length column. Default `length`. */
    lengthCol?: string;
  };
  hub?: HubConfig;
  runtime?: { numProc?: number };
}

/** Computes and writes the lengths; resolves with the summary (also the last event, `done`). */
export async function runLengths(
  config: LengthsConfig,
  options: RunOptions<LengthsEvent> = {},
): Promise<LengthsResult> {
  const name = options.optionName ?? configPath;
  const emit = options.onEvent ?? (() => undefined);
  const v = new Checker(name);
  const o = config.output ?? {};
  const lengthCol = v.str("output.lengthCol", o.lengthCol) ?? "length";
  const repo = v.str("output.hubRepo", o.hubRepo);
  if (repo !== undefined) {
    v.parse("output.hubRepo", repo, (x: string) => parseRepoId(x));
  }
  const dataset = checkDataset(v, config.dataset ?? {});
  const chat = checkChat(v, config.chat ?? {});
  const numProc = v.int("runtime.numProc", config.runtime?.numProc, 1, 256);
  const token = v.str("hub.token", config.hub?.token);
  const file = v.str("output.file", o.file);
  const output = resolve(
    file ?? (repo ? join(tmpdir(), `logitpack-lengths-${process.pid}.parquet`) : "lengths.parquet"),
  );
  checkWritableFile(output, name("output.file"));

  const ctx = {
    name,
    notice: (kind: "download", message: string, r: string, files: number) =>
      emit({ event: "notice", kind, message, repo: r, files }),
    ...(token ? { token } : {}),
  };
  const model = await resolveModel(v.str("model.id", config.model?.id), ctx, { weights: false });
  const source = await resolveDataset(dataset, ctx);
  const shape = resolveShape(dataset, chat.systemPrompt, await source.source.columns(), name);
  const template = chat.template ?? model.defaultTemplate;
  options.signal?.throwIfAborted();
  const t0 = performance.now();
  const result = await computeLengths({
    source: source.source,
    shape,
    encoder: {
      tokenizerDir: model.tokenizerDir,
      ...(template ? { chatTemplate: template } : {}),
      ...(chat.skipRules ? { skipRules: chat.skipRules } : {}),
    },
    numProc: numProc ?? Math.max(1, availableParallelism()),
    invalidRows: "skip",
    flagOf: flagOfColumn(shape, name),
    onProgress: ({ rows, tokens }) => emit({ event: "lengths-progress", rows, tokens }),
  });
  // the tokenizer workers run to the end; an abort is seen before and after them
  options.signal?.throwIfAborted();
  if (result.rows > 0 && result.extractTokens.every((x) => x <= 0)) {
    throw new ExtractionError(
      "NOTHING_TO_DO",
      `0 assistant tokens in all ${result.rows} examples: the chat template's {% generation %} markers never matched`,
      "chat.template",
      `check ${name("chat.template")} and the input columns`,
    );
  }
  mkdirSync(dirname(output), { recursive: true });
  writeLengthsParquet(output, result, { lengthCol });
  for (const bad of result.invalid.slice(0, 5)) {
    emit({
      event: "warning",
      row: bad.row,
      message: `row ${bad.row} skipped: ${bad.message.replace(/^\[chat\] /, "")}`,
    });
  }
  if (result.invalid.length > 5) {
    emit({ event: "warning", message: `${result.invalid.length - 5} more rows skipped` });
  }
  let where = output;
  if (repo !== undefined) {
    const sink = await createSink({ hub: true, repo, ...(token ? { token } : {}) });
    await sink.prepare();
    const path = "data/train-00000-of-00001.parquet";
    await sink.put(path, readFileSync(output), `Add token lengths of ${source.spec} (${result.rows} rows)`);
    rmSync(output, { force: true });
    where = `${sink.location}/${path}`;
  }
  const summary: LengthsResult = {
    event: "done",
    output: where,
    rows: result.rows,
    tokens: result.tokens,
    invalid: result.invalid.length,
    seconds: (performance.now() - t0) / 1000,
  };
  emit(summary);
  return summary;
}
