/**
 * `checkProviders`: which execution providers start on this machine, and why the others do not. A tiny model (one
 * Add) is run on each, the same way a teacher session is created. For `logitpack doctor` / `--device` reports.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { TensorProto_DataType as DT, GraphProtoSchema, ModelProtoSchema } from "onnx-buf";
import { InferenceError } from "./errors.js";
import { valueInfo } from "./onnx/builder.js";
import { LocalRunner, loadOrt, PROVIDER_HINTS, type Provider } from "./runtime.js";

export interface ProviderCheck {
  provider: Provider;
  ok: boolean;
  /** "ran a test model" when ok, else why it failed (one line), then how to fix it when known. */
  message: string;
  hint?: string;
}

export interface ProviderReport {
  /** onnxruntime-node's version. */
  onnxruntime: string;
  /** The provider `device: "auto"` would get (the first that works of CUDA, WebGPU, CPU). */
  auto: Provider | undefined;
  checks: ProviderCheck[];
}

function testModel(): Uint8Array {
  return toBinary(
    ModelProtoSchema,
    create(ModelProtoSchema, {
      irVersion: 8n,
      producerName: "logitpack-doctor",
      opsetImport: [{ domain: "", version: 17n }],
      graph: create(GraphProtoSchema, {
        name: "doctor",
        node: [{ opType: "Add", input: ["x", "x"], output: ["y"], name: "add" }],
        input: [valueInfo("x", DT.FLOAT, [2])],
        output: [valueInfo("y", DT.FLOAT, [2])],
      }),
    }),
  );
}

/** Tries CUDA, WebGPU and CPU (or `providers`) in turn with a one-op model; never throws for a missing provider. */
export async function checkProviders(
  options: { providers?: Provider[]; deviceId?: number } = {},
): Promise<ProviderReport> {
  const ort = await loadOrt();
  const providers = options.providers ?? ["cuda", "webgpu", "cpu"];
  const checks: ProviderCheck[] = [];
  for (const provider of providers) {
    const runner = new LocalRunner();
    try {
      await runner.create("doctor", {
        model: testModel(),
        providers: [provider],
        threads: 1,
        ...(options.deviceId !== undefined ? { deviceId: options.deviceId } : {}),
      });
      const out = await runner.run("doctor", { x: { type: "float32", dims: [2], data: Float32Array.of(1, 2) } }, ["y"]);
      const y = out["y"]?.data as Float32Array;
      checks.push(
        y[0] === 2 && y[1] === 4
          ? { provider, ok: true, message: "ran a test model" }
          : { provider, ok: false, message: `wrong result ${Array.from(y).join(",")} from a test model` },
      );
    } catch (error) {
      const hint = error instanceof InferenceError ? error.hint : undefined;
      let message = (error as Error).message.replace(/^\[inference-gpu\] (provider \w+: )?/, "");
      if (hint !== undefined && message.endsWith(` (${hint})`)) {
        message = message.slice(0, message.length - hint.length - 3);
      }
      message = message.split("\n")[0] as string;
      checks.push({
        provider,
        ok: false,
        message,
        ...(hint !== undefined && hint !== ""
          ? { hint }
          : PROVIDER_HINTS[provider]
            ? { hint: PROVIDER_HINTS[provider] }
            : {}),
      });
    } finally {
      await runner.close();
    }
  }
  const order: Provider[] = ["cuda", "webgpu", "cpu"];
  const auto = order.find((p) => checks.some((c) => c.provider === p && c.ok));
  return { onnxruntime: ort.env.versions.common, auto, checks };
}
