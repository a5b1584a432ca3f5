/**
 * The programmatic API of `@logitpack/cli`: what `logitpack extract` and `logitpack lengths` do, as library calls
 * with typed options and events and no printing.
 *
 * ```ts
 * import { runExtraction } from "@logitpack/cli";
 * const result = await runExtraction({ selection: { limit: 20 }, output: { folder: "logits-out" } }, {
 *   onEvent: (e) => e.event === "progress" && console.log(`${e.done}/${e.total}`),
 *   signal: AbortSignal.timeout(55 * 60_000),
 * });
 * ```
 */
export type {
  BatchingConfig,
  ChatConfig,
  DatasetConfig,
  ExtractionConfig,
  HubConfig,
  ModelConfig,
  OutputConfig,
  OutputTarget,
  ResolvedExtractionConfig,
  RuntimeConfig,
  SamplingConfig,
  SelectionConfig,
  ValidateOptions,
} from "./lib/config.js";
export { DEFAULT_OUTPUT, DEFAULTS, validateExtractionConfig } from "./lib/config.js";
export type { ExtractionErrorCode, OptionNamer } from "./lib/errors.js";
export { ExtractionError } from "./lib/errors.js";
export type * from "./lib/events.js";
export { runExtraction } from "./lib/extraction.js";
export type { LengthsConfig } from "./lib/lengths.js";
export { runLengths } from "./lib/lengths.js";
