/** What the reliability test files share: temporary folders, a Hub server, exactly-once checks, kill-and-resume runs. */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { type HubServer, startHubServer } from "@logitpack/hub-server";
import { afterEach, expect } from "vitest";
import type { Sink } from "../src/index.js";
import { sleep, spawnChild } from "./child.js";
import { rng, sinkRows, tempDir } from "./helpers.js";

export const TOKEN = "hf_reliabilityToken0123456789";

const cleanups: (() => Promise<void>)[] = [];
/** Registers, in the importing test file, the hook that removes its temporary folders and servers. */
export function withCleanup(): void {
  afterEach(async () => {
    for (const c of cleanups.splice(0)) {
      await c();
    }
  });
}

export async function dir() {
  const d = await tempDir();
  cleanups.push(d.cleanup);
  return d.path;
}

export async function server(options: Parameters<typeof startHubServer>[0] = {}): Promise<HubServer> {
  const s = await startHubServer({ tokens: { [TOKEN]: "write" }, ...options });
  cleanups.push(() => s.close());
  return s;
}

/** Rows of a sink as index -> digests; asserts every expected index is there exactly once. */
export async function exactlyOnce(sink: Sink, n: number): Promise<Map<number, string>> {
  const rows = await sinkRows(sink);
  const out = new Map<number, string>();
  expect(rows.size).toBe(n);
  for (let i = 0; i < n; i++) {
    const d = rows.get(i);
    expect(d, `index ${i}`).toHaveLength(1);
    out.set(i, (d as string[])[0] as string);
  }
  return out;
}

/** The checkpoint, if any, must always parse. */
export async function checkpointIsValid(cacheDir: string): Promise<void> {
  const names = await readdir(cacheDir).catch(() => [] as string[]);
  if (names.includes("checkpoint.json")) {
    const cp = JSON.parse(await readFile(join(cacheDir, "checkpoint.json"), "utf8"));
    expect(cp.version).toBe(1);
  }
}

/**
 * Kill -9 the writer at `kills` random points (a random delay after it opened; one run in five before it even
 * opened), resume each time, then finish. Returns how many kills hit a running process.
 */
export async function killRun(config: Record<string, unknown>, kills: number, seed: number, maxDelayMs: number) {
  const random = rng(seed);
  let interrupted = 0;
  for (let k = 0; k < kills; k++) {
    const child = spawnChild(config);
    const early = random() < 0.2;
    if (!early) {
      await Promise.race([child.waitFor("opened"), child.exited]);
    }
    await sleep(random() * maxDelayMs);
    if (child.proc.exitCode === null) {
      child.proc.kill("SIGKILL");
      interrupted++;
    }
    const { signal, code } = await child.exited;
    if (signal !== "SIGKILL") {
      expect(code, child.stderr()).toBe(0);
    }
    await checkpointIsValid(config.cacheDir as string);
  }
  const last = spawnChild(config);
  const { code } = await last.exited;
  expect(code, last.stderr()).toBe(0);
  // Every kill came before the run was complete: the last run still had rows to produce.
  expect(Number(last.events.find((e) => e.event === "finished")?.written)).toBeGreaterThan(0);
  return interrupted;
}
