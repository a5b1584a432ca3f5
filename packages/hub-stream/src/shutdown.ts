/** What `installShutdownHandlers` needs of `process` (injectable for tests). */
export interface SignalTarget {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

export interface ShutdownOptions {
  /** Stop after this many minutes (`--max-runtime-minutes`), the same way as a first Ctrl+C. */
  maxRuntimeMinutes?: number;
  /** Signals to handle (default SIGINT and SIGTERM). */
  signals?: string[];
  /** Told when a graceful stop starts: "SIGINT", "SIGTERM" or "max-runtime" (the CLI prints a hint). */
  onStop?: (reason: string) => void;
  /**
   * Called on the second signal: stop at once. Default: `process.exit(130)` (128 + SIGINT). Every file hub-stream
   * writes is atomic, so exiting at any point leaves a resumable state.
   */
  onForce?: (signal: string) => void;
  /** Default: `process`. */
  target?: SignalTarget;
}

export interface ShutdownHandle {
  /** Aborted on the first signal or at the time limit; `signal.reason` is the reason string. */
  readonly signal: AbortSignal;
  /** Why a stop was requested, or undefined. */
  readonly reason: string | undefined;
  /** Remove the handlers and the timer. */
  dispose(): void;
}

/**
 * Graceful shutdown, as the Python tool's GracefulInterrupt and TimedShutdown: the first SIGINT/SIGTERM (or the
 * time limit) aborts `signal`, and the caller stops producing rows and calls `writer.stop()`, which saves the
 * unflushed rows to `pending/` and waits for the running upload. A second signal stops at once (`onForce`).
 *
 * ```ts
 * const shutdown = installShutdownHandlers({ maxRuntimeMinutes: 55 });
 * for (const ex of examples) {
 *   if (shutdown.signal.aborted) break;
 *   await writer.write(await extract(ex));
 * }
 * await (shutdown.signal.aborted ? writer.stop(shutdown.reason) : writer.close());
 * shutdown.dispose();
 * ```
 */
export function installShutdownHandlers(options: ShutdownOptions = {}): ShutdownHandle {
  const target: SignalTarget = options.target ?? process;
  const signals = options.signals ?? ["SIGINT", "SIGTERM"];
  const controller = new AbortController();
  let reason: string | undefined;
  const request = (why: string) => {
    if (reason !== undefined) {
      return false;
    }
    reason = why;
    controller.abort(why);
    options.onStop?.(why);
    return true;
  };
  const listener = (...args: unknown[]) => {
    const sig = typeof args[0] === "string" ? args[0] : "SIGINT";
    if (!request(sig)) {
      if (options.onForce) {
        options.onForce(sig);
      } else {
        process.exit(130);
      }
    }
  };
  for (const s of signals) {
    target.on(s, listener);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (options.maxRuntimeMinutes !== undefined) {
    timer = setTimeout(() => request("max-runtime"), options.maxRuntimeMinutes * 60_000);
    timer.unref?.();
  }
  return {
    signal: controller.signal,
    get reason() {
      return reason;
    },
    dispose() {
      for (const s of signals) {
        target.off(s, listener);
      }
      if (timer) {
        clearTimeout(timer);
      }
    },
  };
}
