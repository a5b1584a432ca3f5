import { spawnSync } from "node:child_process";

/**
 * A Python for interop tests: `LOGITPACK_PYTHON`, else `python3` on PATH, if it imports every module in `modules`.
 * Returns the executable, or the reason there is none (the caller skips and prints it).
 */
export function findPython(modules: readonly string[]): { python?: string; reason?: string } {
  const candidates = [process.env.LOGITPACK_PYTHON, "python3"].filter((p): p is string => Boolean(p));
  const reasons: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ["-c", `import ${modules.join(", ")}`], { encoding: "utf8", timeout: 60_000 });
    if (r.status === 0) {
      return { python };
    }
    reasons.push(`${python}: ${r.error ? r.error.message : (r.stderr.trim().split("\n").pop() ?? `exit ${r.status}`)}`);
  }
  return { reason: `no Python with ${modules.join(", ")} (${reasons.join("; ")}); set LOGITPACK_PYTHON` };
}

/** Run a Python snippet; returns stdout, throws with stderr on failure. */
export function runPython(python: string, code: string, args: readonly string[] = []): string {
  const r = spawnSync(python, ["-c", code, ...args], { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) {
    throw new Error(`python failed (${r.status}): ${r.stderr}`);
  }
  return r.stdout;
}
