import { BUILTIN_TEMPLATES } from "./builtin-templates.js";
import { stripGenerationMarkers } from "./template.js";

/** What `chooseBuiltinTemplate` decided. */
export interface BuiltinChoice {
  /** The built-in to use (`qwen3`, `qwen2.5`, `llama3`, `gemma3`), or undefined when none fits. */
  name: string | undefined;
  /**
   * True when the tokenizer's own template is, markers aside, exactly that built-in's stock template: the
   * dataset renders as the model's template does. False when only the model type matched.
   */
  matchesTokenizerTemplate: boolean;
  /** One line for the user: why this built-in (or why none). */
  reason: string;
}

/** Built-ins a model type can use, most specific first. */
const BY_MODEL_TYPE: Record<string, string[]> = {
  qwen3: ["qwen3"],
  qwen3_moe: ["qwen3"],
  qwen2: ["qwen2.5"],
  qwen2_moe: ["qwen2.5"],
  llama: ["llama3"],
  gemma3: ["gemma3"],
  gemma3_text: ["gemma3"],
};

/** Names whose stock template is recognized (aliases such as `qwen` are left out). */
const CANONICAL = ["qwen3", "qwen2.5", "llama3", "gemma3"];

/** Jinja2 reads templates with universal newlines and drops one trailing newline: compare that way. */
function canonicalText(template: string): string {
  return template.replace(/\r\n?/g, "\n").replace(/\n$/, "");
}

let stockTexts: Map<string, string> | undefined;

function stockOf(name: string): string {
  stockTexts ??= new Map(
    CANONICAL.map((n) => [n, canonicalText(stripGenerationMarkers(BUILTIN_TEMPLATES[n] as string))] as const),
  );
  return stockTexts.get(name) as string;
}

/**
 * Picks the built-in generation-marked template for a model from its `config.json` `model_type` and its tokenizer's
 * own `chat_template`. The tokenizer's template decides when it is, markers aside, one of the built-ins' stock
 * templates; otherwise the model type suggests one (the reason then says the texts differ, so the caller can
 * warn or ask for `--chat-template`). Qwen3-Instruct-2507, Gemma 2 and Mistral have no built-in yet: `name` is
 * undefined and the reason says so.
 */
export function chooseBuiltinTemplate(input: { modelType?: string; tokenizerTemplate?: string }): BuiltinChoice {
  const type = input.modelType?.toLowerCase();
  const own = input.tokenizerTemplate === undefined ? undefined : canonicalText(input.tokenizerTemplate);
  if (own !== undefined) {
    for (const name of CANONICAL) {
      if (own === stockOf(name)) {
        return {
          name,
          matchesTokenizerTemplate: true,
          reason: `the tokenizer's chat template is the stock ${name} template; built-in ${name} adds the markers`,
        };
      }
    }
  }
  const candidates = type === undefined ? undefined : BY_MODEL_TYPE[type];
  if (candidates === undefined || candidates.length === 0) {
    const known = Object.keys(BY_MODEL_TYPE).join(", ");
    return {
      name: undefined,
      matchesTokenizerTemplate: false,
      reason:
        `no built-in template for model_type ${type === undefined ? "(unknown)" : `"${type}"`} (built-ins cover ` +
        `${known}); pass --chat-template with a template that has {% generation %} markers`,
    };
  }
  const name = candidates[0] as string;
  if (name === "qwen3" && own !== undefined && !own.includes("enable_thinking") && own.includes("<think>")) {
    return {
      name: undefined,
      matchesTokenizerTemplate: false,
      reason:
        "model_type qwen3 with a template without enable_thinking (a Qwen3 Instruct-2507 / non-thinking template): " +
        "no built-in renders it identically yet; pass --chat-template with a marked copy of the model's template",
    };
  }
  return {
    name,
    matchesTokenizerTemplate: false,
    reason:
      own === undefined
        ? `model_type ${type}: built-in ${name} (the tokenizer has no chat template to compare with)`
        : `model_type ${type}: built-in ${name}, but the tokenizer's chat template differs from the stock ${name} ` +
          "template, so the dataset may not render as the model's own template does",
  };
}
