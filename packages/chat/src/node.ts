/**
 * Node-only helpers: read a tokenizer folder and template files. The rest of the package is platform-neutral.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { BUILTIN_TEMPLATES } from "./builtin-templates.js";
import { type BuiltinChoice, chooseBuiltinTemplate } from "./choose-template.js";
import { ChatError } from "./errors.js";
import { resolveChatTemplate, templateFromConfig } from "./resolve-template.js";
import { type ChatTemplate, type ChatTemplateOptions, hasGenerationMarkers } from "./template.js";
import { ChatTokenizer, type TokenizerConfig } from "./tokenizer.js";

/**
 * Loads `tokenizer.json` + `tokenizer_config.json` from a local folder (a Hub model id is first downloaded into
 * the cache by the caller). A `chat_template.jinja` beside them (newer transformers saves the template there)
 * fills in a missing `chat_template`.
 */
export function loadTokenizer(dir: string, options: { name?: string } = {}): ChatTokenizer {
  const tokenizerFile = join(dir, "tokenizer.json");
  const configFile = join(dir, "tokenizer_config.json");
  const tokenizerJson = readJson(tokenizerFile, true);
  const config = (readJson(configFile, false) ?? {}) as TokenizerConfig;
  if (config.chat_template === undefined) {
    const jinja = join(dir, "chat_template.jinja");
    const json = join(dir, "chat_template.json");
    if (existsSync(jinja)) {
      config.chat_template = readFileSync(jinja, "utf8");
    } else if (existsSync(json)) {
      const t = (readJson(json, true) as { chat_template?: unknown }).chat_template;
      if (typeof t === "string") {
        config.chat_template = t;
      }
    }
  }
  return ChatTokenizer.fromJSON(tokenizerJson, config, { name: options.name ?? dir });
}

/**
 * Resolves a `--chat-template` value: a template string (it contains `{%` or `{{`), a built-in name (`qwen`,
 * `seed-000`), or a file path; `undefined` takes the tokenizer's own template. Throws `TEMPLATE_NOT_FOUND`
 * naming the flag for anything else.
 */
export function loadChatTemplate(
  value: string | undefined,
  tokenizer?: ChatTokenizer,
  options: Omit<ChatTemplateOptions, "name"> & { flag?: string } = {},
): ChatTemplate {
  const flag = options.flag ?? "--chat-template";
  if (value === undefined) {
    return resolveChatTemplate({ fromTokenizer: true }, tokenizer, { ...options, flag });
  }
  if (value.includes("{%") || value.includes("{{")) {
    return resolveChatTemplate({ template: value }, tokenizer, { ...options, flag });
  }
  if (Object.hasOwn(BUILTIN_TEMPLATES, value)) {
    return resolveChatTemplate({ builtin: value }, tokenizer, { ...options, flag });
  }
  if (existsSync(value) && statSync(value).isFile()) {
    return resolveChatTemplate({ template: readFileSync(value, "utf8"), name: value }, tokenizer, { ...options, flag });
  }
  throw new ChatError(
    "TEMPLATE_NOT_FOUND",
    `"${value}" is not a file, a template string (none of {% or {{ in it) or a built-in ` +
      `(${Object.keys(BUILTIN_TEMPLATES).join(", ")})`,
    { flag },
  );
}

/**
 * Which template a model folder gets when none is given, from its files alone (tokenizer.json is not read):
 * `config.json`'s `model_type` (in `modelDir`, default `tokenizerDir`) and the tokenizer's own chat template
 * (tokenizer_config.json, else chat_template.jinja / chat_template.json). `template` is the value to pass on as
 * `--chat-template`: undefined when the tokenizer's own template already has generation markers, else the built-in
 * `chooseBuiltinTemplate` picked (undefined too when none fits: `choice.reason` says why).
 */
export function chooseTemplateForModelDir(
  tokenizerDir: string,
  modelDir: string = tokenizerDir,
): {
  template: string | undefined;
  ownTemplateHasMarkers: boolean;
  modelType: string | undefined;
  choice: BuiltinChoice;
} {
  const model = readJson(join(modelDir, "config.json"), false) as { model_type?: unknown } | undefined;
  const modelType = typeof model?.model_type === "string" ? model.model_type : undefined;
  const config = (readJson(join(tokenizerDir, "tokenizer_config.json"), false) ?? {}) as TokenizerConfig;
  let own = templateFromConfig(config);
  if (own === undefined && existsSync(join(tokenizerDir, "chat_template.jinja"))) {
    own = readFileSync(join(tokenizerDir, "chat_template.jinja"), "utf8");
  } else if (own === undefined && existsSync(join(tokenizerDir, "chat_template.json"))) {
    const t = (readJson(join(tokenizerDir, "chat_template.json"), true) as { chat_template?: unknown }).chat_template;
    own = typeof t === "string" ? t : undefined;
  }
  if (own !== undefined && hasGenerationMarkers(own)) {
    return {
      template: undefined,
      ownTemplateHasMarkers: true,
      modelType,
      choice: {
        name: undefined,
        matchesTokenizerTemplate: true,
        reason: "the tokenizer's own chat template has {% generation %} markers",
      },
    };
  }
  const input: { modelType?: string; tokenizerTemplate?: string } = {};
  if (modelType !== undefined) {
    input.modelType = modelType;
  }
  if (own !== undefined) {
    input.tokenizerTemplate = own;
  }
  const choice = chooseBuiltinTemplate(input);
  return { template: choice.name, ownTemplateHasMarkers: false, modelType, choice };
}

function readJson(file: string, required: boolean): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === "ENOENT") {
      return undefined;
    }
    throw new ChatError("TOKENIZER_LOAD", `cannot read: ${(error as Error).message}`, { file }, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ChatError("TOKENIZER_LOAD", `not valid JSON: ${(error as Error).message}`, { file }, { cause: error });
  }
}
