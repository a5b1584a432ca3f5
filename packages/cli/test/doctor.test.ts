/** `logitpack doctor`: providers (checked independently of our probe where possible), Hub settings, exit codes. */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { VERSION } from "../src/commands/index.js";
import { cli } from "./helpers.js";

const require = createRequire(import.meta.url);
const ortDir = dirname(
  require.resolve("onnxruntime-node/package.json", { paths: [require.resolve("@logitpack/inference-gpu")] }),
);
const cudaLib = join(ortDir, "bin", "napi-v6", process.platform, process.arch, "libonnxruntime_providers_cuda.so");

describe("logitpack doctor", () => {
  it("--json: one event with every provider, the one auto gets, and the Hub settings (no token value)", async () => {
    const r = await cli(["doctor", "--json"], {
      env: { HF_TOKEN: "hf_doctorSecret123", HF_HUB_CACHE: "/some/cache", HF_HUB_OFFLINE: "1" },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.events).toHaveLength(1);
    const e = r.events[0] as Record<string, unknown>;
    expect(e).toMatchObject({ event: "doctor", ok: true, device: "auto", logitpack: VERSION, node: process.version });
    expect(e.onnxruntime).toBe(JSON.parse(readFileSync(join(ortDir, "package.json"), "utf8")).version);
    const providers = e.providers as { provider: string; ok: boolean; message: string }[];
    expect(providers.map((p) => p.provider)).toEqual(["cuda", "webgpu", "cpu"]);
    expect(providers.find((p) => p.provider === "cpu")).toMatchObject({ ok: true });
    expect(e.auto).toBe(providers.find((p) => p.ok)?.provider);
    expect(e.hub).toEqual({ endpoint: "http://127.0.0.1:9", cache: "/some/cache", token: "set", offline: true });
    expect(r.stdout).not.toContain("hf_doctorSecret123");
  });

  it("the human report: a line per provider, why one does not start and how to fix it, auto, the Hub", async () => {
    const r = await cli(["doctor"], { env: { HF_TOKEN: "", HF_HUB_OFFLINE: "" } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^logitpack \d+\.\d+\.\d+, Node v\d+/);
    expect(r.stdout).toMatch(/^✓ cpu +ran a test model$/m);
    expect(r.stdout).toMatch(/^--device auto uses: (cuda|webgpu|cpu)$/m);
    expect(r.stdout).toMatch(/^Hub: http:\/\/127\.0\.0\.1:9, cache .+, token none .*, offline no$/m);
    if (process.platform === "linux" && !existsSync(cudaLib)) {
      // independent of our probe: without the provider library in onnxruntime-node's folder CUDA cannot start
      expect(r.stdout).toMatch(/^✗ cuda +.*libonnxruntime_providers_cuda\.so is not installed/m);
      expect(r.stdout).toMatch(/^ +fix: .*ONNXRUNTIME_NODE_INSTALL=cuda12/m);
    }
  });

  it("--device cuda exits 1 where CUDA does not start; a bad --device is a usage error", async () => {
    if (process.platform === "linux" && !existsSync(cudaLib)) {
      const r = await cli(["doctor", "--device", "cuda"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^FAILED: cuda does not start$/m);
    }
    const cpu = await cli(["doctor", "--device", "cpu", "--quiet"]);
    expect(cpu.code).toBe(0);
    const bad = await cli(["doctor", "--device", "tpu"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--device: expected one of auto, cuda, webgpu, cpu, got "tpu"/);
  });

  it("prints the package's version", () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version);
  });
});
