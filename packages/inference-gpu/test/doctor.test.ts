import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkProviders } from "../src/index.js";

describe("checkProviders", () => {
  it("runs a test model on each provider and says in one line why one does not start", async () => {
    const report = await checkProviders();
    const version = createRequire(import.meta.url)("onnxruntime-node/package.json").version as string;
    expect(report.onnxruntime).toBe(version);
    expect(report.checks.map((c) => c.provider)).toEqual(["cuda", "webgpu", "cpu"]);
    const cpu = report.checks.find((c) => c.provider === "cpu");
    expect(cpu).toEqual({ provider: "cpu", ok: true, message: "ran a test model" });
    for (const c of report.checks) {
      expect(c.message).not.toContain("\n");
    }
    // Independent of our probe: where the CUDA provider library is not in onnxruntime-node's folder, CUDA cannot
    // work and the report must say which file is missing and how to install it.
    const bin = join(
      dirname(createRequire(import.meta.url).resolve("onnxruntime-node/package.json")),
      "bin",
      "napi-v6",
      process.platform,
      process.arch,
    );
    if (process.platform === "linux" && !existsSync(join(bin, "libonnxruntime_providers_cuda.so"))) {
      const cuda = report.checks.find((c) => c.provider === "cuda");
      expect(cuda?.ok).toBe(false);
      expect(cuda?.message).toContain("libonnxruntime_providers_cuda.so is not installed");
      expect(cuda?.hint).toContain("ONNXRUNTIME_NODE_INSTALL=cuda12");
      expect(report.auto).not.toBe("cuda");
    }
    expect(report.auto).toBe(report.checks.find((c) => c.ok)?.provider);
  });
});
