import { ChatError } from "./errors.js";
import { normalizeTemplateNewlines, PythonTemplate } from "./python-jinja.js";

/**
 * Sentinels that mark where a `{% generation %}` block starts and ends in the rendered text. They are Unicode
 * noncharacters (U+FDD0, U+FDD1), "permanently reserved for internal use", so real text should never hold them;
 * content that does is rejected (`INVALID_CONTENT`) before rendering.
 */
export const GENERATION_START = "\uFDD0";
export const GENERATION_END = "\uFDD1";

/** `{% generation %}` / `{%- endgeneration -%}` with jinja's whitespace-control modifiers. */
const GENERATION_TAG = /\{%([-+]?)\s*(end)?generation\s*([-+]?)%\}/g;

/** True when the template source holds at least one `{% generation %}` tag. */
export function hasGenerationMarkers(source: string): boolean {
  GENERATION_TAG.lastIndex = 0;
  return GENERATION_TAG.test(source);
}

/**
 * Rewrites every generation tag into a *block* tag that emits a sentinel. Keeping a block tag (rather than an
 * `{{ }}` expression) keeps the tag's own `-` whitespace control and jinja's trim_blocks/lstrip_blocks behaviour,
 * which transformers renders with; so the text between sentinels is exactly the text transformers records.
 */
export function instrumentGenerationMarkers(source: string): { source: string; markers: number } {
  let markers = 0;
  const out = source.replace(GENERATION_TAG, (_m, left: string, end: string | undefined, right: string) => {
    markers++;
    const sentinel = end === undefined ? "\\uFDD0" : "\\uFDD1";
    return `{%${left} if true %}{{ "${sentinel}" }}{% endif ${right}%}`;
  });
  return { source: out, markers };
}

/** Removes the generation tags (and the whitespace their `-` modifiers strip): the template a model card shows. */
export function stripGenerationMarkers(source: string): string {
  return source.replace(/(\s*)\{%(-?)\s*(?:end)?generation\s*(-?)%\}(\s*)/g, (_m, before, l, r, after) => {
    return (l ? "" : before) + (r ? "" : after);
  });
}

/** Rendered text plus the generation spans, `[start, end)` pairs in UTF-16 code units of `text`. */
export interface RenderedChat {
  text: string;
  spans: Uint32Array;
}

/** A chat message as templates receive it. Extra fields (`reasoning_content`, `tool_calls`, ...) pass through. */
export interface ChatMessage {
  role: string;
  content: string;
  [key: string]: unknown;
}

export interface ChatTemplateOptions {
  /** A label recorded in metadata (`qwen`, a file path, `tokenizer_config.json`). */
  name?: string;
  /**
   * Require at least one `{% generation %}` tag (default true). Without one, no token can be in the assistant
   * mask, so a dataset would come out empty: construction throws `NO_ASSISTANT_TOKENS` instead.
   */
  requireGenerationMarkers?: boolean;
}

/**
 * A compiled chat template. `render()` gives the text transformers' `apply_chat_template(tokenize=False)` gives,
 * and the character spans of the `{% generation %}` blocks, as transformers records them for
 * `return_assistant_tokens_mask`.
 */
export class ChatTemplate {
  /** The template source as given (with its generation tags). */
  readonly source: string;
  readonly name: string;
  /** Number of generation tags (open and close) in the source. */
  readonly markers: number;
  readonly #template: PythonTemplate;

  constructor(source: string, options: ChatTemplateOptions = {}) {
    if (typeof source !== "string") {
      throw new TypeError("ChatTemplate: source must be a string");
    }
    this.source = source;
    this.name = options.name ?? "inline";
    // Jinja2 reads templates with universal newlines: a CRLF template renders with LF
    source = normalizeTemplateNewlines(source);
    if (source.includes(GENERATION_START) || source.includes(GENERATION_END)) {
      throw new ChatError(
        "TEMPLATE_ERROR",
        `template ${this.name} contains U+FDD0/U+FDD1, the sentinels used to record generation spans`,
      );
    }
    const { source: instrumented, markers } = instrumentGenerationMarkers(source);
    this.markers = markers;
    if (markers === 0 && options.requireGenerationMarkers !== false) {
      throw new ChatError(
        "NO_ASSISTANT_TOKENS",
        `0 assistant tokens: the chat template (${this.name}) has no {% generation %} markers, so no token can be ` +
          "in the assistant mask. Fix: use a template with markers (the built-in `qwen` for Qwen3-style ChatML, " +
          "--chat-template qwen), or wrap each assistant reply in your template in " +
          "{% generation %}...{% endgeneration %} (see the @logitpack/chat README, 'Adding generation markers').",
      );
    }
    try {
      this.#template = new PythonTemplate(instrumented);
    } catch (error) {
      throw new ChatError(
        "TEMPLATE_ERROR",
        `template ${this.name} does not parse: ${errorMessage(error)}`,
        {},
        {
          cause: error,
        },
      );
    }
  }

  /** Renders `context` (it must hold `messages`) and extracts the generation spans. */
  render(context: Record<string, unknown>): RenderedChat {
    let raw: string;
    try {
      raw = this.#template.render(context);
    } catch (error) {
      throw new ChatError(
        "TEMPLATE_ERROR",
        `template ${this.name} failed to render: ${errorMessage(error)}`,
        {},
        {
          cause: error,
        },
      );
    }
    return extractSpans(raw, this.name);
  }
}

/** Strips the sentinels out of `raw`, recording `[start, end)` of each generation block. */
export function extractSpans(raw: string, name = "inline"): RenderedChat {
  let first = raw.indexOf(GENERATION_START);
  const firstEnd = raw.indexOf(GENERATION_END);
  if (first < 0 && firstEnd < 0) {
    return { text: raw, spans: new Uint32Array(0) };
  }
  if (first < 0 || (firstEnd >= 0 && firstEnd < first)) {
    first = firstEnd;
  }
  const spans: number[] = [];
  const parts: string[] = [raw.slice(0, first)];
  let length = first;
  let open = -1;
  let i = first;
  while (i < raw.length) {
    const ch = raw.charCodeAt(i);
    if (ch === 0xfdd0) {
      if (open >= 0) {
        throw new ChatError("TEMPLATE_ERROR", `template ${name}: nested {% generation %} blocks`);
      }
      open = length;
      i++;
      continue;
    }
    if (ch === 0xfdd1) {
      if (open < 0) {
        throw new ChatError("TEMPLATE_ERROR", `template ${name}: {% endgeneration %} without {% generation %}`);
      }
      spans.push(open, length);
      open = -1;
      i++;
      continue;
    }
    let next = i + 1;
    while (next < raw.length) {
      const c = raw.charCodeAt(next);
      if (c === 0xfdd0 || c === 0xfdd1) {
        break;
      }
      next++;
    }
    parts.push(raw.slice(i, next));
    length += next - i;
    i = next;
  }
  if (open >= 0) {
    throw new ChatError("TEMPLATE_ERROR", `template ${name}: {% generation %} without {% endgeneration %}`);
  }
  return { text: parts.join(""), spans: Uint32Array.from(spans) };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
