import { UsageError } from "../internal/errors.js";
import { bool, str } from "../internal/flags.js";
import { INPUT_FLAGS } from "../internal/input-flags.js";
import { flagsToConfig, LENGTHS_OPTIONS, optionNamer } from "../internal/options.js";
import { formatCount, formatDuration } from "../internal/progress.js";
import type { CommandContext, CommandSpec } from "../internal/spec.js";
import type { LengthsEvent } from "../lib/events.js";
import { type LengthsConfig, runLengths } from "../lib/lengths.js";

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
      description:
        "tokenizer worker threads (they start after the first 2,000 rows, which this thread measures: a small dataset needs none)",
      default: "the number of cores",
      group: "Performance",
    },
  },
  examples: [
    "logitpack lengths --model ./Qwen3-4B --dataset ./MegaScience --chat-template qwen --user-col question --assistant-col answer --num-proc 16 --output lengths.parquet",
    "logitpack lengths --model ./Qwen3-4B --dataset MegaScience/MegaScience --chat-template ./qwen_chat_template.jinja --output-repo you/MegaScience-Lengths-Qwen3 --push-to-hub",
  ],
  run: lengthsCommand,
};

async function lengthsCommand(ctx: CommandContext): Promise<void> {
  const f = ctx.flags;
  const { out } = ctx;
  const push = bool(f, "push-to-hub");
  const repo = str(f, "output-repo");
  if (push && repo === undefined) {
    throw new UsageError("needs --output-repo (the Hub dataset repo to upload to)", "--push-to-hub");
  }
  if (repo !== undefined && !push) {
    throw new UsageError("is only used with --push-to-hub", "--output-repo");
  }
  const config = flagsToConfig(f, LENGTHS_OPTIONS) as LengthsConfig;
  const t0 = performance.now();
  let lastDraw = 0;
  const onEvent = (e: LengthsEvent) => {
    if (e.event === "lengths-progress") {
      const now = performance.now();
      if (now - lastDraw > 100) {
        lastDraw = now;
        const s = (now - t0) / 1000;
        out.status(`lengths  ${e.rows} rows  ${formatCount(e.tokens / Math.max(s, 1e-3))} tok/s  ${formatDuration(s)}`);
      }
    } else if (e.event === "notice") {
      out.info(e.message);
    } else if (e.event === "warning") {
      out.warn(e.message);
    }
    if (e.event !== "done") {
      out.event(e);
    }
  };
  out.info(`Computing token lengths of ${str(f, "dataset") ?? "the bundled sample dataset"}`);
  const r = await runLengths(config, { optionName: optionNamer(LENGTHS_OPTIONS), env: ctx.env, onEvent });
  out.clearStatus();
  out.data(r, () => r.output);
  out.info(
    `Wrote the lengths of ${r.rows} examples (${formatCount(r.tokens)} tokens, ${r.invalid} skipped) in ${formatDuration(r.seconds)} to ${r.output}`,
  );
  const dataset = str(f, "dataset");
  out.info(
    `Next: logitpack extract${dataset ? ` --dataset ${dataset}` : ""} --tokenized-dataset ${push ? repo : r.output}`,
  );
}
