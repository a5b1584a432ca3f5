import { type ColumnType, columnsOf, type ExtractionSettings } from "@logitpack/codec";
import { shardDatasetNbytes } from "./dataset-size.js";
import { DATA_DIR } from "./names.js";
import { mapLimit, openSinkFile } from "./scan.js";
import type { Sink } from "./sink.js";

export interface DatasetCardOptions {
  layout: "nucleus" | "importance";
  /** Extraction settings (shown in the card; `model` names the teacher). */
  settings: ExtractionSettings;
  /** Repo id, for the load examples (default "YOUR_DATASET_ID"). */
  repoId?: string;
  /** Hub endpoint for the TypeScript example's URL (default https://huggingface.co). */
  hubUrl?: string;
  /** SPDX licence id (or a Hub licence id such as `other`) for the front matter. */
  license?: string;
  /** Title (default: "Teacher logits of {model}"). */
  prettyName?: string;
  /** Languages of the text (ISO 639-1 codes, e.g. `en`), for the front matter. */
  language?: readonly string[];
  /** Hub task categories (default `text-generation`). */
  taskCategories?: readonly string[];
  /**
   * Hub ids of the datasets the rows come from (`source_datasets`). Default: the settings' `dataset` when it is a
   * Hub id (`owner/name`).
   */
  sourceDatasets?: readonly string[];
  /**
   * The tokenizer to decode token ids with, as an `AutoTokenizer.from_pretrained` id. Default: the teacher's id when
   * `model` is a Hub id; the Qwen3 tokenizer for the embedded tiny model; none for a local model folder.
   */
  tokenizerId?: string;
  /** Rows of the train split (`splits` and `size_categories`). `writeDatasetCard` counts them when not given. */
  numExamples?: number;
  /** Bytes of the Parquet shards (`download_size`). `writeDatasetCard` sums them when not given. */
  downloadSize?: number;
  /**
   * Bytes of the dataset in memory as Arrow (`dataset_size`, `splits[].num_bytes`), as `datasets`' `push_to_hub`
   * computes them (see `dataset-size.ts`). `writeDatasetCard` computes them from the shards when not given (reading
   * their list and binary columns); `renderDatasetCard` leaves them out when not given.
   */
  datasetSize?: number;
  /**
   * `datasets` bytes of shards already known, by path (the writer's own shards: `rowsDatasetNbytes`), so that
   * `writeDatasetCard` reads back only the others.
   */
  shardNbytes?: ReadonlyMap<string, number>;
  /** Extra Markdown added to the card after the description (a citation, how the source was filtered, ...). */
  extraText?: string;
}

/** The embedded demo teacher's tokenizer on the Hub (the Qwen3 vocabulary). */
const EMBEDDED_TOKENIZERS: Record<string, string> = {
  "embedded:tiny-qwen3": "Qwen/Qwen3-0.6B",
  "embedded:tiny-qwen3-learned": "Qwen/Qwen3-0.6B",
};

/** A Hub repo id (`owner/name`, optionally `@revision`), not a path. */
export function isHubId(s: string): boolean {
  return (
    /^[A-Za-z0-9][\w.-]*\/[\w.-]+(@[\w./-]+)?$/.test(s) && !s.startsWith(".") && !/\.(jsonl?|parquet|csv)$/i.test(s)
  );
}

/** The id to pass to `AutoTokenizer.from_pretrained`, or undefined when the run used a local tokenizer. */
export function cardTokenizerId(options: Pick<DatasetCardOptions, "settings" | "tokenizerId">): string | undefined {
  if (options.tokenizerId !== undefined) {
    return options.tokenizerId;
  }
  const model = options.settings.model;
  if (typeof model !== "string") {
    return undefined;
  }
  return EMBEDDED_TOKENIZERS[model] ?? (isHubId(model) ? model.replace(/@.*$/, "") : undefined);
}

/** The Hub's `size_categories` bucket of a row count. */
export function sizeCategory(n: number): string {
  const buckets: [number, string][] = [
    [1e3, "n<1K"],
    [1e4, "1K<n<10K"],
    [1e5, "10K<n<100K"],
    [1e6, "100K<n<1M"],
    [1e7, "1M<n<10M"],
    [1e8, "10M<n<100M"],
    [1e9, "100M<n<1B"],
    [1e10, "1B<n<10B"],
    [1e11, "10B<n<100B"],
    [1e12, "100B<n<1T"],
  ];
  for (const [limit, name] of buckets) {
    if (n < limit) {
      return name;
    }
  }
  return "n>1T";
}

/**
 * Hugging Face `datasets` feature of a column type (`dataset_info.features` in the card), in the syntax `datasets`
 * writes today (`list: uint16`; the older `sequence:` form is what `Sequence` wrote before datasets 4).
 */
const FEATURE: Record<ColumnType, string> = {
  int32: "dtype: int32",
  binary: "dtype: binary",
  float32: "dtype: float32",
  float64: "dtype: float64",
  "list<uint16>": "list: uint16",
  "list<uint8>": "list: uint8",
  "list<float32>": "list: float32",
  "list<float64>": "list: float64",
};

const q = (s: string) => JSON.stringify(s);

function sourceDatasetsOf(options: DatasetCardOptions): readonly string[] {
  if (options.sourceDatasets !== undefined) {
    return options.sourceDatasets;
  }
  const d = options.settings.dataset;
  return typeof d === "string" && isHubId(d) ? [d.replace(/@.*$/, "")] : [];
}

/**
 * YAML front matter: licence, language, task and size categories, source datasets, `configs` pointing at
 * `data/*.parquet` (split `train`), and `dataset_info` (features matching the layout's schema, splits with their
 * row counts, sizes).
 */
export function cardFrontMatter(options: DatasetCardOptions): string {
  const model = typeof options.settings.model === "string" ? options.settings.model : undefined;
  const lines = ["---"];
  lines.push(`pretty_name: ${q(options.prettyName ?? (model ? `Teacher logits of ${model}` : "Teacher logits"))}`);
  if (options.license) {
    lines.push(`license: ${q(options.license)}`);
  }
  if (options.language && options.language.length > 0) {
    lines.push("language:", ...options.language.map((l) => `- ${q(l)}`));
  }
  lines.push("task_categories:", ...(options.taskCategories ?? ["text-generation"]).map((t) => `- ${q(t)}`));
  if (options.numExamples !== undefined) {
    lines.push("size_categories:", `- ${q(sizeCategory(options.numExamples))}`);
  }
  const sources = sourceDatasetsOf(options);
  if (sources.length > 0) {
    lines.push("source_datasets:", ...sources.map((d) => `- ${q(d)}`));
  }
  lines.push("tags:", "- knowledge-distillation", "- logits", "- logitpack");
  lines.push(
    "configs:",
    "- config_name: default",
    "  data_files:",
    "  - split: train",
    `    path: ${DATA_DIR}/*.parquet`,
  );
  lines.push("dataset_info:", "  features:");
  for (const col of columnsOf(options.layout)) {
    lines.push(`  - name: ${col.name}`, `    ${FEATURE[col.type]}`);
  }
  if (options.numExamples !== undefined) {
    lines.push("  splits:", "  - name: train");
    if (options.datasetSize !== undefined) {
      lines.push(`    num_bytes: ${options.datasetSize}`);
    }
    lines.push(`    num_examples: ${options.numExamples}`);
  }
  if (options.downloadSize !== undefined) {
    lines.push(`  download_size: ${options.downloadSize}`);
  }
  if (options.datasetSize !== undefined) {
    lines.push(`  dataset_size: ${options.datasetSize}`);
  }
  lines.push("---");
  return lines.join("\n");
}

/** A local file system path (never published as is): absolute, relative, home or a Windows drive. */
function isLocalPath(s: string): boolean {
  return /^(\/|\.\.?[\\/]|~[\\/]|[A-Za-z]:[\\/])/.test(s) || s === "." || s === "..";
}

function baseName(s: string): string {
  const parts = s.split(/[\\/]/).filter((x) => x !== "");
  return parts[parts.length - 1] ?? s;
}

/** One settings value as table text: local paths by their last component, long values summarised. */
function settingText(value: unknown): string {
  if (typeof value === "string" && isLocalPath(value)) {
    return `local folder or file \`${baseName(value)}\``;
  }
  const json = JSON.stringify(value) ?? "null";
  if (json.length > 160) {
    return `\`${json.slice(0, 120).replace(/\|/g, "\\|")}…\` (${json.length} characters)`;
  }
  return `\`${json.replace(/\|/g, "\\|")}\``;
}

/** Rows of the settings table: `chat` as its parts (the template by name and hash, not its source). */
function settingRows(settings: ExtractionSettings, layout: string): [string, string][] {
  const rows: [string, string][] = [["mode", settingText(typeof settings.mode === "string" ? settings.mode : layout)]];
  for (const key of Object.keys(settings).sort()) {
    const value = settings[key];
    if (key === "mode") {
      continue;
    }
    if (key === "chat" && value !== null && typeof value === "object" && !Array.isArray(value)) {
      const chat = value as Record<string, unknown>;
      for (const k of Object.keys(chat).sort()) {
        const v = chat[k];
        if (k === "template" && v !== null && typeof v === "object") {
          const t = v as { name?: unknown; source?: unknown };
          rows.push([
            "chat.template",
            `${settingText(t.name ?? "custom")}${typeof t.source === "string" ? ` (${t.source.length} characters; \`templateHash\` is its sha256)` : ""}`,
          ]);
        } else {
          rows.push([`chat.${k}`, settingText(v)]);
        }
      }
      continue;
    }
    rows.push([key, settingText(value)]);
  }
  return rows;
}

function settingsSection(settings: ExtractionSettings, layout: string): string {
  return [
    "## Extraction settings",
    "",
    "Every shard records these in its Parquet key-value metadata (`logitpack.settings`, in full); a resumed run",
    "refuses to add rows made with other settings.",
    "",
    "| setting | value |",
    "| --- | --- |",
    ...settingRows(settings, layout).map(([k, v]) => `| \`${k}\` | ${v} |`),
    "",
  ].join("\n");
}

function alignmentSection(): string {
  return `## Token Alignment

**Important**: Logits are only extracted for **assistant response tokens**. The token indices in this dataset are shifted relative to the full tokenized conversation.

For example, given this conversation:
\`\`\`
<|im_start|>user
What is 2+2?<|im_end|>
<|im_start|>assistant
The answer is 4.<|im_end|>
\`\`\`

In the extracted dataset:
- \`token_idx=0\` corresponds to "The" (first assistant token)
- \`token_idx=1\` corresponds to " answer"
- \`num_tokens\` = total assistant tokens only

The logits at position \`i\` represent the model's prediction **for** token \`i\` (i.e., the distribution the model used to generate that token). Use the **same chat template** as the extraction (its hash is in the settings below) to line tokens up with text.
`;
}

function schemaSection(layout: "nucleus" | "importance"): string {
  const rows = columnsOf(layout).map((c) => `| \`${c.name}\` | \`${c.type}\` |`);
  const notes =
    layout === "nucleus"
      ? `- Token ids are split into \`*_indices_low\` (low 16 bits, uint16) and \`*_indices_high\` (2 high bits, packed four per byte, low bits first): \`id = low | (high << 16)\`, for vocabularies up to 262,144.
- Logits are quantized per position to uint16 with that position's \`*_min\`/\`*_max\`: \`logit = q / 65535 * (max - min) + min\`.
- \`top_counts[t]\` is the nucleus size of position \`t\`; the sampled tail has the same number of entries at every position (\`len(sampled_indices_low) / num_tokens\`).
- \`logsumexp[t]\` is computed over the **full vocabulary** in double precision, so \`prob = exp(logit - logsumexp)\` is exact up to quantization.`
      : `- Per position, \`is_counts[t]\` unique token ids were drawn from the proposal \`q = softmax(logits / temperature)\` over \`rounds\` draws; \`is_draws\` says how often each was drawn.
- Token ids and quantized logits are stored as in the nucleus layout (\`is_indices_low\`/\`is_indices_high\`, uint16 with per-position \`is_min\`/\`is_max\`).
- \`logsumexp\` and \`logsumexp_t\` are the full-vocabulary normalizers of the logits and of \`logits / temperature\`; the importance weight of an entry is \`count * p / q\`.`;
  return ["## Schema", "", "| column | type |", "| --- | --- |", ...rows, "", notes, ""].join("\n");
}

const PY_COMMON = String.raw`import numpy as np
from datasets import load_dataset

DATASET = "@@DATASET@@"  # the Hub dataset id, or a local folder holding this README.md and data/
TOKENIZER = @@TOKENIZER@@

ds = load_dataset(DATASET, split="train", streaming=True)
sample = next(iter(ds))

# Token ids are printed as text when transformers and the tokenizer are available, else as ids.
tokenizer = None
if TOKENIZER is not None:
    try:
        from transformers import AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained(TOKENIZER)
    except Exception as error:  # not installed, offline, ...
        print(f"(token ids only: {type(error).__name__})")

def token_text(token_id):
    if tokenizer is None:
        return f"<{int(token_id)}>"
    text = repr(tokenizer.decode([int(token_id)]))[1:-1]
    return text if len(text) <= 18 else text[:15] + "..."

# Token ids: low 16 bits (uint16) + 2 high bits packed four per byte, low bits first
def unpack_indices(low, high_bytes):
    low = np.asarray(low, dtype=np.int64)
    packed = np.frombuffer(high_bytes, dtype=np.uint8)
    high = np.stack([(packed >> s) & 0x03 for s in (0, 2, 4, 6)], axis=1).reshape(-1)[: len(low)]
    return low | (high.astype(np.int64) << 16)

# Logits: uint16 per entry, scaled by the position's min/max
def dequantize(quantized, vmin, vmax):
    return np.asarray(quantized, dtype=np.float64) / 65535 * (vmax - vmin) + vmin

def split_by(values, counts):
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return [values[starts[t] : starts[t + 1]] for t in range(len(counts))]
`;

const PY_NUCLEUS = String.raw`
# Hydrate a row: per position, the nucleus and the sampled tail as (ids, logits)
def hydrate_sample(sample):
    n = sample["num_tokens"]
    counts = np.asarray(sample["top_counts"], dtype=np.int64)
    top_ids = split_by(unpack_indices(sample["top_indices_low"], sample["top_indices_high"]), counts)
    top_q = split_by(np.asarray(sample["top_logits_quantized"], dtype=np.uint16), counts)
    sample["top_indices"] = top_ids
    sample["top_logits"] = [dequantize(top_q[t], sample["top_min"][t], sample["top_max"][t]) for t in range(n)]
    stride = len(sample["sampled_indices_low"]) // n if n else 0
    strides = np.full(n, stride, dtype=np.int64)
    sampled_ids = split_by(unpack_indices(sample["sampled_indices_low"], sample["sampled_indices_high"]), strides)
    sampled_q = split_by(np.asarray(sample["sampled_logits_quantized"], dtype=np.uint16), strides)
    sample["sampled_indices"] = sampled_ids
    sample["sampled_logits"] = [
        dequantize(sampled_q[t], sample["sampled_min"][t], sample["sampled_max"][t]) for t in range(n)
    ]
    return sample

# Print nucleus (top-p) logits for a token
def print_top_logits(sample, token_idx):
    indices = sample["top_indices"][token_idx]
    logits = sample["top_logits"][token_idx]
    lse = sample["logsumexp"][token_idx]
    probs = np.exp(logits - lse) * 100  # percent
    order = np.argsort(logits)[::-1]
    print(f"=== Nucleus logits for token {token_idx} (logsumexp={lse:.4f}) ===")
    print(f"{'Rank':<6} {'Index':<8} {'Token':<20} {'Logit':<12} {'Prob %':<10}")
    print("-" * 60)
    for rank, i in enumerate(order):
        print(f"{rank:<6} {indices[i]:<8} {token_text(indices[i]):<20} {logits[i]:<12.4f} {probs[i]:<10.4f}")
    print(f"\nTotal nucleus probability mass: {probs.sum():.2f}%")

# Print sampled logits for a token
def print_sampled_logits(sample, token_idx):
    indices = sample["sampled_indices"][token_idx]
    logits = sample["sampled_logits"][token_idx]
    lse = sample["logsumexp"][token_idx]
    probs = np.exp(logits - lse) * 100  # percent
    order = np.argsort(logits)[::-1]
    print(f"=== Sampled logits for token {token_idx} (logsumexp={lse:.4f}) ===")
    print(f"{'#':<6} {'Index':<8} {'Token':<20} {'Logit':<12} {'Prob %':<10}")
    print("-" * 60)
    for rank, i in enumerate(order):
        print(f"{rank:<6} {indices[i]:<8} {token_text(indices[i]):<20} {logits[i]:<12.4f} {probs[i]:<10.6f}")
    print(f"\nTotal sampled probability mass: {probs.sum():.6f}%")

# Example usage
sample = hydrate_sample(sample)
print(f"Sample {sample['index']} has {sample['num_tokens']} tokens\n")
print_top_logits(sample, token_idx=0)
print()
print_sampled_logits(sample, token_idx=0)
`;

const PY_IMPORTANCE = String.raw`
TEMPERATURE = @@TEMPERATURE@@  # the proposal temperature of the extraction

# Hydrate a row: per position, the drawn tokens as (ids, logits, draws)
def hydrate_sample(sample):
    n = sample["num_tokens"]
    counts = np.asarray(sample["is_counts"], dtype=np.int64)
    ids = split_by(unpack_indices(sample["is_indices_low"], sample["is_indices_high"]), counts)
    q = split_by(np.asarray(sample["is_logits_quantized"], dtype=np.uint16), counts)
    sample["is_indices"] = ids
    sample["is_logits"] = [dequantize(q[t], sample["is_min"][t], sample["is_max"][t]) for t in range(n)]
    sample["is_draw_counts"] = split_by(np.asarray(sample["is_draws"], dtype=np.int64), counts)
    return sample

# Print the drawn tokens of a position: teacher probability p, proposal probability q, importance weight
def print_drawn_logits(sample, token_idx):
    indices = sample["is_indices"][token_idx]
    logits = sample["is_logits"][token_idx]
    draws = sample["is_draw_counts"][token_idx]
    p = np.exp(logits - sample["logsumexp"][token_idx])
    q = np.exp(logits / TEMPERATURE - sample["logsumexp_t"][token_idx])
    weights = draws * p / q
    weights = weights / weights.sum()
    order = np.argsort(logits)[::-1]
    print(f"=== Drawn tokens for token {token_idx} ({int(draws.sum())} draws) ===")
    print(f"{'Rank':<6} {'Index':<8} {'Token':<20} {'Logit':<12} {'Draws':<6} {'p %':<10} {'Weight':<8}")
    print("-" * 76)
    for rank, i in enumerate(order):
        print(
            f"{rank:<6} {indices[i]:<8} {token_text(indices[i]):<20} {logits[i]:<12.4f} {draws[i]:<6} "
            f"{p[i] * 100:<10.4f} {weights[i]:<8.4f}"
        )
    print(f"\nTeacher probability of the drawn tokens: {p.sum() * 100:.2f}%")

# Example usage
sample = hydrate_sample(sample)
print(f"Sample {sample['index']} has {sample['num_tokens']} tokens\n")
print_drawn_logits(sample, token_idx=0)
`;

function pythonSection(
  layout: "nucleus" | "importance",
  repoId: string,
  tokenizerId: string | undefined,
  settings: ExtractionSettings,
): string {
  const tokenizer =
    tokenizerId === undefined
      ? "None  # the run used a local tokenizer: put its folder or Hub id here"
      : JSON.stringify(tokenizerId);
  const temperature = typeof settings.temperature === "number" ? String(settings.temperature) : "1.0";
  const code = (PY_COMMON + (layout === "nucleus" ? PY_NUCLEUS : PY_IMPORTANCE))
    .replace("@@DATASET@@", () => repoId)
    .replace("@@TOKENIZER@@", () => tokenizer)
    .replace("@@TEMPERATURE@@", () => temperature);
  return `## Quick Start (Python, standalone)

Needs \`datasets\` and \`numpy\` (\`pip install datasets numpy\`); token ids are shown as text when \`transformers\` can load ${tokenizerId === undefined ? "the tokenizer" : `the tokenizer \`${tokenizerId}\``}.

\`\`\`python
${code.trimEnd()}
\`\`\`

> **Note**: The \`logsumexp\` values are computed over the **full vocabulary** during extraction. This allows accurate probability reconstruction: \`prob = exp(logit - logsumexp)\`. Without it, probabilities from partial logits wouldn't sum correctly.
`;
}

/** The TypeScript example of the card (plain JavaScript syntax, so it also runs as an .mjs file). */
export function typescriptExample(fileUrl: string): string {
  return `import { openLogitFile, positionIds, positionProbs, urlSource } from "@logitpack/codec";

// Range reads: only the footer and the row group of the sample are fetched.
const url = "${fileUrl}";
const headers = process.env.HF_TOKEN ? { Authorization: \`Bearer \${process.env.HF_TOKEN}\` } : {};
const file = await openLogitFile(await urlSource(url, { headers }));
console.log(\`\${file.numRows} rows, layout \${file.info.layout}, settings \${JSON.stringify(file.info.settings)}\`);

const sample = await file.sample(0);
const t = 0; // first assistant token
const entries = sample.layout === "importance" ? sample.drawn : sample.top;
const ids = positionIds(entries, t);
const probs = positionProbs(entries, t, sample.logsumexp[t], sample.levels);
let mass = 0;
for (let j = 0; j < ids.length; j++) {
  mass += probs[j];
}
console.log(\`example \${sample.index}: \${sample.numTokens} tokens; token 0 has \${ids.length} entries, top id \${ids[0]}, mass \${mass.toFixed(4)}\`);

// Whole file, batch by batch (one Parquet row group each), as flat typed arrays:
let tokens = 0;
for await (const batch of file.batches()) {
  tokens += batch.rowOffsets[batch.numRows] - batch.rowOffsets[0];
}
console.log(\`\${tokens} tokens in the file\`);`;
}

function typescriptSection(fileUrl: string): string {
  return `## Quick Start (TypeScript)

With [\`@logitpack/codec\`](https://www.npmjs.com/package/@logitpack/codec) (Node >= 20.19, ESM):

\`\`\`ts
${typescriptExample(fileUrl)}
\`\`\`
`;
}

function tokenizerLine(options: DatasetCardOptions): string {
  const id = cardTokenizerId(options);
  const model = options.settings.model;
  if (id !== undefined) {
    return `Token ids are ids of the tokenizer \`${id}\`${typeof model === "string" && model in EMBEDDED_TOKENIZERS ? ` (the Qwen3 vocabulary of the embedded demo teacher \`${model}\`)` : ""}: decode them with \`AutoTokenizer.from_pretrained(${JSON.stringify(id)})\`.`;
  }
  return "Token ids are ids of the teacher's own tokenizer (the run used a local model folder): decode them with that tokenizer.";
}

/** The dataset card: YAML front matter, then what seed 003 explains, a TypeScript example and the settings. */
export function renderDatasetCard(options: DatasetCardOptions): string {
  const s = options.settings;
  const model = typeof s.model === "string" ? s.model : "[MODEL_NAME]";
  const repoId = options.repoId ?? "YOUR_DATASET_ID";
  const hubUrl = options.hubUrl ?? "https://huggingface.co";
  const fileUrl = `${hubUrl}/datasets/${repoId}/resolve/main/${DATA_DIR}/FILE.parquet`;
  const topP = typeof s.topP === "number" ? s.topP : 0.98;
  const intro =
    options.layout === "nucleus"
      ? `This dataset contains compressed token-level logits extracted from **${model}** using nucleus sampling. For each assistant token, it stores:

- **Nucleus logits**: Top tokens covering ~${Math.round(topP * 100)}% probability mass (variable size, up to ${typeof s.topPMax === "number" ? s.topPMax : 100})
- **Sampled logits**: ${typeof s.sampledN === "number" ? s.sampledN : 24} randomly sampled tokens from the remaining vocabulary
- **LogSumExp**: For accurate probability reconstruction
`
      : `This dataset contains token-level logits extracted from **${model}** by importance sampling: for each assistant token, ${typeof s.rounds === "number" ? s.rounds : "several"} draws from the teacher's distribution at temperature ${typeof s.temperature === "number" ? s.temperature : "T"}, with the drawn tokens' logits, draw counts and the full-vocabulary normalizers.
`;
  return [
    cardFrontMatter(options),
    "",
    "# Dataset Card",
    "",
    intro,
    tokenizerLine(options),
    "",
    ...(options.extraText?.trim() ? [options.extraText.trim(), ""] : []),
    `Shards are Parquet files under \`${DATA_DIR}/\`, named \`train-s{i}of{N}-{first index}-{last index}-{content hash}.parquet\` (one writer of a split run per \`s{i}of{N}\`). Each row is one example of the source dataset; \`index\` is its position there.`,
    "",
    alignmentSection(),
    schemaSection(options.layout),
    pythonSection(options.layout, repoId, cardTokenizerId(options), s),
    typescriptSection(fileUrl),
    settingsSection(s, options.layout),
  ].join("\n");
}

/** Write `README.md` into the sink (skipped when it already has this exact content). */
export async function writeDatasetCard(
  sink: Sink,
  options: DatasetCardOptions,
): Promise<{ written: boolean; text: string }> {
  const repoId = options.repoId ?? ("repoId" in sink && typeof sink.repoId === "string" ? sink.repoId : undefined);
  const hubUrl = options.hubUrl ?? ("hubUrl" in sink && typeof sink.hubUrl === "string" ? sink.hubUrl : undefined);
  const counted = await shardStats(sink, options);
  const text = renderDatasetCard({ ...counted, ...options, repoId, hubUrl } as DatasetCardOptions);
  if ((await sink.readText("README.md")) === text) {
    return { written: false, text };
  }
  await sink.put("README.md", new TextEncoder().encode(text), "Update the dataset card");
  return { written: true, text };
}

/**
 * Row count (`numExamples`), Parquet bytes (`downloadSize`) and `datasets` bytes (`datasetSize`) of the sink's shards,
 * for what `options` does not give (what `writeDatasetCard` adds; for `renderDatasetCard` of the same card).
 */
export async function shardStats(
  sink: Sink,
  options: DatasetCardOptions,
): Promise<{ numExamples?: number; downloadSize?: number; datasetSize?: number }> {
  if (options.numExamples !== undefined && options.downloadSize !== undefined && options.datasetSize !== undefined) {
    return {};
  }
  const files = await sink.list();
  if (files.length === 0) {
    return {};
  }
  // `download_size`: what `datasets` reports for these files (`load_dataset`'s `info.download_size`, and what
  // `push_to_hub` writes for the Parquet files it uploads): the bytes of the Parquet files.
  const downloadSize = files.reduce((n, f) => n + f.size, 0);
  const stats = await mapLimit(files, 4, async (f) => {
    const file = await openSinkFile(sink, f);
    const known = options.shardNbytes?.get(f.path);
    return {
      rows: file.numRows,
      bytes: options.datasetSize !== undefined ? undefined : (known ?? (await shardDatasetNbytes(file))),
    };
  });
  const sizes = stats.map((s) => s.bytes);
  const datasetSize = sizes.every((b) => b !== undefined) ? sizes.reduce((n, b) => n + b, 0) : undefined;
  return {
    numExamples: stats.reduce((n, s) => n + s.rows, 0),
    downloadSize,
    ...(datasetSize !== undefined && options.datasetSize === undefined ? { datasetSize } : {}),
  };
}
