/** What `chooseBuiltinTemplate` decided. */
export interface BuiltinChoice {
  /**
   * The built-in to use (`qwen3`, `qwen3-instruct-2507`, `qwen2.5`, `llama3`, `gemma3`, `gemma2`, `mistral-nemo`), or
   * undefined when none fits.
   */
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
  gemma2: ["gemma2"],
  gemma: ["gemma2"],
  mistral: ["mistral-nemo"],
};

/**
 * Fingerprints (length and a 53-bit hash of the text, newlines normalized, one trailing newline dropped) of the
 * stock templates the built-ins reproduce, as shipped in the models' tokenizer_config.json (the same texts the
 * conformance goldens were made with: the conformance test checks those read from the tokenizer packages, the trl
 * interop test the Gemma 2 and Qwen3-Instruct-2507 ones read from trl's original templates).
 */
const STOCK: readonly { name: string; length: number; hash: string }[] = [
  { name: "qwen3", length: 4116, hash: "6fdff0da17467" },
  { name: "qwen2.5", length: 2506, hash: "1647e9b87a1743" },
  { name: "llama3", length: 389, hash: "1102d180442e33" },
  { name: "gemma3", length: 1531, hash: "14e0b117a26bf5" },
  { name: "qwen3-instruct-2507", length: 2630, hash: "e3f6d1ed3c9e7" },
  { name: "gemma2", length: 591, hash: "1a2defbef77077" },
  { name: "mistral-nemo", length: 3777, hash: "193ea6ca709583" },
];

/** Why a built-in suggested by the model type may still differ from the model's template. */
const DIFFERS_NOTE: Record<string, string> = {
  "mistral-nemo":
    " (Mistral models ship several template generations: [INST] spacing, where the system prompt goes and the tool " +
    "format differ; built-in mistral-nemo is Mistral-Nemo-Instruct-2407's)",
};

/** Jinja2 reads templates with universal newlines and drops one trailing newline: compare that way. */
function canonicalText(template: string): string {
  return template.replace(/\r\n?/g, "\n").replace(/\n$/, "");
}

/** cyrb53: a fast 53-bit string hash (not cryptographic; it only recognizes known texts). */
function hash53(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16);
}

/** The built-in whose stock template `template` is, if any. */
export function stockTemplateName(template: string): string | undefined {
  const c = canonicalText(template);
  const candidates = STOCK.filter((s) => s.length === c.length);
  if (candidates.length === 0) {
    return undefined;
  }
  const h = hash53(c);
  return candidates.find((s) => s.hash === h)?.name;
}

/**
 * Picks the built-in generation-marked template for a model from its `config.json` `model_type` and its tokenizer's
 * own `chat_template`. The tokenizer's template decides when it is, markers aside, one of the built-ins' stock
 * templates; otherwise the model type suggests one (the reason then says the texts differ, so the caller can
 * warn or ask for `--chat-template`). A qwen3 model whose template has no `enable_thinking` is a 2507 model:
 * `qwen3-instruct-2507` when the template has no `<think>` (Instruct-2507), none for the Thinking-2507 template (it
 * has `<think>`; no built-in renders it). `gemma`/`gemma2` get `gemma2`, `mistral` gets `mistral-nemo`.
 */
export function chooseBuiltinTemplate(input: { modelType?: string; tokenizerTemplate?: string }): BuiltinChoice {
  const type = input.modelType?.toLowerCase();
  const own = input.tokenizerTemplate === undefined ? undefined : canonicalText(input.tokenizerTemplate);
  const stock = own === undefined ? undefined : stockTemplateName(own);
  if (stock !== undefined) {
    return {
      name: stock,
      matchesTokenizerTemplate: true,
      reason: `the tokenizer's chat template is the stock ${stock} template; built-in ${stock} adds the markers`,
    };
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
  let name = candidates[0] as string;
  if (name === "qwen3" && own !== undefined && !own.includes("enable_thinking")) {
    if (own.includes("<think>")) {
      return {
        name: undefined,
        matchesTokenizerTemplate: false,
        reason:
          `model_type ${type} with a template that has <think> but no enable_thinking (a Qwen3 Thinking-2507 ` +
          "template): no built-in renders it; pass --chat-template with a marked copy of the model's template",
      };
    }
    name = "qwen3-instruct-2507";
  }
  return {
    name,
    matchesTokenizerTemplate: false,
    reason:
      own === undefined
        ? `model_type ${type}: built-in ${name} (the tokenizer has no chat template to compare with)`
        : `model_type ${type}: built-in ${name}, but the tokenizer's chat template differs from the stock ${name} ` +
          `template${DIFFERS_NOTE[name] ?? ""}, so the dataset may not render as the model's own template does`,
  };
}
