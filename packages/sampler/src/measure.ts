import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  ChatEncoder,
  type ChatEncoderMetadata,
  ChatError,
  type ChatTokenizer,
  exampleFromRow,
  type InputShape,
  parseSkipRules,
  type SkipRules,
} from "@logitpack/chat";
import { loadChatTemplate, loadTokenizer } from "@logitpack/chat/node";

/** How to build the encoder, as plain data (it is sent to worker threads, and recorded in metadata). */
export interface EncoderSpec {
  /** Local folder with tokenizer.json + tokenizer_config.json (a Hub model is downloaded first by the caller). */
  tokenizerDir: string;
  /** `--chat-template` value: a built-in name, a file path or a template string; undefined: the tokenizer's. */
  chatTemplate?: string;
  /** Skip rules (a preset name or the object); default none. */
  skipRules?: SkipRules | string;
  /** Extra template variables (`enable_thinking`, ...). */
  templateKwargs?: Record<string, unknown>;
  /** Base-model shapes: add BOS/EOS (default true). */
  addSpecialTokens?: boolean;
}

/** The files a tokenizer folder is read from (`loadTokenizer`). */
const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "chat_template.json"];
let lastTokenizer: { key: string; tokenizer: ChatTokenizer } | undefined;

/** What identifies a tokenizer folder's content: its path and each file's size and modification time. */
function tokenizerKey(dir: string): string {
  const parts = [resolve(dir)];
  for (const f of TOKENIZER_FILES) {
    const s = statSync(join(dir, f), { throwIfNoEntry: false });
    parts.push(s === undefined ? `${f}:-` : `${f}:${s.size}:${s.mtimeMs}`);
  }
  return parts.join("|");
}

/**
 * The tokenizer of `dir`, reused while its files are unchanged: a process that runs several extractions or length
 * passes (a script, a notebook, the tests) parses Qwen3's 11 MB tokenizer.json once instead of each time (~0.7 s).
 * One is kept (the last one used). Tokenizers are immutable once built.
 */
function cachedTokenizer(dir: string): ChatTokenizer {
  const key = tokenizerKey(dir);
  if (lastTokenizer?.key === key) {
    return lastTokenizer.tokenizer;
  }
  const tokenizer = loadTokenizer(dir);
  lastTokenizer = { key, tokenizer };
  return tokenizer;
}

export function buildEncoder(spec: EncoderSpec, shape: InputShape): ChatEncoder {
  const tokenizer = cachedTokenizer(spec.tokenizerDir);
  const chat = shape.kind === "messages" || shape.kind === "columns";
  const options: ConstructorParameters<typeof ChatEncoder>[0] = { tokenizer };
  if (chat) {
    options.template = loadChatTemplate(spec.chatTemplate, tokenizer);
  }
  if (spec.skipRules !== undefined) {
    options.skipRules = parseSkipRules(spec.skipRules);
  }
  if (spec.templateKwargs !== undefined) {
    options.templateKwargs = spec.templateKwargs;
  }
  if (spec.addSpecialTokens !== undefined) {
    options.addSpecialTokens = spec.addSpecialTokens;
  }
  return new ChatEncoder(options);
}

/** Per-row outcome of a length pass; -1 lengths mark invalid rows (with `invalidRows: "skip"`). */
export interface MeasuredBatch {
  start: number;
  length: Int32Array;
  extractTokens: Int32Array;
  tokens: number;
  /** First invalid row's message, when rows were skipped. */
  invalid: { row: number; message: string }[];
}

export function measureRows(
  encoder: ChatEncoder,
  shape: InputShape,
  start: number,
  rows: readonly Record<string, unknown>[],
  invalidRows: "error" | "skip",
): MeasuredBatch {
  const length = new Int32Array(rows.length);
  const extractTokens = new Int32Array(rows.length);
  const invalid: { row: number; message: string }[] = [];
  let tokens = 0;
  for (let k = 0; k < rows.length; k++) {
    try {
      const m = encoder.measure(exampleFromRow(rows[k] as Record<string, unknown>, shape, start + k));
      length[k] = m.length;
      extractTokens[k] = m.extractTokens;
      tokens += m.length;
    } catch (error) {
      if (invalidRows === "skip" && error instanceof ChatError && error.code !== "OFFSET_MISMATCH") {
        length[k] = -1;
        extractTokens[k] = -1;
        invalid.push({ row: start + k, message: error.message });
      } else {
        throw error;
      }
    }
  }
  return { start, length, extractTokens, tokens, invalid };
}

export type { ChatEncoderMetadata };
