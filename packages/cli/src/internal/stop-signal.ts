/**
 * The CLI's AbortSignal for a run: aborted by the first SIGINT/SIGTERM (reason: the signal name) or when
 * --max-runtime-minutes have passed since the process started (reason `max-runtime`). A second signal exits at
 * once, by the signal itself (the shell sees 130 for SIGINT): every file is written atomically, so leaving without
 * cleanup keeps the output resumable.
 */
import type { Output } from "./output.js";

export interface StopSignal {
  signal: AbortSignal;
  dispose(): void;
}

export function stopSignal(out: Output, maxRuntimeMinutes: number | undefined): StopSignal {
  const controller = new AbortController();
  const signals = ["SIGINT", "SIGTERM"] as const;
  const onSignal = (sig: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      controller.abort(sig);
      return;
    }
    out.clearStatus();
    out.error(`${sig} again: exiting now; the output and cache stay resumable (--resume)`);
    // process.exit would tear ONNX Runtime down while a run is in flight (a native abort): die by the signal
    process.removeAllListeners(sig);
    process.kill(process.pid, sig);
  };
  for (const s of signals) {
    process.on(s, onSignal);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (maxRuntimeMinutes !== undefined) {
    // the limit counts from the process start, not from the first batch: model loading and lengths count too
    const left = maxRuntimeMinutes * 60_000 - process.uptime() * 1000;
    timer = setTimeout(() => controller.abort("max-runtime"), Math.max(0, left));
    timer.unref();
  }
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      for (const s of signals) {
        process.off(s, onSignal);
      }
    },
  };
}
