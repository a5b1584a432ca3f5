import { access, readFile, realpath } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { toBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema } from "onnx-buf";
import { InferenceError } from "./errors.js";
import { decodeModel, forEachGraph, inspectModel, type LogitsType, type ModelInfo } from "./onnx/model.js";
import { appendPostprocess, type ExtractMode, IMPORTANCE_BLOCK, type Precision } from "./onnx/postprocess.js";
import { type Device, LocalRunner, type Provider, type Runner, type SessionSpec, WorkerRunner } from "./runtime.js";

export interface LoadTeacherOptions {
  /** A local model folder: `model.onnx` (or `onnx/model.onnx`), optional external data, `config.json`. */
  modelDir: string;
  /** The ONNX file inside `modelDir`, when not `model.onnx` / `onnx/model.onnx`. */
  modelFile?: string;
  /** `auto` (default) tries CUDA, then WebGPU, then CPU; a named provider must work or loading fails. */
  device?: Device;
  /** GPU index for CUDA. */
  deviceId?: number;
  /** CPU threads for ONNX Runtime (default: all cores). */
  threads?: number;
  /** Post-processing arithmetic (default: `float64`, `float32` on WebGPU, which has no double). */
  precision?: "auto" | Precision;
  /**
   * TopK over the vocabulary in chunks of this many columns (default: 0, one TopK; 2048 on WebGPU, whose TopK sorts
   * the whole padded row in global memory otherwise). Results are identical either way.
   */
  topkChunk?: number;
  /** Memory budget for the post-processing intermediates of one chunk of positions (default 1 GiB). */
  chunkBytes?: number;
  /** Positions per post-processing chunk; overrides `chunkBytes`. */
  chunkPositions?: number;
  /**
   * Padding side of batches (default `right`, which is correct for any causal model; `left` needs the model's
   * `attention_mask` and `position_ids` inputs). A model without `attention_mask` is always right-padded.
   */
  paddingSide?: "left" | "right";
  /** Token id used for padding (default: config.json `pad_token_id`, else `eos_token_id`, else 0). */
  padTokenId?: number;
  /** Logits per position, when neither the ONNX output shape nor config.json says. */
  vocabSize?: number;
  /** Run ONNX Runtime in a worker thread (default) or on the calling thread. */
  thread?: "worker" | "caller";
  /** Mode whose session is created at load time (default `nucleus`); the other is created when first used. */
  mode?: ExtractMode;
}

/** A loaded teacher model: one ONNX Runtime session per extraction mode, on one execution provider. */
export interface Teacher {
  readonly modelDir: string;
  readonly modelPath: string;
  readonly vocabSize: number;
  readonly logitsType: LogitsType;
  readonly opset: number;
  /** Model inputs, in the model's order. */
  readonly inputs: readonly string[];
  /** True when positions are gathered before the LM head (prompt tokens then cost no vocabulary-sized work). */
  readonly gathersBeforeHead: boolean;
  /**
   * How the LM head was handled: `gathered before {MatMul|Gemm|MatMulNBits}`, or `full logits: {why}` when the head
   * was not recognized (correct, but every position pays the vocabulary-sized head). Record it in the settings and
   * warn on the fallback.
   */
  readonly lmHead: string;
  readonly paddingSide: "left" | "right";
  readonly padTokenId: number;
  readonly device: Device;
  /** The execution provider in use. */
  readonly provider: Provider;
  /** Providers tried before `provider` and why they failed (for `--device auto` reports). */
  readonly providerFailures: readonly { provider: Provider; message: string }[];
  readonly precision: Precision;
  readonly topkChunk: number;
  /** Positions per post-processing chunk, by mode. */
  chunkPositions(mode: ExtractMode): number;
  close(): Promise<void>;
}

/** Internal view of a teacher used by the extraction code. */
export interface TeacherInternals extends Teacher {
  readonly info: ModelInfo;
  readonly runner: Runner;
  /** Session key for a graph variant, created on first use. */
  session(mode: ExtractMode, exposeLogits: boolean, unitTemperature?: boolean): Promise<string>;
}

const DEFAULT_CHUNK_BYTES = 2 ** 30;

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function firstNumber(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isInteger(v)) {
    return v;
  }
  if (Array.isArray(v) && typeof v[0] === "number") {
    return v[0];
  }
  return undefined;
}

/** Bytes of post-processing intermediates per position (a conservative count of live [C, V] buffers). */
function bytesPerPosition(mode: ExtractMode, precision: Precision, vocab: number): number {
  const f = precision === "float64" ? 8 : 4;
  return mode === "nucleus" ? vocab * (4 * 7 + 2 * f) : vocab * (4 * 2 + 5 * f) + 2 * 64 * IMPORTANCE_BLOCK * f;
}

/**
 * Load a teacher from a local model folder (download Hub models into the Hugging Face cache first, e.g. with
 * `@logitpack/hub-stream`). Creates the session for `options.mode` on the chosen provider.
 */
export async function loadTeacher(options: LoadTeacherOptions): Promise<Teacher> {
  const modelDir = resolve(options.modelDir);
  const candidates = options.modelFile ? [options.modelFile] : ["model.onnx", join("onnx", "model.onnx")];
  let modelPath: string | undefined;
  for (const c of candidates) {
    if (await exists(join(modelDir, c))) {
      modelPath = join(modelDir, c);
      break;
    }
  }
  if (modelPath === undefined) {
    throw new InferenceError("MODEL_NOT_FOUND", `no ${candidates.join(" or ")} in ${modelDir}`);
  }
  const config = (await readJson(join(modelDir, "config.json"))) ?? {};
  const bytes = await readFile(modelPath);
  let info: ModelInfo;
  try {
    info = inspectModel(decodeModel(bytes), options.vocabSize ?? firstNumber(config["vocab_size"]));
  } catch (error) {
    // Name the file (relative to the model folder) in the one line the user sees.
    if (error instanceof InferenceError) {
      error.message = error.message.replace(
        /^\[inference-gpu\] /,
        `[inference-gpu] ${relative(modelDir, modelPath)}: `,
      );
    }
    throw error;
  }
  const vocabSize = info.logits.vocabSize;
  if (vocabSize === undefined) {
    throw new InferenceError("UNSUPPORTED_MODEL", "the logits' vocabulary size is unknown", {
      hint: "pass vocabSize or add vocab_size to config.json",
    });
  }
  const hasMask = info.inputs.some((i) => i.role === "attention_mask");
  const paddingSide = options.paddingSide ?? "right";
  if (paddingSide === "left" && !hasMask) {
    throw new InferenceError("UNSUPPORTED_MODEL", "left padding needs an attention_mask input; this model has none");
  }
  const padTokenId =
    options.padTokenId ?? firstNumber(config["pad_token_id"]) ?? firstNumber(config["eos_token_id"]) ?? 0;
  const device = options.device ?? "auto";
  const order: Provider[] = device === "auto" ? ["cuda", "webgpu", "cpu"] : [device];
  const runner: Runner = options.thread === "caller" ? new LocalRunner() : new WorkerRunner();
  const threads = options.threads;

  const variant = (provider: Provider): { precision: Precision; topkChunk: number } => ({
    precision:
      options.precision === undefined || options.precision === "auto"
        ? provider === "webgpu"
          ? "float32"
          : "float64"
        : options.precision,
    topkChunk: options.topkChunk ?? (provider === "webgpu" ? 2048 : 0),
  });

  // External data: ORT resolves it against a folder we name, and refuses files whose real path leaves that folder
  // (the Hugging Face cache links snapshot files to blobs/). So point at the folder the data really is in, under the
  // data files' real names.
  const relocate = new Map<string, string>();
  let externalFolder: string | undefined;
  for (const f of info.externalFiles) {
    const real = await realpath(join(dirname(modelPath), f)).catch((error: unknown) => {
      throw new InferenceError(
        "MODEL_NOT_FOUND",
        `external data file ${f} of ${modelPath} is missing`,
        {},
        { cause: error },
      );
    });
    if (externalFolder !== undefined && dirname(real) !== externalFolder) {
      throw new InferenceError(
        "UNSUPPORTED_MODEL",
        `external data files live in several folders (${externalFolder}, ${dirname(real)})`,
      );
    }
    externalFolder = dirname(real);
    relocate.set(f, basename(real));
  }

  /** The post-processed model's bytes. */
  const build = (
    mode: ExtractMode,
    v: { precision: Precision; topkChunk: number },
    expose: boolean,
    unitTemperature = false,
  ): Uint8Array => {
    const model = decodeModel(bytes);
    if (relocate.size > 0 && model.graph !== undefined) {
      forEachGraph(model.graph, (g) => {
        for (const t of g.initializer) {
          for (const e of t.externalData) {
            if (e.key === "location") {
              e.value = relocate.get(e.value) ?? e.value;
            }
          }
        }
      });
    }
    appendPostprocess(model, info, {
      mode,
      precision: v.precision,
      vocabSize,
      topkChunk: v.topkChunk,
      exposeLogits: expose,
      unitTemperature,
    });
    return toBinary(ModelProtoSchema, model);
  };
  const spec = (model: Uint8Array, p: Provider): SessionSpec => ({
    model,
    providers: [p],
    ...(options.deviceId !== undefined ? { deviceId: options.deviceId } : {}),
    ...(threads !== undefined ? { threads } : {}),
    ...(externalFolder !== undefined ? { externalDataFolder: externalFolder } : {}),
  });

  const firstMode = options.mode ?? "nucleus";
  let provider: Provider | undefined;
  const failures: { provider: Provider; message: string }[] = [];
  for (const p of order) {
    try {
      const created = await runner.create(`${firstMode}:false`, spec(build(firstMode, variant(p), false), p));
      provider = created.provider;
      break;
    } catch (error) {
      if (device === "auto" && p !== "cpu" && error instanceof InferenceError) {
        failures.push({ provider: p, message: error.message });
        continue;
      }
      await runner.close();
      throw error;
    }
  }
  if (provider === undefined) {
    await runner.close();
    throw new InferenceError("RUN_FAILED", "no execution provider could be started");
  }
  const chosen = provider;
  const v = variant(chosen);
  const sessions = new Map<string, Promise<string>>([[`${firstMode}:false`, Promise.resolve(`${firstMode}:false`)]]);
  const teacher: TeacherInternals = {
    modelDir,
    modelPath,
    vocabSize,
    logitsType: info.logits.type,
    opset: info.opset,
    inputs: info.inputs.map((i) => i.name),
    gathersBeforeHead: info.head !== undefined,
    lmHead: info.head !== undefined ? `gathered before ${info.head.kind}` : `full logits: ${info.headFallback}`,
    paddingSide: hasMask ? paddingSide : "right",
    padTokenId,
    device,
    provider: chosen,
    providerFailures: failures,
    precision: v.precision,
    topkChunk: v.topkChunk,
    info,
    runner,
    chunkPositions(mode: ExtractMode): number {
      if (options.chunkPositions !== undefined) {
        return Math.max(1, Math.floor(options.chunkPositions));
      }
      const per = bytesPerPosition(mode, v.precision, vocabSize);
      return Math.max(1, Math.min(4096, Math.floor((options.chunkBytes ?? DEFAULT_CHUNK_BYTES) / per)));
    },
    session(mode: ExtractMode, expose: boolean, unitTemperature = false): Promise<string> {
      const key = `${mode}:${expose}${unitTemperature ? ":t1" : ""}`;
      let s = sessions.get(key);
      if (s === undefined) {
        s = Promise.resolve()
          .then(() => runner.create(key, spec(build(mode, v, expose, unitTemperature), chosen)))
          .then(() => key);
        s.catch(() => sessions.delete(key));
        sessions.set(key, s);
      }
      return s;
    },
    close(): Promise<void> {
      return runner.close();
    },
  };
  return teacher;
}
