/**
 * The client side of the large-download test, in its own process so that its peak RSS is its own: downloads one file
 * with `downloadToCache` and prints one JSON line (path, peak RSS from /proc/self/status, progress reports).
 */
import { readFileSync } from "node:fs";
import { downloadToCache } from "../../src/index.js";

const args = JSON.parse(process.argv[2] as string) as { repo: string; path: string; hubUrl: string; cacheDir: string };
let reports = 0;
let lastBytes = 0;
let speed = 0;
const started = performance.now();
const path = await downloadToCache({
  repo: args.repo,
  repoType: "model",
  path: args.path,
  hubUrl: args.hubUrl,
  cacheDir: args.cacheDir,
  retry: { minDelayMs: 10, maxDelayMs: 50 },
  onProgress: (p) => {
    reports++;
    lastBytes = p.bytes;
    speed = p.bytesPerSecond;
  },
});
const status = readFileSync("/proc/self/status", "utf8");
const hwmKb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
process.stdout.write(
  `${JSON.stringify({ path, peakRssBytes: hwmKb * 1024, reports, lastBytes, bytesPerSecond: speed, seconds: (performance.now() - started) / 1000 })}\n`,
);
