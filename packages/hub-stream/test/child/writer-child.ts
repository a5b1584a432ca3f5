/**
 * A writer process for the reliability tests: produces rows 0..n-1 (deterministic per index and seed) into a
 * folder or a Hub repo, printing one JSON line per event on stdout. Built by test/global-setup.ts and run with
 * `node`, so the tests can kill -9 it or send it signals.
 */
import { createSink, installShutdownHandlers, type SinkSpec, StreamingWriter } from "../../src/index.js";
import { makeRow, SETTINGS } from "../helpers.js";

interface ChildConfig {
  folder?: string;
  hubUrl?: string;
  repo?: string;
  cacheDir: string;
  n: number;
  seed: number;
  uploadEvery: number;
  /** Busy work per row, ms (stands in for the GPU). */
  rowMs: number;
  signals?: boolean;
  maxRuntimeMinutes?: number;
}

const config = JSON.parse(process.argv[2] ?? "{}") as ChildConfig;
const say = (event: string, data: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);

const spec: SinkSpec = config.folder
  ? { folder: config.folder }
  : {
      hub: true,
      repo: config.repo ?? "me/child",
      hubUrl: config.hubUrl,
      retry: { retries: 8, minDelayMs: 5, maxDelayMs: 50 },
    };
const sink = await createSink(spec);
const shutdown =
  config.signals || config.maxRuntimeMinutes !== undefined
    ? installShutdownHandlers({
        maxRuntimeMinutes: config.maxRuntimeMinutes,
        signals: config.signals ? ["SIGINT", "SIGTERM"] : [],
        onStop: (reason) => say("stop-requested", { reason }),
      })
    : undefined;
const writer = await StreamingWriter.open({
  sink,
  cacheDir: config.cacheDir,
  settings: SETTINGS,
  uploadEvery: config.uploadEvery,
  onEvent: (e) => {
    if (
      e.type === "shard-start" ||
      e.type === "shard-uploaded" ||
      e.type === "stopping" ||
      e.type === "pending-saved"
    ) {
      say(e.type, { path: e.type === "stopping" ? e.reason : e.path });
    }
  },
});
say("opened", { done: writer.resume.done.size });
let written = 0;
for (let i = 0; i < config.n; i++) {
  if (shutdown?.signal.aborted) {
    break;
  }
  if (writer.isDone(i)) {
    continue;
  }
  const until = performance.now() + config.rowMs;
  while (performance.now() < until) {
    // busy: the "GPU"
  }
  await writer.write(makeRow(i, config.seed));
  written++;
  if (config.rowMs > 0 && written % 8 === 0) {
    await new Promise((r) => setImmediate(r));
  }
}
const summary = shutdown?.signal.aborted ? await writer.stop(shutdown.reason) : await writer.close();
shutdown?.dispose();
say("finished", { written, pendingFile: summary.pendingFile ?? null, backups: summary.backups.length });
