/**
 * @logitpack/chat: from a conversation to tokens and an exact assistant mask.
 * Node file helpers (`loadTokenizer`, `loadChatTemplate`) are in `@logitpack/chat/node`.
 */
export { BUILTIN_TEMPLATES, builtinTemplate } from "./builtin-templates.js";
export type { BuiltinChoice } from "./choose-template.js";
export { chooseBuiltinTemplate } from "./choose-template.js";
export type { ChatEncoderMetadata, ChatEncoderOptions, EncodedExample, ExampleLength } from "./encoder.js";
export { ChatEncoder } from "./encoder.js";
export type { ChatErrorCode, ChatErrorContext } from "./errors.js";
export { ChatError } from "./errors.js";
export type { Example, InputShape } from "./input.js";
export {
  checkShapeColumns,
  cleanText,
  exampleFromRow,
  missingColumn,
  normalizeMessages,
  shapeColumns,
  templateKwargsFromRow,
} from "./input.js";
export { assistantMaskFromSpans, charToToken } from "./mask.js";
export {
  isPyWhitespace,
  normalizeTemplateNewlines,
  PyFloat,
  parseJsonPython,
  pyFloat,
  pyFloatRepr,
  pyReplace,
  pySplit,
  pyStrip,
} from "./python-jinja.js";
export type { TemplateSource } from "./resolve-template.js";
export { resolveChatTemplate, templateForModel, templateFromConfig } from "./resolve-template.js";
export type { ResolvedSkipRules, SkipRulePreset, SkipRules } from "./skip-rules.js";
export { applySkipRules, parseSkipRules, resolveSkipRules, SKIP_RULE_PRESETS, skipRulesPreset } from "./skip-rules.js";
export type { ChatMessage, ChatTemplateOptions, RenderedChat } from "./template.js";
export {
  ChatTemplate,
  extractSpans,
  GENERATION_END,
  GENERATION_START,
  hasGenerationMarkers,
  instrumentGenerationMarkers,
  stripGenerationMarkers,
} from "./template.js";
export type { ChatTokenizerOptions, TokenizerConfig, TokensWithOffsets } from "./tokenizer.js";
export { ChatTokenizer } from "./tokenizer.js";
