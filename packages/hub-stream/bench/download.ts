/**
 * Model download benchmark (`pnpm --filter @logitpack/hub-stream bench:download`): one generated file (default
 * 512 MiB, BENCH_DOWNLOAD_MIB) from the local Hub server, downloaded in a child process per method, side by side:
 *
 * - `stream`: `downloadToCache` (streams to `blobs/{sha256}.incomplete`, sha256 on the fly, rename);
 * - `buffer`: the former method, the whole body through `arrayBuffer()` then written out.
 *
 * Prints each child's peak RSS (VmHWM) and wall time.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatedFile, generatedSha256, startHubServer } from "@logitpack/hub-server";

const MIB = Number(process.env.BENCH_DOWNLOAD_MIB ?? 512);

const CHILD = `
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
const [method, hubUrl, cacheDir] = process.argv.slice(1);
const t0 = performance.now();
if (method === "stream") {
  const { downloadToCache } = await import(${JSON.stringify(new URL("../src/index.ts", import.meta.url).href)});
  await downloadToCache({ repo: "bench/model", repoType: "model", path: "onnx/model.onnx_data", hubUrl, cacheDir });
} else {
  const res = await fetch(hubUrl + "/bench/model/resolve/main/onnx/model.onnx_data");
  const bytes = new Uint8Array(await res.arrayBuffer());
  await mkdir(cacheDir, { recursive: true });
  await writeFile(join(cacheDir, "blob"), bytes);
}
const kb = Number(/VmHWM:\\s+(\\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))[1]);
console.log(JSON.stringify({ method, seconds: (performance.now() - t0) / 1000, peakRssMB: kb / 1024 }));
`;

const hub = await startHubServer();
const dir = await mkdtemp(join(tmpdir(), "bench-download-"));
try {
  const gen = generatedFile(MIB * 2 ** 20, 3);
  await hub.seed("bench/model", {
    "onnx/model.onnx_data": { ...gen, fill: gen.fill, sha256: await generatedSha256(gen) },
  });
  for (const method of ["stream", "buffer"]) {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", "--input-type=module", "-e", CHILD, method, hub.url, join(dir, method)],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      let text = "";
      child.stdout.on("data", (d: Buffer) => {
        text += d.toString();
      });
      child.on("exit", (code) => (code === 0 ? resolve(text.trim()) : reject(new Error(`${method}: exit ${code}`))));
    });
    const r = JSON.parse(out) as { method: string; seconds: number; peakRssMB: number };
    process.stdout.write(
      `${r.method.padEnd(7)} ${MIB} MiB: ${r.seconds.toFixed(1)} s, ${(MIB / r.seconds).toFixed(0)} MiB/s, peak RSS ${r.peakRssMB.toFixed(0)} MB\n`,
    );
    await rm(join(dir, method), { recursive: true, force: true });
  }
} finally {
  await hub.close();
  await rm(dir, { recursive: true, force: true });
}
