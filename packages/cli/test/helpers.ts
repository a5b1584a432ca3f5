import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { embeddedTokenizerDir } from "../src/lib/inputs.js";

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

/** A stream that collects what is written (and tells each complete line). */
function collector(onLine?: (line: string) => void): { stream: NodeJS.WriteStream; text: () => string } {
  let text = "";
  let pending = "";
  const stream = {
    isTTY: false,
    columns: 100,
    write(chunk: string | Uint8Array): boolean {
      const s = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      text += s;
      pending += s;
      let nl = pending.indexOf("\n");
      while (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        nl = pending.indexOf("\n");
        onLine?.(line);
      }
      return true;
    },
  };
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

export interface CliOptions {
  /** Working folder for the run (process.chdir, restored after). */
  cwd?: string;
  /** Variables set in process.env for the run (restored after; undefined removes one). */
  env?: Record<string, string | undefined>;
  /** Called for every JSON line on stdout as it is written. */
  onEvent?: (event: Record<string, unknown>) => void;
}

/**
 * Runs `logitpack ...args` in this process (`runCli` with collected streams): the same parsing, library calls and
 * rendering as the command, without a process start. Same result shape as `run` (`signal` is always null).
 */
export async function cli(args: string[], options: CliOptions = {}): Promise<RunResult> {
  const { runCli } = await import("../src/cli.js");
  const events: Record<string, unknown>[] = [];
  const stdout = collector((line) => {
    try {
      const e = JSON.parse(line) as Record<string, unknown>;
      events.push(e);
      options.onEvent?.(e);
    } catch {
      // not a JSON line
    }
  });
  const stderr = collector();
  return withEnv(options.env ?? {}, async () => {
    const cwd = process.cwd();
    if (options.cwd) {
      process.chdir(options.cwd);
    }
    try {
      const code = await runCli(args, { stdout: stdout.stream, stderr: stderr.stream, env: process.env });
      return { code, signal: null, stdout: stdout.text(), stderr: stderr.text(), events };
    } finally {
      process.chdir(cwd);
    }
  });
}

/** Sets (or with undefined removes) a variable of process.env for the duration of `fn`. */
export async function withEnv<T>(env: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(env)) {
    saved.set(k, process.env[k]);
    setEnv(k, v);
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      setEnv(k, v);
    }
  }
}

function setEnv(k: string, v: string | undefined): void {
  if (v === undefined) {
    delete process.env[k];
  } else {
    process.env[k] = v;
  }
}

/** The tiny model's cache shared by every test file (generated once by the global setup). */
export function sharedModelCache(): string {
  const dir = process.env.LOGITPACK_TEST_MODEL_CACHE;
  if (!dir) {
    throw new Error("LOGITPACK_TEST_MODEL_CACHE is not set: run the tests through vitest (test/global-setup.ts)");
  }
  return dir;
}

/** Lengths of the bundled dataset (runLengths, once per test run, by the global setup). */
export function sharedLengths(): string {
  const file = process.env.LOGITPACK_TEST_LENGTHS;
  if (!file) {
    throw new Error("LOGITPACK_TEST_LENGTHS is not set: run the tests through vitest (test/global-setup.ts)");
  }
  return file;
}

/**
 * A model folder `dir/name` with the tiny model's tokenizer.json, `config.json` of the given `model_type`, and
 * `tokenizerConfig` as tokenizer_config.json (default: the tiny model's own).
 */
export function modelFolder(dir: string, name: string, modelType: string, tokenizerConfig?: object): string {
  const d = join(dir, name);
  const tok = embeddedTokenizerDir();
  mkdirSync(d, { recursive: true });
  copyFileSync(join(tok, "tokenizer.json"), join(d, "tokenizer.json"));
  if (tokenizerConfig === undefined) {
    copyFileSync(join(tok, "tokenizer_config.json"), join(d, "tokenizer_config.json"));
  } else {
    writeFileSync(join(d, "tokenizer_config.json"), JSON.stringify(tokenizerConfig));
  }
  writeFileSync(join(d, "config.json"), JSON.stringify({ model_type: modelType }));
  return d;
}
