import {
  ChatEncoder,
  type ChatEncoderMetadata,
  ChatError,
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

export function buildEncoder(spec: EncoderSpec, shape: InputShape): ChatEncoder {
  const tokenizer = loadTokenizer(spec.tokenizerDir);
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
