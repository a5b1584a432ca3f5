/**
 * @logitpack/explore: inspect, analyse and see what a teacher-logit dataset captured. Platform-neutral; opening
 * paths, URLs and Hub repos, worker-thread statistics and terminal detection are in `@logitpack/explore/node`.
 */

/** Re-exported from the codec: the seed's `unpack_indices`. */
export { unpackIndices } from "@logitpack/codec";
export type {
  AlignedToken,
  Alignment,
  AlignmentMismatch,
  AlignOptions,
  EncoderOverrides,
  TokenPrediction,
} from "./align.js";
export {
  alignSample,
  CHAT_METADATA_KEY,
  checkAlignment,
  encoderForDataset,
  INPUT_METADATA_KEY,
  inputShapeOf,
  sha256Hex,
} from "./align.js";
export { analyzeSample } from "./analyze.js";
export type { DatasetInfo, LoadedSample, ShardLocator, ShardRef } from "./dataset.js";
export { getSample, LogitDataset, samples } from "./dataset.js";
export type { ExploreErrorCode } from "./errors.js";
export { ExploreError } from "./errors.js";
export type { FidelityOptions, FidelityReport } from "./fidelity.js";
export { fidelityReport } from "./fidelity.js";
export type { Summary } from "./internal/summary.js";
export { summarize } from "./internal/summary.js";
export { toJSONText, toJSONValue } from "./json.js";
export type { IdsAndLogits, PositionDistribution, Prediction, TokenLookup } from "./position.js";
export {
  dequantizeAllLogits,
  dequantizeLogits,
  dequantizeSampledLogits,
  dequantizeTopLogits,
  logitsToProbs,
  lookupToken,
  nucleusMasses,
  nucleusSizes,
  positionDistribution,
  SOURCE_DRAWN,
  SOURCE_NUCLEUS,
  SOURCE_SAMPLED,
  sampledMasses,
  topPredictions,
} from "./position.js";
export type { HtmlReportInput } from "./render-html.js";
export { plotNucleusSizes, plotPositions, renderHtmlReport, tokenColor } from "./render-html.js";
export type { TerminalOptions } from "./render-terminal.js";
export {
  displayWidth,
  probabilityColor,
  renderAlignment,
  renderFidelity,
  renderPosition,
  renderSampleInfo,
  renderStats,
  truncate,
  visibleToken,
} from "./render-terminal.js";
export type { SampleInfo } from "./sample-info.js";
export { sampleInfo } from "./sample-info.js";
export type { AccumulatorState, DatasetStats, MassStats, StatsOptions } from "./stats.js";
export {
  accumulateBatch,
  accumulateColumns,
  datasetStats,
  finishStats,
  mergeStates,
  newState,
  statsColumns,
} from "./stats.js";
