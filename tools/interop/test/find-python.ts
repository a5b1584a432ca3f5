/** What the interop test files share: the repository root, the built CLI, and the Python they run. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const CLI_BIN = join(ROOT, "packages", "cli", "dist", "bin.js");

/** Throws when the CLI is not built (`pnpm build`, or `pnpm test`, which builds first). */
export function requireBuiltCli(): void {
  if (!existsSync(CLI_BIN)) {
    throw new Error(`the CLI is not built (${CLI_BIN}): run pnpm build first`);
  }
}

/**
 * The Python a test file runs: `LOGITPACK_PYTHON`, else `python3` on PATH, when it imports every one of `modules`
 * (import names, which are also their pip names here). Otherwise says why, once, on stderr (`[interop] <what>
 * skipped: ...`), and the file's tests skip.
 */
export function findPython(what: string, modules: readonly string[]): { python?: string; reason?: string } {
  const python = process.env.LOGITPACK_PYTHON ?? "python3";
  const r = spawnSync(python, ["-c", `import ${modules.join(", ")}`], { encoding: "utf8" });
  let reason: string | undefined;
  if (r.error) {
    reason = `no Python (${python}: ${r.error.message}); set LOGITPACK_PYTHON`;
  } else if (r.status !== 0) {
    const list = `${modules.slice(0, -1).join(", ")} or ${modules.at(-1)}`;
    reason = `${python} lacks ${list} (pip install ${modules.join(" ")}): ${r.stderr.trim().split("\n").at(-1)}`;
  }
  if (reason !== undefined) {
    console.warn(`[interop] ${what} skipped: ${reason}`);
    return { reason };
  }
  return { python };
}

/**
 * A temporary folder, removed after the file's tests, and the environment the CLI and Python run with there:
 * offline, Hugging Face caches inside the folder, no colour.
 */
export function workspace(prefix: string): { work: string; env: NodeJS.ProcessEnv } {
  const work = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const env = {
    ...process.env,
    HF_HUB_OFFLINE: "1",
    HF_HOME: join(work, "hf-home"),
    HF_DATASETS_CACHE: join(work, "hf-datasets"),
    NO_COLOR: "1",
  };
  return { work, env };
}
