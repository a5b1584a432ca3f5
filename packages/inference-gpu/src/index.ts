/**
 * @logitpack/inference-gpu: run a teacher LLM (ONNX) with ONNX Runtime and compute, inside its graph, the logsumexp,
 * the nucleus, a Gumbel-sampled tail or importance samples of the assistant positions, so that only a few hundred
 * bytes per position leave the device.
 */

export type { ProviderCheck, ProviderReport } from "./doctor.js";
export { checkProviders } from "./doctor.js";
export type { InferenceErrorCode, InferenceErrorContext } from "./errors.js";
export { InferenceError } from "./errors.js";
export type { ExampleResult, ExtractOptions, ImportanceResult, NucleusResult, TeacherExample } from "./extract.js";
export { encodeResult, extractBatches, runBatch } from "./extract.js";
export { NOISE_SCHEME } from "./noise.js";
export type { LogitsType } from "./onnx/model.js";
export type { ExtractMode, Precision } from "./onnx/postprocess.js";
export type { NoiseKey, NucleusRowOut, ReferenceNucleusParams } from "./reference.js";
export { logsumexpRow, referenceImportanceRow, referenceNucleusRow, topkRow } from "./reference.js";
export type { Device, Provider } from "./runtime.js";
export { PROVIDER_HINTS } from "./runtime.js";
export { extractionSettings, LOGITS_ALIGNMENT, NUCLEUS_RULE } from "./settings.js";
export type { LoadTeacherOptions, Teacher } from "./teacher.js";
export { loadTeacher } from "./teacher.js";
export type { TinyModelOptions, TinyModelShape } from "./tiny-model.js";
export { defaultCacheDir, ensureLearnedTinyModel, ensureTinyModel } from "./tiny-model.js";
