/**
 * Worker thread of `datasetStatsParallel`: accumulates the row groups it is sent into its own state and sends the
 * state back when told to finish. Started from `dist/stats-worker.js` (or this file through tsx in tests).
 */
import { parentPort } from "node:worker_threads";
import type { LogitFile } from "@logitpack/codec";
import type { ShardLocator } from "./dataset.js";
import { newState } from "./internal/accumulator.js";
import { openLocator } from "./internal/open-locator.js";
import { accumulateFile } from "./stats.js";

export type StatsJob =
  | { type: "group"; id: number; key: string; locator: ShardLocator; group: number; path?: "columns" | "batches" }
  | { type: "finish" };

const port = parentPort;
if (port) {
  const state = newState();
  const files = new Map<string, Promise<LogitFile>>();
  port.on("message", async (job: StatsJob) => {
    if (job.type === "finish") {
      port.postMessage({ type: "state", state });
      return;
    }
    try {
      let file = files.get(job.key);
      if (!file) {
        file = openLocator(job.locator);
        files.set(job.key, file);
      }
      const options: { groups: number[]; path?: "columns" | "batches" } = { groups: [job.group] };
      if (job.path) {
        options.path = job.path;
      }
      await accumulateFile(state, await file, options);
      port.postMessage({ type: "done", id: job.id, rows: state.rows, tokens: state.tokens });
    } catch (error) {
      const e = error as Error & { code?: string };
      port.postMessage({ type: "error", id: job.id, message: e.message, code: e.code, name: e.name });
    }
  });
}
