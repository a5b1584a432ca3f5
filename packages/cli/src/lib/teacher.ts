/**
 * The teacher as the extraction loop sees it, backed by `@logitpack/inference-gpu` (ONNX Runtime with the nucleus,
 * Gumbel tail or importance draws computed inside the graph): tokenized batches in, one encoded row per example
 * out, the device running batch k+1 while this thread encodes batch k.
 */
import type { EncodedRow, ExtractionSettings } from "@logitpack/codec";
import {
  type ExtractOptions,
  ensureLearnedTinyModel,
  extractBatches,
  extractionSettings,
  InferenceError,
  loadTeacher,
  type Teacher as RuntimeTeacher,
} from "@logitpack/inference-gpu";
import { ExtractionError, type OptionNamer } from "./errors.js";

export interface TeacherExample {
  /** Dataset index (keys the sampling noise: results do not depend on the batch). */
  index: number;
  ids: Uint32Array;
  /** 1 for the positions that get logits. */
  extractMask: Uint8Array;
}

export interface TeacherOptions {
  /** `tiny` (the bundled model, generated into `cacheDir` on first use) or a model folder. */
  model: { kind: "tiny" } | { kind: "folder"; dir: string; file?: string };
  cacheDir: string;
  device: "auto" | "cuda" | "webgpu" | "cpu";
  deviceId?: number;
  mode: "nucleus" | "importance";
  topP: number;
  topPMax: number;
  sampledN: number;
  rounds: number;
  temperature: number;
  seed: number;
  /** Told before the tiny model is generated (first use only). */
  onGenerate?: () => void;
  /** How messages name options. */
  name: OptionNamer;
}

export interface Teacher {
  /** The execution provider it got (`cpu`, `cuda`, `webgpu`). */
  readonly device: string;
  /** Why the providers tried before it failed (`--device auto`). */
  readonly providerFailures: readonly { provider: string; message: string }[];
  readonly modelDir: string;
  readonly vocabSize: number;
  /** How the LM head is handled (`gathered before ...`, or `full logits: why`). */
  readonly lmHead: string;
  /** What the runtime records in the dataset settings (nucleus rule, noise scheme, precision, provider). */
  readonly settings: ExtractionSettings;
  /** One encoded row per example, in batch order; batch k+1 runs on the device while batch k is encoded. */
  extract(batches: AsyncIterable<readonly TeacherExample[]>): AsyncGenerator<EncodedRow>;
  close(): Promise<void>;
}

/** Loads the model (generating the tiny one on first use) on the requested device. */
export async function openTeacher(options: TeacherOptions): Promise<Teacher> {
  let modelDir: string;
  if (options.model.kind === "tiny") {
    const { existsSync } = await import("node:fs");
    const { join } = await import("node:path");
    if (!existsSync(join(options.cacheDir, "tiny-model")) && options.onGenerate) {
      options.onGenerate();
    }
    modelDir = await ensureLearnedTinyModel(options.cacheDir);
  } else {
    modelDir = options.model.dir;
  }
  let runtime: RuntimeTeacher;
  try {
    runtime = await loadTeacher({
      modelDir,
      ...(options.model.kind === "folder" && options.model.file !== undefined ? { modelFile: options.model.file } : {}),
      device: options.device,
      ...(options.deviceId !== undefined ? { deviceId: options.deviceId } : {}),
      mode: options.mode,
    });
  } catch (error) {
    if (error instanceof InferenceError) {
      // the message names the file or the provider; say which flag it is about
      const option = options.device !== "auto" && /provider|device/i.test(error.message) ? "model.device" : "model.id";
      throw new ExtractionError(
        "MODEL",
        `${options.name(option)}: ${error.message.replace(/^\[[a-z-]+\] /, "")}`,
        option,
      );
    }
    throw error;
  }
  const extractOptions: ExtractOptions = {
    mode: options.mode,
    seed: options.seed,
    ...(options.mode === "nucleus"
      ? { topP: options.topP, topPMax: options.topPMax, sampledN: options.sampledN }
      : { rounds: options.rounds, temperature: options.temperature }),
  };
  return {
    device: runtime.provider,
    providerFailures: runtime.providerFailures,
    modelDir,
    vocabSize: runtime.vocabSize,
    lmHead: runtime.lmHead,
    settings: extractionSettings(runtime, extractOptions),
    async *extract(batches) {
      async function* wire() {
        for await (const batch of batches) {
          yield batch.map((ex) => ({ index: ex.index, inputIds: ex.ids, extractMask: ex.extractMask }));
        }
      }
      yield* extractBatches(runtime, wire(), extractOptions);
    },
    close: () => runtime.close(),
  };
}
