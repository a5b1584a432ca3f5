import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const BIN = join(import.meta.dirname, "..", "dist", "bin.js");

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON lines (lines that are not JSON are left out). */
  events: Record<string, unknown>[];
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Called for every JSON line on stdout as it arrives (with --json). */
  onEvent?: (event: Record<string, unknown>, child: ChildProcess) => void;
  timeoutMs?: number;
}

/** Runs `node dist/bin.js ...args` and collects its output. */
export function run(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      // HF_ENDPOINT defaults to a refused local port: no test can reach the real Hub by accident
      env: { ...process.env, HF_ENDPOINT: "http://127.0.0.1:9", NO_COLOR: "1", FORCE_COLOR: undefined, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let pending = "";
    const events: Record<string, unknown>[] = [];
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
      pending += chunk;
      let nl = pending.indexOf("\n");
      while (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        nl = pending.indexOf("\n");
        try {
          const e = JSON.parse(line) as Record<string, unknown>;
          events.push(e);
          options.onEvent?.(e, child);
        } catch {
          // not a JSON line
        }
      }
    });
    child.stderr.on("data", (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`timed out: logitpack ${args.join(" ")}\n${stderr}`));
    }, options.timeoutMs ?? 110_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, events });
    });
  });
}

/** A fresh temporary folder, removed by the returned function. */
export function tempDir(prefix = "logitpack-cli-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** stderr lines that start with "error:". */
export function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.startsWith("error:"));
}
