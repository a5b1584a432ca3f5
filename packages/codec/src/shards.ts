/**
 * Many shards decoded on worker threads, for training loops: `readShards(paths, { threads })` from
 * `@logitpack/codec/node`. Each worker opens one shard at a time and streams its row groups back; a batch's typed
 * arrays are transferred (moved, not copied) to the caller's thread. This module is also the workers' entry point.
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { CodecError, type CodecErrorCode } from "./errors.js";
import type { LogitBatch } from "./types.js";

export interface ReadShardsOptions {
  /** Worker threads (default: 2). Each decodes one shard at a time. */
  threads?: number;
  /** Check page checksums (default true). */
  verifyChecksums?: boolean;
}

export interface ShardBatch {
  /** The shard (as passed in) this batch came from. */
  path: string;
  /** Position of that shard in `paths`. */
  shard: number;
  batch: LogitBatch;
}

type ToWorker = { type: "open"; shard: number; path: string } | { type: "next" } | { type: "stop" };
type FromWorker =
  | { type: "batch"; shard: number; batch: LogitBatch }
  | { type: "done"; shard: number }
  | {
      type: "error";
      shard: number;
      error: { code?: CodecErrorCode; message: string; file?: string; row?: number; column?: string };
    };

const WORKER_FLAG = "logitpack.shardWorker";

/**
 * Decode the shards at `paths` on `threads` worker threads; yields every row group of every shard as it is ready
 * (shards interleave; within a shard, row groups come in order). Each worker holds at most one decoded row group
 * waiting for the caller, so memory stays bounded by `threads` row groups. A damaged shard throws its CodecError.
 */
export async function* readShards(
  paths: readonly string[],
  options: ReadShardsOptions = {},
): AsyncGenerator<ShardBatch> {
  const threads = Math.max(1, Math.min(options.threads ?? 2, paths.length));
  if (paths.length === 0) {
    return;
  }
  const workers: Worker[] = [];
  const queue: (FromWorker & { worker: Worker })[] = [];
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  let nextShard = 0;
  let active = 0;
  const assign = (w: Worker): boolean => {
    if (nextShard >= paths.length) {
      return false;
    }
    const shard = nextShard++;
    w.postMessage({ type: "open", shard, path: paths[shard] } satisfies ToWorker);
    return true;
  };
  for (let i = 0; i < threads; i++) {
    const data = { [WORKER_FLAG]: true, verifyChecksums: options.verifyChecksums !== false };
    // Run from the TypeScript sources (tests, benchmarks under tsx), the worker registers tsx before loading them.
    const w = import.meta.url.endsWith(".ts")
      ? new Worker(
          `import("tsx/esm/api").then((t) => { t.register(); return import(${JSON.stringify(import.meta.url)}); })`,
          { eval: true, workerData: data },
        )
      : new Worker(new URL(import.meta.url), { workerData: data });
    w.on("message", (m: FromWorker) => {
      queue.push({ ...m, worker: w });
      wake?.();
    });
    w.on("error", (e) => {
      failure ??= e;
      wake?.();
    });
    workers.push(w);
    if (assign(w)) {
      active++;
    }
  }
  try {
    while (active > 0) {
      if (queue.length === 0 && !failure) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
      if (failure) {
        throw failure;
      }
      const m = queue.shift();
      if (!m) {
        continue;
      }
      if (m.type === "batch") {
        m.worker.postMessage({ type: "next" } satisfies ToWorker);
        yield { path: paths[m.shard] as string, shard: m.shard, batch: m.batch };
      } else if (m.type === "done") {
        if (!assign(m.worker)) {
          active--;
        }
      } else {
        const e = m.error;
        throw e.code
          ? new CodecError(e.code, e.message.replace(/^\[codec\] (?:[^:]*?: )?/, ""), {
              file: e.file,
              row: e.row,
              column: e.column,
            })
          : new Error(e.message);
      }
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Every ArrayBuffer a batch's typed arrays view (moved to the receiving thread). */
function buffersOf(batch: LogitBatch): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  const visit = (v: unknown): void => {
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer) {
        set.add(v.buffer);
      }
    } else if (v && typeof v === "object") {
      for (const x of Object.values(v)) {
        visit(x);
      }
    }
  };
  visit(batch);
  return [...set];
}

async function workerMain(): Promise<void> {
  const port = parentPort;
  if (!port) {
    return;
  }
  const { openLogitFileAt } = await import("./node.js");
  const verifyChecksums = (workerData as { verifyChecksums: boolean }).verifyChecksums;
  let credit: (() => void) | undefined;
  const opens: { shard: number; path: string }[] = [];
  let wakeOpen: (() => void) | undefined;
  port.on("message", (m: ToWorker) => {
    if (m.type === "next") {
      credit?.();
    } else if (m.type === "open") {
      opens.push(m);
      wakeOpen?.();
    } else {
      process.exit(0);
    }
  });
  for (;;) {
    if (opens.length === 0) {
      await new Promise<void>((resolve) => {
        wakeOpen = resolve;
      });
      wakeOpen = undefined;
    }
    const { shard, path } = opens.shift() as { shard: number; path: string };
    try {
      const file = await openLogitFileAt(path, { verifyChecksums });
      for await (const batch of file.batches()) {
        const acked = new Promise<void>((resolve) => {
          credit = resolve;
        });
        let transfer = buffersOf(batch);
        try {
          port.postMessage({ type: "batch", shard, batch } satisfies FromWorker, transfer);
        } catch {
          transfer = [];
          port.postMessage({ type: "batch", shard, batch } satisfies FromWorker);
        }
        await acked;
      }
      port.postMessage({ type: "done", shard } satisfies FromWorker);
    } catch (error) {
      const e = error as CodecError;
      port.postMessage({
        type: "error",
        shard,
        error: { code: e.code, message: e.message, file: e.file, row: e.row, column: e.column },
      } satisfies FromWorker);
    }
  }
}

if (!isMainThread && (workerData as Record<string, unknown> | null)?.[WORKER_FLAG]) {
  void workerMain();
}
