/**
 * ONNX Runtime sessions, on the calling thread (`LocalRunner`) or in a worker thread (`WorkerRunner`, the default:
 * onnxruntime-node's `run` blocks the thread it is called on, so a worker keeps the caller free to encode the
 * previous batch, upload, and report progress while the device works).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { Worker } from "node:worker_threads";
import { InferenceError } from "./errors.js";

export type Device = "auto" | "cpu" | "cuda" | "webgpu";
export type Provider = "cpu" | "cuda" | "webgpu";

/** A tensor crossing the thread boundary. */
export interface WireTensor {
  type: "float32" | "float64" | "float16" | "int32" | "int64" | "bool" | "uint16";
  dims: number[];
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint16Array | Uint8Array;
}

export interface SessionSpec {
  /** Model bytes, or the path of a model file (needed when it has external data). */
  model: Uint8Array | string;
  /** Providers to try in order; the first that creates a session wins. */
  providers: Provider[];
  deviceId?: number;
  /** CPU threads for ORT's intra-op pool (default: all cores). */
  threads?: number;
  /** Folder holding the model's external data files (the model comes as bytes). */
  externalDataFolder?: string;
}

export interface SessionCreated {
  provider: Provider;
  inputNames: string[];
  outputNames: string[];
  /** Why the providers before `provider` failed. */
  failures: { provider: Provider; message: string }[];
}

export interface Runner {
  create(key: string, spec: SessionSpec): Promise<SessionCreated>;
  run(key: string, feeds: Record<string, WireTensor>, fetches: string[]): Promise<Record<string, WireTensor>>;
  release(key: string): Promise<void>;
  close(): Promise<void>;
}

/** Install hints for the providers onnxruntime-node does not bundle or cannot always start. */
export const PROVIDER_HINTS: Record<Provider, string> = {
  cpu: "",
  cuda:
    "the CUDA provider is not bundled with onnxruntime-node: its install step downloads it (linux x64, CUDA 12). " +
    "Reinstall with the step allowed and CUDA 12 + cuDNN 9 on the library path: " +
    "`ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` (pnpm 10 skips install scripts: " +
    "`pnpm approve-builds` first, then `ONNXRUNTIME_NODE_INSTALL=cuda12 pnpm rebuild onnxruntime-node`)",
  webgpu:
    "the WebGPU provider (bundled) found no adapter: it needs a GPU driver with Vulkan on Linux " +
    "(libvulkan.so.1 and the vendor's ICD), D3D12 on Windows or Metal on macOS",
};

type Ort = typeof import("onnxruntime-node");

/**
 * Why a provider certainly cannot start here, checked without starting it (starting a missing provider makes the
 * native code print to stderr); undefined when it may work.
 */
export function providerMissing(p: Provider): string | undefined {
  if (p === "cpu") {
    return undefined;
  }
  if (p === "cuda") {
    let bin: string;
    try {
      const pkg = createRequire(import.meta.url).resolve("onnxruntime-node/package.json");
      bin = join(dirname(pkg), "bin", "napi-v6", process.platform, process.arch);
    } catch {
      return undefined; // unusual layout: let ORT decide
    }
    const lib = process.platform === "win32" ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so";
    return existsSync(join(bin, lib)) ? undefined : `${lib} is not installed in ${bin}`;
  }
  if (process.platform === "linux") {
    const dirs = [
      ...(process.env["LD_LIBRARY_PATH"] ?? "").split(":").filter((d) => d !== ""),
      `/usr/lib/${process.arch === "arm64" ? "aarch64" : "x86_64"}-linux-gnu`,
      "/usr/lib64",
      "/usr/lib",
      "/lib64",
      "/usr/local/lib",
    ];
    return dirs.some((d) => existsSync(join(d, "libvulkan.so.1")))
      ? undefined
      : "libvulkan.so.1 (the Vulkan loader) was not found";
  }
  return undefined;
}

let ortPromise: Promise<Ort> | undefined;

/** Loads onnxruntime-node once (a native addon), with an actionable error when it is missing. */
export function loadOrt(): Promise<Ort> {
  ortPromise ??= import("onnxruntime-node").then(
    (m) => {
      const ort = ((m as { default?: Ort }).default ?? m) as Ort;
      // Failures reach the caller as exceptions; keep ORT's process-wide logger from printing them too.
      ort.env.logLevel = "fatal";
      return ort;
    },
    (error: unknown) => {
      ortPromise = undefined;
      throw new InferenceError(
        "RUNTIME_UNAVAILABLE",
        `onnxruntime-node could not be loaded: ${(error as Error).message}`,
        { hint: "install it (`npm i onnxruntime-node`); ONNXRUNTIME_NODE_INSTALL=skip skips its CUDA download" },
        { cause: error },
      );
    },
  );
  return ortPromise;
}

type Session = Awaited<ReturnType<Ort["InferenceSession"]["create"]>>;

function providerOption(p: Provider, deviceId: number | undefined): string | { name: string; deviceId?: number } {
  if (p === "cpu") {
    return "cpu";
  }
  return deviceId === undefined || p === "webgpu" ? { name: p } : { name: p, deviceId };
}

/** Sessions on the calling thread. */
export class LocalRunner implements Runner {
  readonly #sessions = new Map<string, Session>();
  #closed = false;

  async create(key: string, spec: SessionSpec): Promise<SessionCreated> {
    this.#check();
    const ort = await loadOrt();
    const failures: { provider: Provider; message: string }[] = [];
    for (const provider of spec.providers) {
      const missing = providerMissing(provider);
      if (missing !== undefined) {
        failures.push({ provider, message: missing });
        continue;
      }
      try {
        const options = {
          executionProviders: [providerOption(provider, spec.deviceId)],
          intraOpNumThreads: spec.threads ?? availableParallelism(),
          graphOptimizationLevel: "all" as const,
          logSeverityLevel: 3 as const, // errors only: a library does not print warnings
          ...(spec.externalDataFolder !== undefined
            ? { extra: { session: { model_external_initializers_file_folder_path: spec.externalDataFolder } } }
            : {}),
        };
        const session =
          typeof spec.model === "string"
            ? await ort.InferenceSession.create(spec.model, options)
            : await ort.InferenceSession.create(spec.model, options);
        await this.release(key);
        this.#sessions.set(key, session);
        return {
          provider,
          inputNames: [...session.inputNames],
          outputNames: [...session.outputNames],
          failures,
        };
      } catch (error) {
        failures.push({ provider, message: (error as Error).message });
      }
    }
    const last = failures[failures.length - 1];
    const only = spec.providers.length === 1 ? spec.providers[0] : undefined;
    if (only !== undefined && only !== "cpu") {
      throw new InferenceError(
        "PROVIDER_UNAVAILABLE",
        `could not start the ${only} execution provider: ${last?.message ?? "unknown error"}`,
        { provider: only, hint: PROVIDER_HINTS[only] },
      );
    }
    throw new InferenceError(
      "RUN_FAILED",
      `could not create a session (${failures.map((f) => `${f.provider}: ${f.message}`).join("; ")})`,
      last === undefined ? {} : { provider: last.provider },
    );
  }

  async run(key: string, feeds: Record<string, WireTensor>, fetches: string[]): Promise<Record<string, WireTensor>> {
    this.#check();
    const session = this.#sessions.get(key);
    if (session === undefined) {
      throw new InferenceError("RUN_FAILED", `no session "${key}"`);
    }
    const ort = await loadOrt();
    const inputs: Record<string, InstanceType<Ort["Tensor"]>> = {};
    for (const [name, t] of Object.entries(feeds)) {
      inputs[name] =
        t.type === "bool"
          ? new ort.Tensor("bool", t.data as Uint8Array, t.dims)
          : t.type === "float16"
            ? new ort.Tensor("float16", t.data as Uint16Array, t.dims)
            : new ort.Tensor(t.type as "float32", t.data as Float32Array, t.dims);
    }
    let result: Record<string, InstanceType<Ort["Tensor"]>>;
    try {
      result = (await session.run(inputs, fetches)) as Record<string, InstanceType<Ort["Tensor"]>>;
    } catch (error) {
      throw new InferenceError("RUN_FAILED", `session run failed: ${(error as Error).message}`, {}, { cause: error });
    }
    const out: Record<string, WireTensor> = {};
    for (const name of fetches) {
      const t = result[name];
      if (t === undefined) {
        throw new InferenceError("RUN_FAILED", `the session returned no output "${name}"`);
      }
      out[name] = { type: t.type as WireTensor["type"], dims: [...t.dims], data: t.data as WireTensor["data"] };
    }
    return out;
  }

  async release(key: string): Promise<void> {
    const s = this.#sessions.get(key);
    if (s !== undefined) {
      this.#sessions.delete(key);
      await s.release();
    }
  }

  async close(): Promise<void> {
    for (const key of [...this.#sessions.keys()]) {
      await this.release(key);
    }
    this.#closed = true;
  }

  #check(): void {
    if (this.#closed) {
      throw new InferenceError("CLOSED", "the teacher was closed");
    }
  }
}

type Request =
  | { op: "create"; id: number; key: string; spec: SessionSpec }
  | { op: "run"; id: number; key: string; feeds: Record<string, WireTensor>; fetches: string[] }
  | { op: "release"; id: number; key: string }
  | { op: "close"; id: number };

type Reply =
  | { id: number; ok: true; value: unknown }
  | {
      id: number;
      ok: false;
      error: { name: string; message: string; code?: string; provider?: string; hint?: string };
    };

/** Sessions in a worker thread; same interface. */
export class WorkerRunner implements Runner {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #next = 0;
  #dead: Error | undefined;

  constructor() {
    const url = new URL(
      import.meta.url.endsWith(".ts") ? "./runtime-worker.ts" : "./runtime-worker.js",
      import.meta.url,
    );
    this.#worker = url.href.endsWith(".ts")
      ? new Worker(
          `import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); });`,
          { eval: true },
        )
      : new Worker(url);
    this.#worker.unref();
    this.#worker.on("message", (msg: Reply) => {
      const p = this.#pending.get(msg.id);
      if (p === undefined) {
        return;
      }
      this.#pending.delete(msg.id);
      if (msg.ok) {
        p.resolve(msg.value);
      } else {
        const e = msg.error;
        const err =
          e.name === "InferenceError" && e.code !== undefined
            ? new InferenceError(e.code as never, "", {
                ...(e.provider !== undefined ? { provider: e.provider } : {}),
                ...(e.hint !== undefined ? { hint: e.hint } : {}),
              })
            : new InferenceError("RUN_FAILED", "");
        err.message = e.message; // already formatted by the worker's InferenceError
        p.reject(err);
      }
    });
    const fail = (error: Error): void => {
      this.#dead = new InferenceError(
        "RUN_FAILED",
        `the session worker stopped: ${error.message}`,
        {},
        { cause: error },
      );
      for (const p of this.#pending.values()) {
        p.reject(this.#dead);
      }
      this.#pending.clear();
    };
    this.#worker.on("error", fail);
    this.#worker.on("exit", (code) => {
      if (this.#pending.size > 0) {
        fail(new Error(`exit code ${code}`));
      }
    });
  }

  #call<T>(req: Request, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.#dead !== undefined) {
      return Promise.reject(this.#dead);
    }
    this.#worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(req.id, {
        resolve: (v) => {
          if (this.#pending.size === 0) {
            this.#worker.unref();
          }
          resolve(v as T);
        },
        reject: (e) => {
          if (this.#pending.size === 0) {
            this.#worker.unref();
          }
          reject(e);
        },
      });
      this.#worker.postMessage(req, transfer);
    });
  }

  create(key: string, spec: SessionSpec): Promise<SessionCreated> {
    const m = spec.model;
    // Hand a model buffer over instead of copying it (the caller built it for this session).
    const transfer =
      typeof m !== "string" &&
      m.byteOffset === 0 &&
      m.byteLength === m.buffer.byteLength &&
      m.buffer instanceof ArrayBuffer
        ? [m.buffer]
        : [];
    return this.#call({ op: "create", id: this.#next++, key, spec }, transfer);
  }

  run(key: string, feeds: Record<string, WireTensor>, fetches: string[]): Promise<Record<string, WireTensor>> {
    return this.#call({ op: "run", id: this.#next++, key, feeds, fetches });
  }

  release(key: string): Promise<void> {
    return this.#call({ op: "release", id: this.#next++, key });
  }

  async close(): Promise<void> {
    if (this.#dead === undefined) {
      try {
        await this.#call({ op: "close", id: this.#next++ });
      } finally {
        this.#dead = new InferenceError("CLOSED", "the teacher was closed");
        await this.#worker.terminate();
      }
    }
  }
}

/** The worker's side: a LocalRunner answering messages. */
export function serveRunner(port: {
  on(event: "message", fn: (req: Request) => void): void;
  postMessage(msg: Reply): void;
}): void {
  const local = new LocalRunner();
  port.on("message", (req) => {
    const done = (p: Promise<unknown>): void => {
      p.then(
        (value) => port.postMessage({ id: req.id, ok: true, value }),
        (error: unknown) => {
          const e = error as InferenceError;
          port.postMessage({
            id: req.id,
            ok: false,
            error: {
              name: e.name,
              message: e.message,
              ...(e.code !== undefined ? { code: e.code } : {}),
              ...(e.provider !== undefined ? { provider: e.provider } : {}),
              ...(e.hint !== undefined ? { hint: e.hint } : {}),
            },
          });
        },
      );
    };
    switch (req.op) {
      case "create":
        done(local.create(req.key, req.spec));
        break;
      case "run":
        done(local.run(req.key, req.feeds, req.fetches));
        break;
      case "release":
        done(local.release(req.key));
        break;
      case "close":
        done(local.close());
        break;
    }
  });
}
