import { existsSync, readFileSync } from "node:fs";
import { openLogitFile } from "@logitpack/codec";
import { renderDatasetCard, shardStats, writeDatasetCard } from "@logitpack/hub-stream";
import { DATASET_ARG, HUB_READ_FLAGS, openDatasetTarget } from "../internal/dataset-target.js";
import { CliError } from "../internal/errors.js";
import { bool, str } from "../internal/flags.js";
import type { CommandContext, CommandSpec } from "../internal/spec.js";

export const card: CommandSpec = {
  name: "card",
  summary: "write or refresh the dataset card (README.md) of a logits dataset",
  description:
    "Reads the layout and extraction settings from the first shard and writes README.md: YAML front matter (features matching the schema, configs pointing at data/*.parquet), token alignment, the schema, a standalone Python decoder, a TypeScript example and the settings. 'logitpack extract' writes it at the end of every run; use this after editing or merging shards, or to set a licence or title.",
  positionals: [DATASET_ARG],
  flags: {
    license: {
      type: "string",
      valueName: "SPDX",
      description: "licence of the dataset (e.g. apache-2.0)",
      group: "Card",
    },
    "card-extra": {
      type: "string",
      valueName: "TEXT|FILE.md",
      description: "extra Markdown for the card (how the data was chosen, a citation): the text, or a .md file",
      group: "Card",
    },
    "pretty-name": {
      type: "string",
      valueName: "TEXT",
      description: "title (default: Teacher logits of MODEL)",
      group: "Card",
    },
    print: { type: "boolean", description: "print the card on stdout instead of writing it", group: "Card" },
    ...HUB_READ_FLAGS,
  },
  examples: ["logitpack card logits-out --license apache-2.0", "logitpack card you/MegaScience-Q3-4B-Logits --print"],
  run: runCard,
};

async function runCard(ctx: CommandContext): Promise<void> {
  const { out } = ctx;
  const target = await openDatasetTarget(ctx);
  const files = await target.sink.list();
  const first = files[0];
  if (first === undefined) {
    throw new CliError(`${target.name}: no Parquet shards under data/: nothing to describe`);
  }
  const lf = await openLogitFile(await target.sink.source(first), { name: first.path });
  if (lf.layout === "nucleus-u8") {
    throw new CliError(`${first.path}: the seed-001 uint8 layout is read-only; no card is written for it`);
  }
  const license = str(ctx.flags, "license");
  const prettyName = str(ctx.flags, "pretty-name");
  const extra = str(ctx.flags, "card-extra");
  let extraText = extra;
  if (extra !== undefined && /\.(md|markdown|txt)$/i.test(extra.trim())) {
    if (!existsSync(extra.trim())) {
      throw new CliError(`--card-extra: no such file: ${extra.trim()}`);
    }
    extraText = readFileSync(extra.trim(), "utf8");
  }
  const options = {
    layout: lf.layout,
    settings: lf.info.settings,
    ...(target.kind === "hub" ? { repoId: target.name } : {}),
    ...(license ? { license } : {}),
    ...(prettyName ? { prettyName } : {}),
    ...(extraText ? { extraText } : {}),
  };
  if (bool(ctx.flags, "print")) {
    const text = renderDatasetCard({ ...(await shardStats(target.sink, options)), ...options });
    out.data({ event: "card", dataset: target.name, text }, () => text);
    return;
  }
  const { written } = await writeDatasetCard(target.sink, options);
  const where = target.kind === "folder" ? `${target.name}/README.md` : `README.md of ${target.sink.location}`;
  out.data({ event: "card", dataset: target.name, written, path: where }, () => undefined);
  out.info(written ? `Wrote ${where}` : `${where} is up to date`);
}
