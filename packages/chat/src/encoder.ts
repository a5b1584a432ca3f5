import { ChatError } from "./errors.js";
import type { Example } from "./input.js";
import { assistantMaskFromSpans, charToToken } from "./mask.js";
import {
  applySkipRules,
  parseSkipRules,
  type ResolvedSkipRules,
  resolveSkipRules,
  type SkipRules,
  skipRulesPreset,
} from "./skip-rules.js";
import { ChatTemplate } from "./template.js";
import type { ChatTokenizer } from "./tokenizer.js";

export interface ChatEncoderOptions {
  tokenizer: ChatTokenizer;
  /** Needed for chat examples; base-model examples (`text`, `completion`) use none. */
  template?: ChatTemplate;
  /** Tokens of the assistant mask that get no logits. Default: none skipped. */
  skipRules?: SkipRules;
  /** Extra template variables (`enable_thinking`, `tools`, ...). `messages` and `add_generation_prompt` are set. */
  templateKwargs?: Record<string, unknown>;
  /**
   * Per-row template variables: variable name -> the dataset column that feeds it (`{ tools: "tools" }`), as the
   * input shape's `templateKwargColumns`. Recorded in `metadata()`; when given, an example carrying a variable not
   * declared here is refused (the metadata would not say where it came from). When not given, examples' variables
   * are used as they come (the caller records the input shape, which names their columns).
   */
  rowTemplateKwargs?: Record<string, string>;
  /**
   * A generation span whose last character is covered by no token (a decomposed character such as NFD "ñ" or
   * Hangul jamo at the end of a turn: NFC merges the mark into the previous character, and `tokenizers` maps the
   * mark to no token) gets, in transformers, a mask that runs to the end of the sequence, later user turns
   * included. `"match"` (default) reproduces that mask, as the datasets made with transformers have it;
   * `"error"` throws `MASK_OVERRUN` for that conversation instead.
   */
  maskOverrun?: "match" | "error";
  /**
   * Base-model examples only: add the post-processor's specials (BOS/EOS), as `tokenizer(text)` does by default.
   * Default true. Chat examples never add them (the template writes them), as `apply_chat_template` does.
   */
  addSpecialTokens?: boolean;
}

/** One tokenized example. Arrays are fresh per call. */
export interface EncodedExample {
  /** The text that was tokenized (rendered template, or base-model text). */
  text: string;
  ids: Uint32Array;
  /** `[start, end)` UTF-16 offsets per token, 2 entries per token. */
  offsets: Uint32Array;
  /** Generation spans `[start, end)` in `text` (for base models: the masked part). */
  spans: Uint32Array;
  /** transformers' `assistant_masks`: 1 for tokens inside a generation span. */
  assistantMask: Uint8Array;
  /** `assistantMask` minus skipped tokens: the tokens that get logits. */
  extractMask: Uint8Array;
  numAssistantTokens: number;
  numExtractTokens: number;
}

/** What a length pass records per example. */
export interface ExampleLength {
  /** Tokens of the whole sequence (what the model runs on). */
  length: number;
  /** Tokens that get logits (0 means an empty response). */
  extractTokens: number;
}

/** Description of an encoder's settings, JSON-serializable, for the dataset metadata (explore replays it). */
export interface ChatEncoderMetadata {
  tokenizer: string;
  vocabSize: number;
  template: { name: string; source: string } | null;
  templateKwargs: Record<string, unknown>;
  /** Per-row template variables and the columns that fed them (absent when none). */
  rowTemplateKwargs?: Record<string, string>;
  skipRules: SkipRules;
  addSpecialTokens: boolean;
}

/**
 * Example -> tokens + exact assistant mask + skip rules. One encoder per worker; `encode` is synchronous and
 * allocation-light (typed arrays only).
 */
export class ChatEncoder {
  readonly tokenizer: ChatTokenizer;
  readonly template: ChatTemplate | undefined;
  readonly skipRules: SkipRules;
  readonly #resolved: ResolvedSkipRules;
  readonly #context: Record<string, unknown>;
  readonly #kwargs: Record<string, unknown>;
  readonly #rowKwargs: Record<string, string>;
  readonly #addSpecial: boolean;
  readonly #overrun: "match" | "error";

  constructor(options: ChatEncoderOptions) {
    this.tokenizer = options.tokenizer;
    this.template = options.template;
    this.skipRules = options.skipRules ?? skipRulesPreset("none");
    this.#resolved = resolveSkipRules(this.skipRules, this.tokenizer);
    this.#kwargs = { ...(options.templateKwargs ?? {}) };
    this.#rowKwargs = { ...(options.rowTemplateKwargs ?? {}) };
    // transformers always passes tools and documents (None when not given), then the special tokens and kwargs
    this.#context = { tools: null, documents: null, ...this.tokenizer.specialTokensMap(), ...this.#kwargs };
    this.#addSpecial = options.addSpecialTokens ?? true;
    this.#overrun = options.maskOverrun ?? "match";
  }

  /**
   * Rebuilds the encoder a dataset was made with from its recorded `metadata()` (explore uses it to replay the
   * template and skip rules). Throws `TOKENIZER_LOAD` when the tokenizer's vocabulary size differs.
   */
  static fromMetadata(tokenizer: ChatTokenizer, metadata: ChatEncoderMetadata): ChatEncoder {
    if (metadata.vocabSize !== tokenizer.vocabSize) {
      throw new ChatError(
        "TOKENIZER_LOAD",
        `tokenizer ${tokenizer.name} has ${tokenizer.vocabSize} tokens but the dataset was made with ` +
          `${metadata.vocabSize} (${metadata.tokenizer})`,
      );
    }
    const options: ChatEncoderOptions = {
      tokenizer,
      skipRules: parseSkipRules(metadata.skipRules, "metadata.skipRules"),
      templateKwargs: metadata.templateKwargs,
      addSpecialTokens: metadata.addSpecialTokens,
    };
    if (metadata.rowTemplateKwargs !== undefined) {
      options.rowTemplateKwargs = metadata.rowTemplateKwargs;
    }
    if (metadata.template !== null) {
      options.template = new ChatTemplate(metadata.template.source, { name: metadata.template.name });
    }
    return new ChatEncoder(options);
  }

  /** Renders (chat) or concatenates (base) an example: the text and its masked spans, before tokenization. */
  render(example: Example): { text: string; spans: Uint32Array; addSpecialTokens: boolean } {
    switch (example.kind) {
      case "chat": {
        if (this.template === undefined) {
          throw new ChatError("TEMPLATE_NOT_FOUND", "a chat example needs a chat template; none was given");
        }
        const rowKwargs = example.templateKwargs ?? {};
        const declared = Object.keys(this.#rowKwargs).length > 0;
        for (const key of declared ? Object.keys(rowKwargs) : []) {
          if (!Object.hasOwn(this.#rowKwargs, key)) {
            throw new ChatError(
              "TEMPLATE_ERROR",
              `the example carries template variable "${key}" but the encoder's rowTemplateKwargs does not ` +
                `declare it (declared: ${Object.keys(this.#rowKwargs).join(", ") || "none"})`,
            );
          }
        }
        const { text, spans } = this.template.render({
          ...this.#context,
          ...rowKwargs,
          messages: example.messages,
          add_generation_prompt: false,
        });
        return { text, spans, addSpecialTokens: false };
      }
      case "text":
        return {
          text: example.text,
          spans: Uint32Array.of(0, example.text.length),
          addSpecialTokens: this.#addSpecial,
        };
      case "completion": {
        const text = example.prompt + example.response;
        return {
          text,
          spans: Uint32Array.of(example.prompt.length, text.length),
          addSpecialTokens: this.#addSpecial,
        };
      }
    }
  }

  /** Tokens, offsets, the exact assistant mask and the extract mask of one example. */
  encode(example: Example): EncodedExample {
    const { text, spans, addSpecialTokens } = this.render(example);
    const { ids, offsets, contentStart, contentEnd } = this.tokenizer.encodeWithOffsets(text, { addSpecialTokens });
    const n = ids.length;
    const assistantMask = assistantMaskFromSpans(offsets, spans, n, contentStart, contentEnd);
    if (this.#overrun === "error") {
      for (let s = 0; s + 1 < spans.length; s += 2) {
        const start = spans[s] as number;
        const end = spans[s + 1] as number;
        if (charToToken(offsets, start, contentStart, contentEnd) < 0) {
          break;
        }
        if (end > start && charToToken(offsets, end - 1, contentStart, contentEnd) < 0) {
          throw new ChatError(
            "MASK_OVERRUN",
            `generation span ${s / 2} ends on a character no token covers (${JSON.stringify(text.slice(end - 2, end))}, ` +
              "a combining mark the tokenizer's NFC merged into the previous character): transformers' mask would " +
              "run to the end of the sequence",
          );
        }
      }
    }
    const extractMask = applySkipRules(ids, assistantMask, this.#resolved);
    return {
      text,
      ids,
      offsets,
      spans,
      assistantMask,
      extractMask,
      numAssistantTokens: count(assistantMask),
      numExtractTokens: count(extractMask),
    };
  }

  /** Length of one example and how many tokens get logits (a length pass). */
  measure(example: Example): ExampleLength {
    const e = this.encode(example);
    return { length: e.ids.length, extractTokens: e.numExtractTokens };
  }

  /** Settings for the dataset metadata. */
  metadata(): ChatEncoderMetadata {
    return {
      tokenizer: this.tokenizer.name,
      vocabSize: this.tokenizer.vocabSize,
      template: this.template === undefined ? null : { name: this.template.name, source: this.template.source },
      templateKwargs: { ...this.#kwargs },
      ...(Object.keys(this.#rowKwargs).length > 0 ? { rowTemplateKwargs: { ...this.#rowKwargs } } : {}),
      skipRules: this.skipRules,
      addSpecialTokens: this.#addSpecial,
    };
  }
}

function count(mask: Uint8Array): number {
  let c = 0;
  for (let i = 0; i < mask.length; i++) {
    c += mask[i] as number;
  }
  return c;
}
