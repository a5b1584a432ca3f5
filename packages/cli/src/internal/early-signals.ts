/**
 * Signals that arrive while the command starts (modules loading, flags parsed) are held here instead of killing the
 * process before its handlers exist: `bin.ts` installs this first, before importing anything slow. `extract`'s stop
 * signal takes what arrived (a Ctrl+C during start-up stops the run cleanly); every other command releases it (a
 * signal held meanwhile is raised again, so it acts as it would have).
 */
const SIGNALS = ["SIGINT", "SIGTERM"] as const;
const KEY = Symbol.for("logitpack.earlySignals");

interface Early {
  received: NodeJS.Signals[];
  handler: (sig: NodeJS.Signals) => void;
}

type Holder = { [KEY]?: Early };

/** Hold SIGINT/SIGTERM from now on; a second one exits at once, by the signal. */
export function installEarlySignals(): void {
  const holder = globalThis as Holder;
  if (holder[KEY]) {
    return;
  }
  const early: Early = {
    received: [],
    handler: (sig) => {
      early.received.push(sig);
      if (early.received.length > 1) {
        stopHolding();
        process.kill(process.pid, sig);
      }
    },
  };
  holder[KEY] = early;
  for (const s of SIGNALS) {
    process.on(s, early.handler);
  }
}

function stopHolding(): Early | undefined {
  const holder = globalThis as Holder;
  const early = holder[KEY];
  if (early) {
    for (const s of SIGNALS) {
      process.off(s, early.handler);
    }
    delete holder[KEY];
  }
  return early;
}

/** Stop holding signals and return those that arrived (the caller acts on them). */
export function takeEarlySignals(): NodeJS.Signals[] {
  return stopHolding()?.received ?? [];
}

/** Stop holding signals; one that arrived meanwhile is raised again (default action: the process ends by it). */
export function releaseEarlySignals(): void {
  const first = takeEarlySignals()[0];
  if (first !== undefined) {
    process.kill(process.pid, first);
  }
}
