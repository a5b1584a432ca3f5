import { type ColumnType, columnsOf, type ExtractionSettings } from "@logitpack/codec";
import { DATA_DIR } from "./names.js";
import type { Sink } from "./sink.js";

export interface DatasetCardOptions {
  layout: "nucleus" | "importance";
  /** Extraction settings (shown in the card; `model` names the teacher). */
  settings: ExtractionSettings;
  /** Repo id, for the load examples (default "YOUR_DATASET_ID"). */
  repoId?: string;
  /** Hub endpoint for the TypeScript example's URL (default https://huggingface.co). */
  hubUrl?: string;
  /** SPDX licence id for the front matter. */
  license?: string;
  /** Title (default: "Teacher logits of {model}"). */
  prettyName?: string;
}

/** Hugging Face `datasets` feature of a column type (`dataset_info.features` in the card). */
const FEATURE: Record<ColumnType, string> = {
  int32: "dtype: int32",
  binary: "dtype: binary",
  float32: "dtype: float32",
  float64: "dtype: float64",
  "list<uint16>": "sequence: uint16",
  "list<uint8>": "sequence: uint8",
  "list<float32>": "sequence: float32",
  "list<float64>": "sequence: float64",
};

const q = (s: string) => JSON.stringify(s);

/** YAML front matter: features matching the layout's schema, and `configs` pointing at `data/*.parquet`. */
export function cardFrontMatter(options: DatasetCardOptions): string {
  const model = typeof options.settings.model === "string" ? options.settings.model : undefined;
  const lines = ["---"];
  lines.push(`pretty_name: ${q(options.prettyName ?? (model ? `Teacher logits of ${model}` : "Teacher logits"))}`);
  if (options.license) {
    lines.push(`license: ${q(options.license)}`);
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
  lines.push("---");
  return lines.join("\n");
}

function settingsSection(settings: ExtractionSettings, layout: string): string {
  const rows = Object.keys(settings)
    .sort()
    .map((k) => `| \`${k}\` | \`${JSON.stringify(settings[k]).replace(/\|/g, "\\|")}\` |`);
  return [
    "## Extraction settings",
    "",
    "Every shard records these in its Parquet key-value metadata (`logitpack.settings`); a resumed run refuses to",
    "add rows made with other settings.",
    "",
    "| setting | value |",
    "| --- | --- |",
    `| \`mode\` | \`"${layout}"\` |`,
    ...rows,
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

function pythonSection(repoId: string, modelId: string): string {
  return `## Quick Start (Python, standalone)

\`\`\`python
from datasets import load_dataset
from transformers import AutoTokenizer
import numpy as np

# Load streaming dataset and tokenizer
ds = load_dataset("${repoId}", split="train", streaming=True)
tokenizer = AutoTokenizer.from_pretrained("${modelId}")
sample = next(iter(ds))

# Unpack indices (low 16 bits + packed 2-bit high bits)
def unpack_indices(low, high_bytes, counts):
    packed = np.frombuffer(high_bytes, dtype=np.uint8)
    high = np.stack([(packed >> i) & 0x03 for i in [0, 2, 4, 6]], axis=1).flatten()
    full = np.asarray(low, dtype=np.int32) | (high[:len(low)].astype(np.int32) << 16)
    result, offset = [], 0
    for c in counts:
        result.append(full[offset:offset+c])
        offset += c
    return result

# Dequantize logits
def dequantize(quantized, vmin, vmax):
    return (np.array(quantized, dtype=np.float32) / 65535) * (vmax - vmin) + vmin

# Hydrate sample: unpack all indices and slice logits
def hydrate_sample(sample):
    counts = sample["top_counts"]
    num_tokens = sample["num_tokens"]

    # Unpack nucleus (top-p) indices
    sample["top_indices"] = unpack_indices(
        sample["top_indices_low"], sample["top_indices_high"], counts
    )

    # Slice nucleus logits by counts
    flat_top = np.array(sample["top_logits_quantized"], dtype=np.uint16)
    sample["top_logits"] = []
    offset = 0
    for c in counts:
        sample["top_logits"].append(flat_top[offset:offset+c])
        offset += c

    # Unpack sampled indices (fixed stride per token)
    stride = len(sample["sampled_indices_low"]) // num_tokens
    sampled_counts = [stride] * num_tokens
    sample["sampled_indices"] = unpack_indices(
        sample["sampled_indices_low"], sample["sampled_indices_high"], sampled_counts
    )

    # Slice sampled logits
    flat_sampled = np.array(sample["sampled_logits_quantized"], dtype=np.uint16)
    sample["sampled_logits"] = [flat_sampled[i*stride:(i+1)*stride] for i in range(num_tokens)]

    return sample

# Print nucleus (top-p) logits for a token
def print_top_logits(sample, token_idx, tokenizer):
    indices = sample["top_indices"][token_idx]
    logits = dequantize(sample["top_logits"][token_idx], sample["top_min"][token_idx], sample["top_max"][token_idx])
    lse = sample["logsumexp"][token_idx]
    probs = np.exp(logits - lse) * 100  # Convert to percentage

    # Sort by descending logit
    order = np.argsort(logits)[::-1]

    print(f"=== Nucleus logits for token {token_idx} (logsumexp={lse:.4f}) ===")
    print(f"{'Rank':<6} {'Index':<8} {'Token':<20} {'Logit':<12} {'Prob %':<10}")
    print("-" * 60)
    for rank, i in enumerate(order):
        token_str = repr(tokenizer.decode([indices[i]]))[1:-1]  # Remove quotes
        if len(token_str) > 18:
            token_str = token_str[:15] + "..."
        print(f"{rank:<6} {indices[i]:<8} {token_str:<20} {logits[i]:<12.4f} {probs[i]:<10.4f}")
    print(f"\\nTotal nucleus probability mass: {probs.sum():.2f}%")

# Example usage
sample = hydrate_sample(sample)
print(f"Sample has {sample['num_tokens']} tokens\\n")
print_top_logits(sample, token_idx=0, tokenizer=tokenizer)
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
    `Shards are Parquet files under \`${DATA_DIR}/\`, named \`train-s{i}of{N}-{first index}-{last index}-{content hash}.parquet\` (one writer of a split run per \`s{i}of{N}\`). Each row is one example of the source dataset; \`index\` is its position there.`,
    "",
    alignmentSection(),
    schemaSection(options.layout),
    options.layout === "nucleus" ? pythonSection(repoId, typeof s.model === "string" ? s.model : "YOUR_MODEL_ID") : "",
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
  const text = renderDatasetCard({ ...options, repoId, hubUrl });
  if ((await sink.readText("README.md")) === text) {
    return { written: false, text };
  }
  await sink.put("README.md", new TextEncoder().encode(text), "Update the dataset card");
  return { written: true, text };
}
