import { spawnSync } from "node:child_process";

/**
 * A Python with the given modules for interop tests: `LOGITPACK_PYTHON`, else `python3` on PATH. Undefined (and
 * the reason, which the test prints) when none is found or a module does not import.
 */
export function findPython(modules: string[]): { python?: string; reason?: string } {
  const python = process.env.LOGITPACK_PYTHON || "python3";
  const r = spawnSync(python, ["-c", modules.map((m) => `import ${m}`).join("; ")], { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? r.stderr.trim().split("\n").pop();
    return {
      reason: `${python} cannot import ${modules.join(", ")} (${why}); set LOGITPACK_PYTHON to a Python that can`,
    };
  }
  return { python };
}

/** Run a Python script; its stdout parsed as JSON. */
export function runPython(python: string, script: string, args: string[] = []): unknown {
  const r = spawnSync(python, ["-c", script, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    throw new Error(`python failed: ${r.stderr}`);
  }
  return JSON.parse(r.stdout);
}
