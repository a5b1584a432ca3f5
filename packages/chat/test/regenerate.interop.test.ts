/**
 * Interop: regenerating the goldens with Python's transformers gives byte-identical files (the goldens are current
 * and the generator is deterministic). Needs Python with transformers, tokenizers, jinja2 and trl (installed with
 * `pip install --no-deps trl`: the generator reads its original templates as files and never imports it;
 * LOGITPACK_PYTHON, else python3 on PATH) and the built package (the generator reads the built-ins from dist/). Skips
 * with the reason printed otherwise. Another transformers version than the goldens' is fine as long as the outputs are identical.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..", "..", "..");

function pythonReady(): string | undefined {
  const python = process.env.LOGITPACK_PYTHON ?? "python3";
  const probe = spawnSync(
    python,
    ["-c", "import importlib.util, jinja2, tokenizers, transformers\nassert importlib.util.find_spec('trl')"],
    {
      encoding: "utf8",
      env: { ...process.env, TRANSFORMERS_VERBOSITY: "error" },
    },
  );
  if (probe.status !== 0) {
    return `skipped: ${python} cannot import transformers, tokenizers and jinja2, or has no trl (pip install --no-deps trl)`;
  }
  if (!existsSync(join(HERE, "..", "dist", "index.js"))) {
    return "skipped: packages/chat/dist is not built (pnpm --filter @logitpack/chat build)";
  }
  return undefined;
}

const reason = pythonReady();
if (reason !== undefined) {
  console.log(`[chat interop] ${reason}`);
}

describe.skipIf(reason !== undefined)("goldens regenerate byte-identically with transformers", () => {
  it("tools/chat-conformance/generate.py --check reports identical files", () => {
    const python = process.env.LOGITPACK_PYTHON ?? "python3";
    const out = execFileSync(python, [join(ROOT, "tools", "chat-conformance", "generate.py"), "--check"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, TRANSFORMERS_VERBOSITY: "error" },
    });
    expect(out.trim().split("\n").pop()).toBe("identical");
  }, 300_000);
});
