import { existsSync } from "node:fs";
import { UsageError } from "../internal/errors.js";
import { bool, has, num, str } from "../internal/flags.js";
import { INPUT_FLAGS } from "../internal/input-flags.js";
import { EXTRACT_OPTIONS, flagsToConfig, optionNamer } from "../internal/options.js";
import { ExtractRenderer, exitCodeOfResult } from "../internal/render-extract.js";
import type { CommandContext, CommandSpec } from "../internal/spec.js";
import { stopSignal } from "../internal/stop-signal.js";
import type { ExtractionConfig } from "../lib/config.js";
import { DEFAULT_OUTPUT } from "../lib/config.js";
import type { ExtractionEvent } from "../lib/events.js";
import { runExtraction } from "../lib/extraction.js";

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
    dtype: {
      type: "string",
      valueName: "DTYPE",
      description:
        "Hub ONNX repos: the variant to download and run (fp32, fp16, q4, q4f16, int8, uint8, bnb4, quantized: onnx/model_<dtype>.onnx)",
      default: "the best the repo has for the device (CPU: fp32, then q4, int8...; CUDA: fp16 first)",
      group: "Input",
    },
    "model-file": {
      type: "string",
      valueName: "PATH",
      description: "the ONNX file to run, inside the model folder or repo (e.g. onnx/decoder_model_merged.onnx)",
      default: "model.onnx or onnx/model.onnx (folders); --dtype (Hub repos)",
      group: "Input",
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
      description:
        "tokenizer worker threads when lengths are computed (they start after the first 2,000 rows, which this thread measures: a small dataset needs none)",
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
    license: {
      type: "string",
      valueName: "SPDX",
      description:
        "licence of the output dataset, for its card (e.g. apache-2.0; the source data's licence usually decides)",
      group: "Output",
    },
    "card-extra": {
      type: "string",
      valueName: "TEXT|FILE.md",
      description: "extra Markdown for the dataset card (how the data was chosen, a citation): the text, or a .md file",
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

/** Flags -> config in one pass; the output target is the one mapping the table cannot express. */
export function extractConfig(ctx: CommandContext): { config: ExtractionConfig; name: (option: string) => string } {
  const f = ctx.flags;
  const config = flagsToConfig(f, EXTRACT_OPTIONS) as ExtractionConfig & { output?: Record<string, unknown> };
  const overrides: Record<string, string> = {};
  if (bool(f, "push-to-hub") || has(f, "output-repo")) {
    if (has(f, "output-repo") && has(f, "output")) {
      throw new UsageError("--output and --output-repo cannot be used together with --push-to-hub: name the repo once");
    }
    const repo = str(f, "output-repo") ?? str(f, "output");
    if (repo === undefined) {
      throw new UsageError(
        "needs the Hub dataset repo: --output-repo owner/name (or --output owner/name)",
        "--push-to-hub",
      );
    }
    config.output = { ...config.output, hubRepo: repo };
    delete config.output.folder;
    overrides["output.hubRepo"] = has(f, "output-repo") ? "--output-repo" : "--output";
  } else {
    overrides["output.hubRepo"] = "--push-to-hub";
    // `--output owner/name` without --push-to-hub would silently write a local folder ./owner/name
    const output = str(f, "output");
    if (output !== undefined && /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(output) && !existsSync(output)) {
      throw new UsageError(
        `${output} looks like a Hub dataset repo, but --push-to-hub is not set: add --push-to-hub to write to the Hub, or pass ./${output} for a local folder`,
        "--output",
      );
    }
  }
  return { config, name: optionNamer(EXTRACT_OPTIONS, overrides) };
}

async function runExtract(ctx: CommandContext): Promise<number> {
  const { config, name } = extractConfig(ctx);
  const maxRuntimeMinutes = num(ctx.flags, "max-runtime-minutes", { min: 0, minExclusive: true });
  const renderer = new ExtractRenderer(ctx.out, {
    embedded: !has(ctx.flags, "dataset"),
    argv: ctx.argv,
    ...(maxRuntimeMinutes !== undefined ? { maxRuntimeMinutes } : {}),
  });
  const stop = stopSignal(ctx.out, maxRuntimeMinutes);
  try {
    const result = await runExtraction(config, {
      signal: stop.signal,
      optionName: name,
      env: ctx.env,
      onEvent: (e: ExtractionEvent) => renderer.on(e),
    });
    return exitCodeOfResult(result);
  } finally {
    renderer.finish();
    stop.dispose();
  }
}
