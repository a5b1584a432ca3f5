import { BUILTIN_TEMPLATES, builtinTemplate } from "./builtin-templates.js";
import { type BuiltinChoice, chooseBuiltinTemplate } from "./choose-template.js";
import { ChatError } from "./errors.js";
import { ChatTemplate, type ChatTemplateOptions, hasGenerationMarkers } from "./template.js";
import type { ChatTokenizer, TokenizerConfig } from "./tokenizer.js";

/** Where a chat template comes from. The Node entry adds `{ file }` (see `loadChatTemplate`). */
export type TemplateSource =
  /** A built-in generation-marked template (`qwen`, `seed-000`). */
  | { builtin: string }
  /** A template string. */
  | { template: string; name?: string }
  /** The tokenizer config's `chat_template` (a named one when the config holds a list). */
  | { fromTokenizer: true; name?: string };

/** Compiles a template from a source. Throws `TEMPLATE_NOT_FOUND` or `NO_ASSISTANT_TOKENS` (no markers). */
export function resolveChatTemplate(
  source: TemplateSource,
  tokenizer?: ChatTokenizer,
  options: Omit<ChatTemplateOptions, "name"> & { flag?: string } = {},
): ChatTemplate {
  const ctx = options.flag === undefined ? {} : { flag: options.flag };
  if ("builtin" in source) {
    const s = builtinTemplate(source.builtin);
    if (s === undefined) {
      throw new ChatError(
        "TEMPLATE_NOT_FOUND",
        `no built-in template "${source.builtin}"; built-ins: ${Object.keys(BUILTIN_TEMPLATES).join(", ")}`,
        ctx,
      );
    }
    return new ChatTemplate(s, { ...options, name: source.builtin });
  }
  if ("template" in source) {
    return new ChatTemplate(source.template, { ...options, name: source.name ?? "inline" });
  }
  if (tokenizer === undefined) {
    throw new TypeError("resolveChatTemplate: { fromTokenizer } needs the tokenizer");
  }
  const s = templateFromConfig(tokenizer.config, source.name);
  if (s === undefined) {
    throw new ChatError(
      "TEMPLATE_NOT_FOUND",
      `tokenizer ${tokenizer.name} has no chat_template${source.name ? ` named "${source.name}"` : ""}; ` +
        `pass one (a file, a template string or a built-in: ${Object.keys(BUILTIN_TEMPLATES).join(", ")}), or ` +
        "use a base-model input shape (text or prompt/response columns)",
      ctx,
    );
  }
  try {
    return new ChatTemplate(s, { ...options, name: `${tokenizer.name}/tokenizer_config.json` });
  } catch (error) {
    if (error instanceof ChatError && error.code === "NO_ASSISTANT_TOKENS") {
      throw new ChatError(
        "NO_ASSISTANT_TOKENS",
        `${error.message.replace(/^\[chat\] /, "")} The tokenizer's own template usually has none (Qwen3's has none).`,
        ctx,
      );
    }
    throw error;
  }
}

/** The config's `chat_template`: a string, or from a list of `{name, template}` the named one (default "default"). */
export function templateFromConfig(config: TokenizerConfig, name?: string): string | undefined {
  const t = config.chat_template;
  if (typeof t === "string") {
    return name === undefined || name === "default" ? t : undefined;
  }
  if (Array.isArray(t)) {
    const wanted = name ?? "default";
    return t.find((e) => e.name === wanted)?.template;
  }
  return undefined;
}

/**
 * The template for a model when none is given (`--chat-template` absent): the tokenizer's own template when it
 * already has `{% generation %}` markers, else the built-in `chooseBuiltinTemplate` picks from `config.json`'s
 * `model_type` and the tokenizer's template. Returns the choice (name, whether it is exactly the tokenizer's stock
 * template, reason) for the caller to report. Throws `NO_ASSISTANT_TOKENS` with the reason when no built-in fits.
 */
export function templateForModel(
  tokenizer: ChatTokenizer,
  options: { modelType?: string; flag?: string } = {},
): { template: ChatTemplate; choice: BuiltinChoice } {
  const own = templateFromConfig(tokenizer.config);
  if (own !== undefined && hasGenerationMarkers(own)) {
    return {
      template: new ChatTemplate(own, { name: `${tokenizer.name}/tokenizer_config.json` }),
      choice: {
        name: undefined,
        matchesTokenizerTemplate: true,
        reason: "the tokenizer's own chat template has {% generation %} markers",
      },
    };
  }
  const input: { modelType?: string; tokenizerTemplate?: string } = {};
  if (options.modelType !== undefined) {
    input.modelType = options.modelType;
  }
  if (own !== undefined) {
    input.tokenizerTemplate = own;
  }
  const choice = chooseBuiltinTemplate(input);
  if (choice.name === undefined) {
    throw new ChatError(
      "NO_ASSISTANT_TOKENS",
      `no chat template with generation markers for this model: ${choice.reason}`,
      options.flag === undefined ? {} : { flag: options.flag },
    );
  }
  return { template: resolveChatTemplate({ builtin: choice.name }), choice };
}
