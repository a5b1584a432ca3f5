import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, readFile, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHubServer } from "@logitpack/hub-server";
import { describe, expect, it } from "vitest";
import { downloadModel } from "../src/index.js";

// Interop: the cache downloadModel writes is the one Python's huggingface_hub reads (blobs/, snapshots/, refs/).
// Needs a Python with huggingface_hub: LOGITPACK_PYTHON, else python3 on PATH; skipped with the reason otherwise.
function findPython(): { python?: string; reason?: string } {
  const python = process.env.LOGITPACK_PYTHON ?? "python3";
  const r = spawnSync(python, ["-c", "import huggingface_hub"], { encoding: "utf8" });
  if (r.error !== undefined || r.status !== 0) {
    return {
      reason: `no Python with huggingface_hub (${python}: ${r.error?.message ?? r.stderr.trim().split("\n").pop()})`,
    };
  }
  return { python };
}
const { python, reason } = findPython();
if (reason !== undefined) {
  process.stderr.write(`[hub-stream interop] skipped: ${reason}\n`);
}

const SCRIPT = `
import json, sys
from huggingface_hub import hf_hub_download, scan_cache_dir, try_to_load_from_cache
cache, repo = sys.argv[1], sys.argv[2]
info = scan_cache_dir(cache)
print(json.dumps({
  "cached": try_to_load_from_cache(repo, "onnx/model_q4.onnx_data", cache_dir=cache),
  "local": hf_hub_download(repo, "onnx/model_q4.onnx", cache_dir=cache, local_files_only=True),
  "missing": try_to_load_from_cache(repo, "onnx/model.onnx", cache_dir=cache),
  "repos": [{"id": r.repo_id, "type": r.repo_type, "revisions": [
    {"commit": v.commit_hash, "refs": sorted(v.refs), "files": sorted(f.file_name for f in v.files)}
    for v in r.revisions]} for r in info.repos],
  "warnings": [str(w) for w in info.warnings],
}))
`;

describe("HF cache interop with Python huggingface_hub", () => {
  it.skipIf(python === undefined)("Python finds every file downloadModel wrote, at the same commit", async () => {
    const hub = await startHubServer();
    const cache = await mkdtemp(join(tmpdir(), "hub-interop-"));
    try {
      const data = new Uint8Array(5000).map((_, i) => (i * 7) & 0xff);
      await hub.seed("org/tiny", {
        "config.json": '{"model_type": "qwen3"}',
        "onnx/model.onnx": new Uint8Array([0, 1, 2]),
        "onnx/model_q4.onnx": new Uint8Array([0, 9, 9, 9]),
        "onnx/model_q4.onnx_data": data,
      });
      const model = await downloadModel({ repo: "org/tiny", dtype: "q4", hubUrl: hub.url, cacheDir: cache });
      const out = JSON.parse(
        execFileSync(python as string, ["-c", SCRIPT, cache, "org/tiny"], {
          encoding: "utf8",
          env: { ...process.env, HF_HUB_OFFLINE: "1" },
        }),
      ) as {
        cached: string;
        local: string;
        missing: string | null;
        repos: { id: string; type: string; revisions: { commit: string; refs: string[]; files: string[] }[] }[];
        warnings: string[];
      };
      expect(out.warnings).toEqual([]);
      expect(out.repos).toEqual([
        {
          id: "org/tiny",
          type: "model",
          revisions: [
            { commit: model.commit, refs: ["main"], files: ["config.json", "model_q4.onnx", "model_q4.onnx_data"] },
          ],
        },
      ]);
      expect(out.cached).toBe(join(model.dir, "onnx", "model_q4.onnx_data"));
      expect(Buffer.compare(await readFile(out.cached), data)).toBe(0);
      expect(await realpath(out.local)).toBe(await realpath(join(model.dir, "onnx", "model_q4.onnx")));
      expect(out.missing).toBeNull(); // the fp32 variant was not downloaded
    } finally {
      await hub.close();
      await rm(cache, { recursive: true, force: true });
    }
  });
});
