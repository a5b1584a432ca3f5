/**
 * The teacher as the extraction loop sees it: tokenized examples in, encoded rows (one per example) out. Backed by
 * `@logitpack/inference-gpu` (ONNX Runtime, in-graph nucleus / Gumbel tail / importance sampling).
 */
import type { EncodedRow, ExtractionSettings } from "@logitpack/codec";
import { CliError } from "./errors.js";

export interface TeacherExample {
  /** Dataset index (keys the sampling noise: results do not depend on the batch). */
  index: number;
  ids: Uint32Array;
  /** 1 for the positions that get logits. */
  extractMask: Uint8Array;
}

export interface TeacherOptions {
  /** `tiny` (the bundled model, generated into `cacheDir` on first use) or a model folder. */
  model: { kind: "tiny" } | { kind: "folder"; dir: string };
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
}

export interface Teacher {
  /** The execution provider it got (`cpu`, `cuda`, `webgpu`). */
  readonly device: string;
  /** Where the model files are (the tiny model's cache folder). */
  readonly modelDir: string;
  readonly vocabSize: number;
  /** What the runtime adds to the dataset settings (nucleus boundary rule, precision, ...). */
  readonly settings: ExtractionSettings;
  run(examples: readonly TeacherExample[]): Promise<EncodedRow[]>;
  close(): Promise<void>;
}

/** Loads `@logitpack/inference-gpu` and opens the model. */
export async function openTeacher(options: TeacherOptions): Promise<Teacher> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(/* @vite-ignore */ "@logitpack/inference-gpu" as string)) as Record<string, unknown>;
  } catch (error) {
    throw new CliError(
      `the teacher runtime @logitpack/inference-gpu cannot be loaded (${(error as Error).message.split("\n")[0]})`,
      "build it with 'pnpm build'",
    );
  }
  const adapter = mod.openCliTeacher as ((o: TeacherOptions) => Promise<Teacher>) | undefined;
  if (typeof adapter !== "function") {
    throw new CliError("@logitpack/inference-gpu has no teacher entry point the CLI knows (openCliTeacher)");
  }
  return adapter(options);
}
