/**
 * Every model, provider or run problem `@logitpack/inference-gpu` detects is an `InferenceError` with a
 * machine-readable `code`. Programmer mistakes (an option out of range) are `TypeError`/`RangeError`.
 */
export type InferenceErrorCode =
  /** The model folder or its `model.onnx` does not exist or cannot be read. */
  | "MODEL_NOT_FOUND"
  /** The ONNX model cannot be used: no logits output, an opset below 13, an input we cannot feed. */
  | "UNSUPPORTED_MODEL"
  /** The requested execution provider (CUDA, WebGPU) is not installed or found no device. */
  | "PROVIDER_UNAVAILABLE"
  /** onnxruntime-node could not be loaded. */
  | "RUNTIME_UNAVAILABLE"
  /** ONNX Runtime failed to create a session or to run one. */
  | "RUN_FAILED"
  /** A batch is malformed (token id outside the vocabulary, mask and ids of different lengths). */
  | "INVALID_BATCH"
  /** The teacher was closed. */
  | "CLOSED";

export interface InferenceErrorContext {
  /** Execution provider involved, when relevant. */
  provider?: string;
  /** Dataset index of the example involved, when relevant. */
  example?: number;
  /** How to fix it, when there is a known way (also part of the message). */
  hint?: string;
}

export class InferenceError extends Error {
  override readonly name = "InferenceError";
  readonly code: InferenceErrorCode;
  readonly provider?: string;
  readonly example?: number;
  readonly hint?: string;

  constructor(code: InferenceErrorCode, message: string, context: InferenceErrorContext = {}, options?: ErrorOptions) {
    const where = [
      context.provider !== undefined ? `provider ${context.provider}` : "",
      context.example !== undefined ? `example ${context.example}` : "",
    ]
      .filter((s) => s !== "")
      .join(", ");
    const hint = context.hint !== undefined ? ` (${context.hint})` : "";
    super(`[inference-gpu] ${where === "" ? "" : `${where}: `}${message}${hint}`, options);
    this.code = code;
    if (context.provider !== undefined) {
      this.provider = context.provider;
    }
    if (context.example !== undefined) {
      this.example = context.example;
    }
    if (context.hint !== undefined) {
      this.hint = context.hint;
    }
  }
}
