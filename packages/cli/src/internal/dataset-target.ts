import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { createSink, type Sink } from "@logitpack/hub-stream";
import { CliError } from "./errors.js";
import { str } from "./flags.js";
import type { CommandContext, FlagSpec, PositionalSpec } from "./spec.js";

export const DATASET_ARG: PositionalSpec = {
  name: "DATASET",
  description: "a logits dataset: a folder written by 'logitpack extract' (default ./logits-out) or a Hub dataset id",
  optional: true,
};

export const HUB_READ_FLAGS: Record<string, FlagSpec> = {
  token: {
    type: "string",
    valueName: "TOKEN",
    description: "Hugging Face access token for private repos (default: HF_TOKEN, then the token file)",
    group: "Hub",
  },
};

export interface DatasetTarget {
  sink: Sink;
  kind: "folder" | "hub";
  /** What was asked for, for messages. */
  name: string;
}

/**
 * The dataset a command works on, as a sink: a local folder (the folder sink reads `data/*.parquet`) or, when no
 * such folder exists and the argument looks like `owner/name`, a Hub dataset repo (HF_ENDPOINT honoured).
 */
export async function openDatasetTarget(ctx: CommandContext, fallback = "logits-out"): Promise<DatasetTarget> {
  const spec = ctx.positionals[0] ?? fallback;
  if (existsSync(spec)) {
    if (!statSync(spec).isDirectory()) {
      throw new CliError(`DATASET: ${spec} is a file; pass the dataset folder (the one holding data/*.parquet)`);
    }
    return { sink: await createSink({ folder: resolve(spec) }), kind: "folder", name: spec };
  }
  const repo = spec.replace(/^hf:\/\/datasets\//, "").replace(/^datasets\//, "");
  if (/^[\w.-]+\/[\w.-]+$/.test(repo)) {
    const token = str(ctx.flags, "token");
    return { sink: await createSink({ hub: true, repo, ...(token ? { token } : {}) }), kind: "hub", name: repo };
  }
  throw new CliError(
    `DATASET: no such folder: ${spec}${ctx.positionals[0] === undefined ? " (run 'logitpack extract' first, or name the dataset)" : ""}`,
  );
}
