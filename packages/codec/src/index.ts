export {
  importanceWeights,
  nucleusMass,
  positionCount,
  positionIds,
  positionLogits,
  positionProbs,
  tailMass,
} from "./accessors.js";
export { batchTokens, sampleAt, sliceBatch } from "./decode.js";
export type { EncodedRow, ImportanceInput, NucleusInput, RowValues } from "./encode.js";
export { encodeImportanceSample, encodeNucleusSample, encodeSample } from "./encode.js";
export type { CodecErrorCode, CodecErrorContext } from "./errors.js";
export { CodecError } from "./errors.js";
export type { Decompressor } from "./internal/compression.js";
export type { DecodedColumn } from "./internal/parquet-reader.js";
export { zstdBackend } from "./internal/zstd.js";
export type { ColumnSpec, ColumnType } from "./layout.js";
export {
  columnsOf,
  IMPORTANCE_COLUMNS,
  LAYOUT_VERSION,
  META_KEYS,
  NUCLEUS_COLUMNS,
  NUCLEUS_U8_REQUIRED,
} from "./layout.js";
export { MAX_VOCAB, packedHighLength, packIndices, unpackIndices } from "./pack.js";
export { dequantizeRange, QUANT_LEVELS, quantizationErrorBound, quantizeRange, roundHalfEven } from "./quantize.js";
export type { ColumnBatch, OpenOptions, RowRange, VerifyProblem, VerifyReport } from "./read.js";
export { LogitFile, openLogitFile } from "./read.js";
export type { ByteSource, UrlSource, UrlSourceOptions } from "./source.js";
export { memorySource, urlSource } from "./source.js";
export type { SparseTargetOptions, SparseTargets, TailHandling } from "./targets.js";
export { toSparseTargets } from "./targets.js";
export type {
  ExtractionSettings,
  FileInfo,
  ImportanceBatch,
  ImportanceSample,
  LayoutName,
  LogitBatch,
  LogitSample,
  NucleusBatch,
  NucleusSample,
  SparseLogits,
} from "./types.js";
export type { ByteSink, LogitWriterOptions } from "./write.js";
export { DEFAULT_ROW_GROUP_BYTES, encodeLogitFile, LogitWriter, memorySink } from "./write.js";
