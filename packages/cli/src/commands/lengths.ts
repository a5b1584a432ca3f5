import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseSkipRules } from "@logitpack/chat";
import { createSink } from "@logitpack/hub-stream";
import { computeLengths, writeLengthsParquet } from "@logitpack/sampler";
import { CliError, UsageError } from "../internal/errors.js";
import { bool, int, str } from "../internal/flags.js";
import { flagOfColumn, INPUT_FLAGS, resolveDataset, resolveModel, resolveShape } from "../internal/inputs.js";
import { formatCount, formatDuration } from "../internal/progress.js";
import type { CommandContext, CommandSpec } from "../internal/spec.js";
import { checkWritableFile } from "../internal/writable.js";

export const lengths: CommandSpec = {
  name: "lengths",
  summary: "pre-compute token lengths of a dataset for length-sorted batches (seed compute_lengths.py)",
  description:
    "Renders every conversation with the chat template and tokenizes it exactly as extraction will, in --num-proc worker threads, and writes a lengths dataset (index, length, extract_tokens) as Parquet. Pass it to 'logitpack extract --tokenized-dataset' to sort examples longest first into dynamic batches and to apply --max-seq-len without tokenizing twice.",
  flags: {
    ...INPUT_FLAGS,
    output: {
      type: "string",
      short: "o",
      valueName: "FILE",
      description: "local Parquet file to write",
      default: "lengths.parquet",
      group: "Output",
    },
    "length-col": {
      type: "string",
      valueName: "COL",
      description: "name of the length column",
      default: "length",
      group: "Output",
    },
    "output-repo": {
      type: "string",
      valueName: "ID",
      description: "Hub dataset repo for the lengths (with --push-to-hub)",
      group: "Hub",
    },
    "push-to-hub": { type: "boolean", description: "upload the lengths to --output-repo", group: "Hub" },
    "num-proc": {
      type: "string",
      valueName: "N",
      description: "tokenizer worker threads",
      default: "the number of cores",
      group: "Performance",
    },
  },
  examples: [
    "logitpack lengths --model ./Qwen3-4B --dataset ./MegaScience --chat-template qwen --user-col question --assistant-col answer --num-proc 16 --output lengths.parquet",
    "logitpack lengths --model ./Qwen3-4B --dataset MegaScience/MegaScience --chat-template ./qwen_chat_template.jinja --output-repo you/MegaScience-Lengths-Qwen3 --push-to-hub",
  ],
  run: runLengths,
};

async function runLengths(ctx: CommandContext): Promise<void> {
  const f = ctx.flags;
  const { out } = ctx;
  const numProc = int(f, "num-proc", { min: 1, max: 256 });
  const lengthCol = str(f, "length-col") ?? "length";
  const push = bool(f, "push-to-hub");
  const repo = str(f, "output-repo");
  if (push && repo === undefined) {
    throw new UsageError("needs --output-repo (the Hub dataset repo to upload to)", "--push-to-hub");
  }
  if (repo !== undefined && !push) {
    throw new UsageError("is only used with --push-to-hub", "--output-repo");
  }
  const skip = str(f, "skip-rules");
  const skipRules = skip === undefined ? undefined : parseSkipRules(skip, "--skip-rules");
  const output = resolve(
    str(f, "output") ?? (push ? join(tmpdir(), `logitpack-lengths-${process.pid}.parquet`) : "lengths.parquet"),
  );
  checkWritableFile(output, "--output");

  const model = await resolveModel(ctx, { weights: false });
  const dataset = await resolveDataset(ctx);
  const columns = await dataset.source.columns();
  const shape = resolveShape(ctx, columns);
  const chatTemplate = str(f, "chat-template") ?? model.defaultTemplate;
  out.info(
    `Computing token lengths of ${dataset.spec} with the tokenizer of ${model.spec}${chatTemplate ? ` and the ${chatTemplate} template` : ""}`,
  );
  const t0 = performance.now();
  let lastDraw = 0;
  const result = await computeLengths({
    source: dataset.source,
    shape,
    encoder: {
      tokenizerDir: model.tokenizerDir,
      ...(chatTemplate ? { chatTemplate } : {}),
      ...(skipRules ? { skipRules } : {}),
    },
    numProc: numProc ?? Math.max(1, (await import("node:os")).availableParallelism()),
    invalidRows: "skip",
    flagOf: flagOfColumn(shape),
    onProgress: ({ rows, tokens }) => {
      const now = performance.now();
      if (now - lastDraw > 100) {
        lastDraw = now;
        const s = (now - t0) / 1000;
        out.status(`lengths  ${rows} rows  ${formatCount(tokens / Math.max(s, 1e-3))} tok/s  ${formatDuration(s)}`);
      }
      out.event({ event: "progress", rows, tokens });
    },
  });
  out.clearStatus();
  if (result.rows > 0 && result.extractTokens.every((x) => x <= 0)) {
    throw new CliError(
      `0 assistant tokens in all ${result.rows} examples: the chat template's {% generation %} markers never matched`,
      "check --chat-template and the input columns",
    );
  }
  mkdirSync(dirname(output), { recursive: true });
  writeLengthsParquet(output, result, { lengthCol });
  const seconds = (performance.now() - t0) / 1000;
  for (const bad of result.invalid.slice(0, 5)) {
    out.warn(`row ${bad.row} skipped: ${bad.message.replace(/^\[chat\] /, "")}`);
  }
  if (result.invalid.length > 5) {
    out.warn(`${result.invalid.length - 5} more rows skipped`);
  }
  let where = output;
  if (push && repo !== undefined) {
    const token = str(f, "token");
    const sink = await createSink({ hub: true, repo, ...(token ? { token } : {}) });
    await sink.prepare();
    const path = "data/train-00000-of-00001.parquet";
    await sink.put(path, readFileSync(output), `Add token lengths of ${dataset.spec} (${result.rows} rows)`);
    rmSync(output, { force: true });
    where = `${sink.location}/${path}`;
  }
  const summary = {
    event: "done",
    output: where,
    rows: result.rows,
    tokens: result.tokens,
    invalid: result.invalid.length,
    seconds,
  };
  out.data(summary, () => where);
  out.info(
    `Wrote the lengths of ${result.rows} examples (${formatCount(result.tokens)} tokens, ${result.invalid.length} skipped) in ${formatDuration(seconds)} to ${where}`,
  );
  out.info(
    `Next: logitpack extract${dataset.embedded ? "" : ` --dataset ${dataset.spec}`} --tokenized-dataset ${push ? repo : output}`,
  );
}
