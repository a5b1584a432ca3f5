/**
 * @logitpack/sampler: from a dataset to batches. Streaming Parquet/JSONL/JSON sources, token lengths in worker
 * threads, filters, stratified and seeded sampling, longest-first dynamic or token-budget batches, sharding.
 */
export type { BatchPlan, BatchThresholds, PaddingStats } from "./batches.js";
export {
  batchAt,
  batchSizeFor,
  DEFAULT_BATCH_THRESHOLDS,
  iterateBatches,
  numBatches,
  paddingStats,
  parseBatchThresholds,
  planDynamicBatches,
  planSequentialBatches,
  planTokenBudgetBatches,
} from "./batches.js";
export type { DataFileOptions, ResolvedDataFiles } from "./data-files.js";
export { dataFilesOf, resolveDataFiles } from "./data-files.js";
export type { DetectedShape } from "./detect.js";
export { detectInputShape } from "./detect.js";
export type { SamplerErrorCode, SamplerErrorContext } from "./errors.js";
export { missingColumnError, SamplerError } from "./errors.js";
export { parseIntegerFlag } from "./flags.js";
export type { HubFileAccess, HubProviderOptions } from "./hub-provider.js";
export { hubDatasetProvider, hubOfflineFromEnv } from "./hub-provider.js";
export type { ComputeLengthsOptions, LengthsResult, LengthsTable } from "./lengths.js";
export { computeLengths, IN_THREAD_ROWS, readLengths, writeLengthsParquet } from "./lengths.js";
export type { EncoderSpec } from "./measure.js";
export { buildEncoder } from "./measure.js";
export type { BatchingOptions, PreparedBatches, PrepareOptions } from "./prepare.js";
export { isEmptyResponse, prepareBatches } from "./prepare.js";
export { seededRandom } from "./random.js";
export type { RowReader, RowReaderOptions } from "./row-reader.js";
export { openRowReader } from "./row-reader.js";
export type { ExampleTable, Selection, SelectionStats, SelectOptions, SubjectQuota } from "./select.js";
export { parseSampleSubject, selectExamples } from "./select.js";
export type { Shard } from "./shard.js";
export { parseShard, resolveShard, shardPlan } from "./shard.js";
export type { DataFilesInfo, DatasetSource, HubDatasetProvider, RowBatch } from "./sources.js";
export {
  ConcatSource,
  DEFAULT_BATCH_ROWS,
  JsonFileSource,
  JsonlFileSource,
  openDataset,
  openLocalDataset,
  openLocalFiles,
  ParquetFileSource,
} from "./sources.js";
