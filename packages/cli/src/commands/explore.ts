import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { ChatEncoder, ChatTokenizer, Example } from "@logitpack/chat";
import type { Alignment, DatasetStats, FidelityReport, LoadedSample, LogitDataset } from "@logitpack/explore";
import type { DatasetSource } from "@logitpack/sampler";
import { CliError, UsageError } from "../internal/errors.js";
import { conflicts, int, str } from "../internal/flags.js";
import { formatCount, formatDuration } from "../internal/progress.js";
import type { CommandContext, CommandSpec, FlagSpec, PositionalSpec } from "../internal/spec.js";
import {
  EMBEDDED_DATASET_NAME,
  EMBEDDED_MODEL_NAME,
  embeddedDatasetPath,
  embeddedTokenizerDir,
} from "../lib/inputs.js";
import { checkWritableFile } from "../lib/writable.js";

const LOGITS_ARG: PositionalSpec = {
  name: "DATASET",
  description:
    "logits dataset: a folder or .parquet file, an http(s) URL, or a Hub dataset (owner/name, hf://datasets/owner/name@rev); default ./logits-out",
  optional: true,
};

const HUB: Record<string, FlagSpec> = {
  token: {
    type: "string",
    valueName: "TOKEN",
    description: "Hugging Face access token for private repos (default: HF_TOKEN)",
    group: "Hub",
  },
  revision: {
    type: "string",
    valueName: "REV",
    description: "Hub branch, tag or commit",
    default: "main",
    group: "Hub",
  },
};

const PICK: Record<string, FlagSpec> = {
  row: {
    type: "string",
    valueName: "N",
    description: "the sample at row N of the logits dataset",
    default: "0",
    group: "Sample",
  },
  index: {
    type: "string",
    valueName: "N",
    description: "the sample of source-dataset index N (the index column) instead of a row",
    group: "Sample",
  },
};

const ALIGN: Record<string, FlagSpec> = {
  dataset: {
    type: "string",
    valueName: "PATH|ID",
    description:
      "the source dataset the logits were extracted from: a local path or a Hub dataset id (default: the one recorded in the settings)",
    group: "Alignment",
  },
  split: {
    type: "string",
    valueName: "NAME",
    description: "split of the source dataset the extraction read (folders, Hub datasets; default: the recorded one)",
    default: "train",
    group: "Alignment",
  },
  config: {
    type: "string",
    valueName: "NAME",
    description: "config (subset) of the source dataset the extraction read",
    default: "the default config",
    group: "Alignment",
  },
  model: {
    type: "string",
    valueName: "PATH",
    description:
      "model folder with the tokenizer of the extraction (default: the recorded model, 'tiny' for the bundled one)",
    group: "Alignment",
  },
  "chat-template": {
    type: "string",
    valueName: "PATH|NAME",
    description: "template of the extraction (default: the one recorded in the dataset metadata)",
    group: "Alignment",
  },
  "top-k": {
    type: "string",
    valueName: "K",
    description: "predictions shown per token",
    default: "5",
    group: "Alignment",
  },
};

export const explore: CommandSpec = {
  name: "explore",
  summary: "inspect a logits dataset: info, a sample, statistics, alignment with the text, an HTML report",
  description:
    "Reads a dataset written by 'logitpack extract' (or by the Python tool) from a folder, a file, a URL or the Hub, by streaming and range reads.",
  flags: {},
  examples: [
    "logitpack explore info logits-out",
    "logitpack explore sample logits-out --row 0",
    "logitpack explore stats logits-out",
    "logitpack explore align logits-out --row 0",
    "logitpack explore report logits-out --row 0 --output report.html",
  ],
  run: async () => {
    throw new UsageError("needs a command: info, sample, stats, align, report");
  },
};

export const exploreInfo: CommandSpec = {
  name: "explore info",
  summary: "layout, rows, shards and extraction settings of a logits dataset",
  positionals: [LOGITS_ARG],
  flags: { ...HUB },
  examples: ["logitpack explore info logits-out", "logitpack explore info you/MegaScience-Q3-4B-Logits --json"],
  run: async (ctx) => {
    const ds = await openLogits(ctx);
    const info = ds.info();
    ctx.out.data({ event: "info", ...info }, () => {
      const s = ctx.out.style;
      const settings = Object.entries(info.settings)
        .filter(([k]) => k !== "chat" && k !== "input")
        .map(([k, v]) => `  ${k.padEnd(14)} ${typeof v === "string" ? v : JSON.stringify(v)}`);
      const shards = info.shards.slice(0, 10).map((x) => `  ${x.name}  ${x.rows} rows, ${x.rowGroups} row group(s)`);
      if (info.shards.length > 10) {
        shards.push(`  ... ${info.shards.length - 10} more`);
      }
      return [
        s.bold(info.name),
        `layout ${info.layout}, ${info.numRows} rows in ${info.numShards} shard(s)`,
        "",
        s.bold("settings"),
        ...settings,
        "",
        s.bold("shards"),
        ...shards,
      ].join("\n");
    });
  },
};

export const exploreSample: CommandSpec = {
  name: "explore sample",
  summary: "one sample: positions, nucleus sizes and masses; with --position, its stored distribution",
  positionals: [LOGITS_ARG],
  flags: {
    ...PICK,
    position: {
      type: "string",
      valueName: "T",
      description: "show the stored distribution (nucleus + sampled entries) of position T",
      group: "Sample",
    },
    "top-k": {
      type: "string",
      valueName: "K",
      description: "entries shown with --position",
      default: "10",
      group: "Sample",
    },
    fidelity: {
      type: "boolean",
      description:
        "run the model again on the sample's text and compare: KL(full || stored), nucleus mass captured, tail estimate error",
      group: "Fidelity",
    },
    dataset: ALIGN.dataset as FlagSpec,
    model: ALIGN.model as FlagSpec,
    "chat-template": ALIGN["chat-template"] as FlagSpec,
    ...HUB,
  },
  examples: [
    "logitpack explore sample logits-out --row 0",
    "logitpack explore sample logits-out --index 17 --position 3",
  ],
  run: async (ctx) => {
    const e = await import("@logitpack/explore");
    const { terminalOptions } = await import("@logitpack/explore/node");
    const ds = await openLogits(ctx);
    const loaded = await pickSample(ctx, ds);
    const position = int(ctx.flags, "position", { min: 0 });
    const info = e.sampleInfo(loaded.sample, { row: loaded.row, settings: loaded.settings });
    const term = terminalOptions(ctx.out.stdout, ctx.env);
    if (ctx.flags.fidelity === true) {
      const report = await fidelityOf(ctx, await sourceOf(ctx, ds, loaded), loaded);
      ctx.out.data({ event: "fidelity", ...(e.toJSONValue(report) as object) }, () => e.renderFidelity(report, term));
      return;
    }
    if (position !== undefined) {
      if (position >= loaded.sample.numTokens) {
        throw new UsageError(`sample ${loaded.sample.index} has ${loaded.sample.numTokens} positions`, "--position");
      }
      const k = int(ctx.flags, "top-k", { min: 1 }) ?? 10;
      const top = e.topPredictions(loaded.sample, position, k);
      const d = e.positionDistribution(loaded.sample, position);
      ctx.out.data(
        {
          event: "position",
          index: loaded.sample.index,
          row: loaded.row,
          position,
          logsumexp: d.logsumexp,
          nucleusCount: d.nucleusCount,
          sampledCount: d.sampledCount,
          top,
        },
        () =>
          [
            `Sample ${loaded.sample.index} (row ${loaded.row}), position ${position}: ${d.nucleusCount} nucleus + ${d.sampledCount} sampled entries, logsumexp ${d.logsumexp.toFixed(4)}`,
            ...top.map(
              (p, i) =>
                `  ${String(i + 1).padStart(3)}. id ${String(p.id).padStart(6)}  p ${p.prob.toFixed(5)}  ${p.source}`,
            ),
          ].join("\n"),
      );
      return;
    }
    ctx.out.data(
      { event: "sample", shard: loaded.shard, shardRow: loaded.shardRow, ...(e.toJSONValue(info) as object) },
      () => e.renderSampleInfo(info, term),
    );
  },
};

export const exploreStats: CommandSpec = {
  name: "explore stats",
  summary:
    "dataset statistics: nucleus-size histogram and quantiles, capped share, nucleus and tail mass, tokens per sample",
  positionals: [LOGITS_ARG],
  flags: {
    workers: {
      type: "string",
      valueName: "N",
      description: "worker threads (1: this thread only)",
      default: "the number of cores, at most 8",
      group: "Performance",
    },
    ...HUB,
  },
  examples: ["logitpack explore stats logits-out", "logitpack explore stats you/MegaScience-Q3-4B-Logits --json"],
  run: async (ctx) => {
    const e = await import("@logitpack/explore");
    const { datasetStatsParallel, terminalOptions } = await import("@logitpack/explore/node");
    const ds = await openLogits(ctx);
    const workers = int(ctx.flags, "workers", { min: 1, max: 64 });
    let last = 0;
    const stats: DatasetStats = await datasetStatsParallel(ds, {
      ...(workers !== undefined ? { workers } : {}),
      onProgress: ({ rows, tokens }) => {
        const now = performance.now();
        if (now - last > 100) {
          last = now;
          ctx.out.status(`stats  ${rows}/${ds.numRows} rows  ${formatCount(tokens)} tokens`);
        }
      },
    });
    ctx.out.clearStatus();
    ctx.out.data({ event: "stats", ...(e.toJSONValue(stats) as object) }, () =>
      e.renderStats(stats, terminalOptions(ctx.out.stdout, ctx.env)),
    );
    ctx.out.info(
      `${formatCount(stats.tokensPerSecond)} tokens/s over ${stats.workers} worker(s), ${formatDuration(stats.seconds)}`,
    );
  },
};

export const exploreAlign: CommandSpec = {
  name: "explore align",
  summary:
    "a sample lined up with its text: each assistant token coloured by its probability, with the top predictions",
  description:
    "Re-renders the source row with the template, tokenizer and skip rules of the extraction (recorded in the dataset), matches the extracted tokens 1:1 to the stored positions and shows, for each, the probability of the real token and the model's top predictions (seed 001's token analysis). A template or tokenizer that does not match is reported with what differs, never shown as a shifted table.",
  positionals: [LOGITS_ARG],
  flags: {
    ...PICK,
    ...ALIGN,
    "max-rows": {
      type: "string",
      valueName: "N",
      description: "rows of the token table",
      default: "40",
      group: "Alignment",
    },
    ...HUB,
  },
  examples: [
    "logitpack explore align logits-out --row 0",
    "logitpack explore align you/X-Logits --index 12 --dataset ./MegaScience --model ./Qwen3-4B",
  ],
  run: async (ctx) => {
    const e = await import("@logitpack/explore");
    const { terminalOptions } = await import("@logitpack/explore/node");
    const ds = await openLogits(ctx);
    const loaded = await pickSample(ctx, ds);
    const alignment = await alignLoaded(ctx, await sourceOf(ctx, ds, loaded), loaded);
    const maxRows = int(ctx.flags, "max-rows", { min: 1 }) ?? 40;
    ctx.out.data({ event: "align", ...(e.toJSONValue(alignment) as object) }, () =>
      e.renderAlignment(alignment, { ...terminalOptions(ctx.out.stdout, ctx.env), maxRows }),
    );
  },
};

export const exploreReport: CommandSpec = {
  name: "explore report",
  summary:
    "a self-contained HTML report of a sample (coloured tokens with hover predictions) and the dataset statistics",
  positionals: [LOGITS_ARG],
  flags: {
    ...PICK,
    output: {
      type: "string",
      short: "o",
      valueName: "FILE",
      description: "HTML file to write",
      default: "logitpack-report.html",
      group: "Report",
    },
    "no-align": {
      type: "boolean",
      description: "leave the aligned conversation out (no source dataset needed)",
      group: "Report",
    },
    fidelity: {
      type: "boolean",
      description: "run the model again on the sample and add the fidelity report (KL to the full distribution)",
      group: "Report",
    },
    ...ALIGN,
    ...HUB,
  },
  examples: ["logitpack explore report logits-out --row 0 --output report.html"],
  run: async (ctx) => {
    const e = await import("@logitpack/explore");
    const { datasetStatsParallel } = await import("@logitpack/explore/node");
    const output = resolve(str(ctx.flags, "output") ?? "logitpack-report.html");
    checkWritableFile(output, "--output");
    const ds = await openLogits(ctx);
    const loaded = await pickSample(ctx, ds);
    const info = e.sampleInfo(loaded.sample, { row: loaded.row, settings: loaded.settings });
    conflicts(ctx.flags, "no-align", "fidelity", "the fidelity report re-renders the source row too");
    let alignment: Alignment | undefined;
    let fidelity: FidelityReport | undefined;
    if (ctx.flags["no-align"] !== true) {
      const source = await sourceOf(ctx, ds, loaded);
      alignment = await alignLoaded(ctx, source, loaded);
      if (ctx.flags.fidelity === true) {
        fidelity = await fidelityOf(ctx, source, loaded);
      }
    }
    const stats = await datasetStatsParallel(ds, {});
    const html = e.renderHtmlReport({
      title: `${ds.name}: sample ${loaded.sample.index}`,
      sampleInfo: info,
      stats,
      ...(alignment ? { alignment } : {}),
      ...(fidelity ? { fidelity } : {}),
    });
    await mkdir(dirname(output), { recursive: true });
    await writeFile(output, html);
    ctx.out.data({ event: "report", output, bytes: Buffer.byteLength(html) }, () => undefined);
    ctx.out.info(`Wrote ${output} (open it in a browser; it needs no network)`);
  },
};

async function openLogits(ctx: CommandContext): Promise<LogitDataset> {
  const { loadLogitDataset } = await import("@logitpack/explore/node");
  const spec = ctx.positionals[0] ?? "logits-out";
  if (ctx.positionals[0] === undefined && !existsSync(spec)) {
    throw new CliError("DATASET: no ./logits-out here", "run 'logitpack extract' first, or name the dataset");
  }
  const token = str(ctx.flags, "token");
  const revision = str(ctx.flags, "revision");
  return loadLogitDataset(spec, { ...(token ? { token } : {}), ...(revision ? { revision } : {}) });
}

async function pickSample(ctx: CommandContext, ds: LogitDataset): Promise<LoadedSample> {
  conflicts(ctx.flags, "row", "index", "a sample is picked by row or by dataset index");
  const index = int(ctx.flags, "index", { min: 0 });
  if (index !== undefined) {
    return ds.findIndex(index);
  }
  const row = int(ctx.flags, "row", { min: 0 }) ?? 0;
  if (row >= ds.numRows) {
    throw new UsageError(`the dataset has ${ds.numRows} rows (0..${ds.numRows - 1})`, "--row");
  }
  return ds.sample(row);
}

interface SourceExample {
  encoder: ChatEncoder;
  example: Example;
  /** The model the tokenizer came from (`--model` or the recorded one). */
  model: string | undefined;
}

/** The encoder of the extraction and the source row of a loaded sample: tokenizer, template, dataset from flags or the metadata. */
async function sourceOf(ctx: CommandContext, ds: LogitDataset, loaded: LoadedSample): Promise<SourceExample> {
  const e = await import("@logitpack/explore");
  const { loadTokenizer, loadChatTemplate } = await import("@logitpack/chat/node");
  const { exampleFromRow } = await import("@logitpack/chat");
  const { openRowReader } = await import("@logitpack/sampler");
  const settings = loaded.settings;
  const shardInfo = ds.info();
  const meta = { keyValueMetadata: shardInfo.keyValueMetadata, settings };
  // tokenizer
  const modelFlag = str(ctx.flags, "model");
  const recordedModel = typeof settings.model === "string" ? settings.model : undefined;
  const model = modelFlag ?? recordedModel;
  let tokenizerDir: string;
  if (model === undefined) {
    throw new CliError("--model: the dataset records no model; pass the model folder of the extraction");
  } else if (model === "tiny" || model === EMBEDDED_MODEL_NAME) {
    tokenizerDir = embeddedTokenizerDir();
  } else if (existsSync(model)) {
    tokenizerDir = model;
  } else {
    throw new CliError(
      `--model: the tokenizer of ${model} is not a local folder`,
      "pass --model with the folder of the extraction's model",
    );
  }
  const tokenizer: ChatTokenizer = loadTokenizer(tokenizerDir);
  const templateFlag = str(ctx.flags, "chat-template");
  const overrides = templateFlag ? { template: loadChatTemplate(templateFlag, tokenizer) } : {};
  const encoder = e.encoderForDataset(tokenizer, meta, overrides);
  // source row
  const shape = e.inputShapeOf(meta);
  if (shape === undefined) {
    throw new CliError("the dataset records no input shape (logitpack.input)", "it was not written by logitpack");
  }
  const datasetFlag = str(ctx.flags, "dataset");
  const recorded = typeof settings.dataset === "string" ? settings.dataset : undefined;
  const spec = datasetFlag ?? recorded;
  if (spec === undefined) {
    throw new CliError("--dataset: the logits dataset records no source dataset; pass it");
  }
  const source = await openSourceDataset(ctx, spec, settings);
  const reader = await openRowReader(source);
  const [row] = await reader.read([loaded.sample.index]);
  await reader.close();
  if (row === undefined) {
    throw new CliError(`--dataset: ${spec} has no row ${loaded.sample.index}`);
  }
  return { encoder, example: exampleFromRow(row, shape, loaded.sample.index), model };
}

/** The source dataset of an alignment: the bundled one, a local path, or a Hub dataset (its split and config). */
async function openSourceDataset(
  ctx: CommandContext,
  spec: string,
  settings: Record<string, unknown>,
): Promise<DatasetSource> {
  const { openDataset } = await import("@logitpack/sampler");
  if (spec === EMBEDDED_DATASET_NAME) {
    return openDataset(embeddedDatasetPath());
  }
  // the split and config the extraction recorded, unless the flags say otherwise
  const labels = (settings.labels ?? {}) as { split?: unknown; config?: unknown };
  const split = str(ctx.flags, "split") ?? (typeof labels.split === "string" ? labels.split : undefined);
  const config = str(ctx.flags, "config") ?? (typeof labels.config === "string" ? labels.config : undefined);
  const pick = { ...(split ? { split } : {}), ...(config ? { config } : {}) };
  if (existsSync(spec)) {
    return openDataset(spec, pick);
  }
  if (/^[\w.-]+\/[\w.-]+$/.test(spec)) {
    // a Hub dataset: the same files the extraction read (its README configs, the split), from the cache or the Hub
    const { hubDatasets } = await import("../lib/inputs.js");
    const hub = hubDatasets(str(ctx.flags, "token"), (repo) =>
      ctx.out.info(`Downloading files of ${repo} into the Hugging Face cache`),
    );
    return openDataset(spec, { ...pick, hub });
  }
  throw new CliError(
    spec.startsWith("sha256:")
      ? "--dataset: the logits dataset records its source dataset by content (a hash of its files), not by path"
      : `--dataset: the source dataset ${spec} is neither a local path here nor a Hub dataset id`,
    "pass --dataset with the dataset the logits were extracted from",
  );
}

/** Aligns a loaded sample with its source row. */
async function alignLoaded(ctx: CommandContext, source: SourceExample, loaded: LoadedSample): Promise<Alignment> {
  const e = await import("@logitpack/explore");
  const topK = int(ctx.flags, "top-k", { min: 1, max: 100 }) ?? 5;
  return e.alignSample({
    encoder: source.encoder,
    example: source.example,
    sample: loaded.sample,
    topK,
    settings: loaded.settings,
  });
}

/** `--fidelity`: the full distributions recomputed with the model, compared with the stored sample. */
async function fidelityOf(ctx: CommandContext, source: SourceExample, loaded: LoadedSample): Promise<FidelityReport> {
  const { recomputeFidelity } = await import("../internal/fidelity.js");
  ctx.out.info(`Recomputing the full distributions of sample ${loaded.sample.index} with ${source.model}`);
  return recomputeFidelity({
    sample: loaded.sample,
    settings: loaded.settings,
    encoder: source.encoder,
    example: source.example,
    model: source.model,
    env: ctx.env,
  });
}
