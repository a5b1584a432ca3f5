/**
 * @logitpack/hub-stream: stream logit shards to the Hugging Face Hub or a local folder with async uploads, a
 * crash-safe local cache, exact resume and exactly-once shard names; read datasets back from the Hub.
 */
export type { Checkpoint, SerializedIndexSet } from "./cache.js";
export { DEFAULT_CACHE_DIR, deserializeIndexSet, LocalCache, locationId, serializeIndexSet } from "./cache.js";
export type { DatasetCardOptions } from "./card.js";
export {
  cardFrontMatter,
  cardTokenizerId,
  renderDatasetCard,
  shardStats,
  sizeCategory,
  typescriptExample,
  writeDatasetCard,
} from "./card.js";
export type { Env } from "./config.js";
export { DEFAULT_HUB_URL, hfHome, hubCacheDir, parseRepoId, resolveHubUrl, resolveToken } from "./config.js";
export type { SinkSpec } from "./create-sink.js";
export { createSink } from "./create-sink.js";
export type { SizedColumn } from "./dataset-size.js";
export {
  chunkNbytes,
  datasetsChunkRows,
  datasetsWriterBatchSize,
  rowsDatasetNbytes,
  shardDatasetNbytes,
  tableNbytes,
} from "./dataset-size.js";
export type { HubStreamErrorCode, HubStreamErrorDetails } from "./errors.js";
export { HubStreamError, redactToken } from "./errors.js";
export type { WriterEvent, WriterProgress } from "./events.js";
export { EventChannel } from "./events.js";
export type { FingerprintOptions } from "./fingerprint.js";
export { findLocalPaths, fingerprintPath, hashFile, hashText, hubFingerprint, localLabel } from "./fingerprint.js";
export { FolderSink } from "./folder-sink.js";
export type { FsLayer } from "./fs.js";
export { nodeFs, writeFileAtomic } from "./fs.js";
export type { HubReadOptions, RepoFile } from "./hub-read.js";
export * from "./hub-read.js";
export { downloadToCache, listRepoFiles, openHubLogitFile, resolveFileUrl } from "./hub-read.js";
export type { HubSinkOptions } from "./hub-sink.js";
export { HubSink, resolveUrl } from "./hub-sink.js";
export { IndexSet } from "./index-set.js";
export type { ShardCheck, ShardProblem, ShardProblemKind } from "./integrity.js";
export { checkShard, contentMatchesName, hashSinkFile, vocabularyWidth } from "./integrity.js";
export type { HeldLock, LockOptions, OwnerState, ProcessIdentity } from "./lock.js";
export { acquireLock, bootId, currentIdentity, ownerState, processStartTime } from "./lock.js";
export type { ShardName, ShardSpec } from "./names.js";
export { DATA_DIR, isShardPath, parseShardFileName, parseShardSpec, QUARANTINE_DIR, shardFileName } from "./names.js";
export type { BackupShard, PendingFile, QuarantinedFile, ResumeOptions, ResumeState } from "./resume.js";
export { resumeState } from "./resume.js";
export type { RetryInfo, RetryingFetchOptions, RetryPolicy } from "./retry.js";
export { backoffDelay, createRetryingFetch, RETRY_STATUSES } from "./retry.js";
export type { ScannedFile } from "./scan.js";
export { scanIndices } from "./scan.js";
export type { SettingDifference } from "./settings.js";
export {
  canonicalJson,
  configHash,
  describeSettingChange,
  diffSettings,
  effectiveSettings,
  LABELS_KEY,
  shortValue,
} from "./settings.js";
export type { ShutdownHandle, ShutdownOptions, SignalTarget } from "./shutdown.js";
export { installShutdownHandlers } from "./shutdown.js";
export type { PutResult, Sink, SinkFile } from "./sink.js";
export type { VerifyOptions, VerifyReport } from "./verify.js";
export { verifyDataset } from "./verify.js";
export type { StreamingWriterOptions, WriterSummary } from "./writer.js";
export { DEFAULT_UPLOAD_EVERY, StreamingWriter } from "./writer.js";
