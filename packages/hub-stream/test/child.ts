import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { CHILD_DIR } from "./global-setup.js";

export interface ChildRun {
  proc: ChildProcess;
  /** Events printed so far. */
  events: { event: string; [k: string]: unknown }[];
  /** Resolves when an event with this name has been printed `count` times (rejects if the child exits first). */
  waitFor(event: string, count?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

const CHILD = join(import.meta.dirname, "..", CHILD_DIR, "writer-child.js");
/** The lock holder (see child/lock-child.ts): `node LOCK_CHILD <cache dir>`. */
export const LOCK_CHILD = join(import.meta.dirname, "..", CHILD_DIR, "lock-child.js");

/** Start the writer child process with a config (see child/writer-child.ts). */
export function spawnChild(config: Record<string, unknown>, env: Record<string, string> = {}): ChildRun {
  return spawnProcess(process.execPath, [CHILD, JSON.stringify(config)], env);
}

/** Start a process that prints one JSON event per line on stdout. */
export function spawnProcess(command: string, args: string[], env: Record<string, string> = {}): ChildRun {
  const proc = spawn(command, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  const events: ChildRun["events"] = [];
  const waiters: { event: string; count: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  let err = "";
  let buf = "";
  const check = () => {
    for (const w of [...waiters]) {
      if (events.filter((e) => e.event === w.event).length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  proc.stdout?.on("data", (d: Buffer) => {
    buf += d.toString();
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim() !== "") {
        events.push(JSON.parse(line));
      }
      nl = buf.indexOf("\n");
    }
    check();
  });
  proc.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on("exit", (code, signal) => {
      for (const w of waiters.splice(0)) {
        w.reject(new Error(`child exited (${code ?? signal}) before "${w.event}"; stderr: ${err}`));
      }
      resolve({ code, signal });
    });
  });
  return {
    proc,
    events,
    exited,
    stderr: () => err,
    waitFor(event, count = 1) {
      return new Promise((resolve, reject) => {
        waiters.push({ event, count, resolve, reject });
        check();
      });
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
