/**
 * @logitpack/tiny-model (private): the deterministic tiny causal LM over the Qwen3 vocabulary that the demo, tests
 * and benchmarks run on. `ensureTinyModel` generates it once into a cache folder; `generateTinyModel` writes it
 * anywhere.
 */

export type { CommunityDtype } from "./community.js";
export { COMMUNITY_DTYPES, COMMUNITY_SHAPES, tinyCommunityRepo } from "./community.js";
export { ensureTinyModel } from "./ensure.js";
export type { TinyModelInfo, TinyModelOptions, TinyModelShape } from "./generate.js";
export { generateTinyModel, QWEN3_VOCAB_SIZE, TINY_MODEL_VERSION } from "./generate.js";
export type { LearnedTinyModelInfo, LearnedTinyModelOptions } from "./learned.js";
export { ensureLearnedTinyModel, generateLearnedTinyModel, LEARNED_MODEL_VERSION } from "./learned.js";
export type { TinyGraphOptions, TinyGraphShape } from "./shapes.js";
export { generateTinyGraph, TINY_GRAPH_SHAPES } from "./shapes.js";
