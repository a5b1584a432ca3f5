import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { type HubServer, startHubServer } from "@logitpack/hub-server";
import { afterEach, describe, expect, it } from "vitest";
import { FolderSink, HubSink, type Sink, StreamingWriter, verifyDataset } from "../src/index.js";
import { sleep, spawnChild } from "./child.js";
import { makeRow, rng, rowDigest, SETTINGS, sinkRows, tempDir } from "./helpers.js";

const TOKEN = "hf_reliabilityToken0123456789";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) {
    await c();
  }
});

async function dir() {
  const d = await tempDir();
  cleanups.push(d.cleanup);
  return d.path;
}

async function server(options: Parameters<typeof startHubServer>[0] = {}): Promise<HubServer> {
  const s = await startHubServer({ tokens: { [TOKEN]: "write" }, ...options });
  cleanups.push(() => s.close());
  return s;
}

/** Rows of a sink as index -> digests; asserts every expected index is there exactly once. */
async function exactlyOnce(sink: Sink, n: number): Promise<Map<number, string>> {
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
async function checkpointIsValid(cacheDir: string): Promise<void> {
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
async function killRun(config: Record<string, unknown>, kills: number, seed: number, maxDelayMs: number) {
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

describe("reliability", () => {
  it("kill -9 at >= 20 random points, resumed each time: every row exactly once, byte-identical to an uninterrupted run (folder)", async () => {
    const base = await dir();
    // Enough rows that the kills (<= 80 ms of work each) land while rows are still being produced.
    const n = 2400;
    const common = { n, seed: 11, uploadEvery: 13, rowMs: 0.5 };
    const ref = spawnChild({ ...common, folder: join(base, "ref"), cacheDir: join(base, "ref-cache") });
    expect((await ref.exited).code, ref.stderr()).toBe(0);
    const cfg = { ...common, folder: join(base, "out"), cacheDir: join(base, "cache") };
    const interrupted = await killRun(cfg, 24, 2024, 80);
    expect(interrupted).toBeGreaterThanOrEqual(20);
    const expected = await exactlyOnce(new FolderSink(join(base, "ref")), n);
    const got = await exactlyOnce(new FolderSink(join(base, "out")), n);
    expect(got).toEqual(expected);
    expect(got.get(77)).toBe(rowDigest(makeRow(77, 11)));
    expect((await verifyDataset({ sink: new FolderSink(join(base, "out")), expectedCount: n })).ok).toBe(true);
  });

  it("kill -9 at >= 20 random points against the Hub server (uploads cut mid-request)", async () => {
    const s = await server({ faults: [{ routes: ["lfs-upload", "commit"], action: { delayMs: 15 } }] });
    const base = await dir();
    const n = 800;
    const cfg = {
      n,
      seed: 5,
      uploadEvery: 11,
      rowMs: 0.5,
      hubUrl: s.url,
      repo: "me/killed",
      cacheDir: join(base, "cache"),
    };
    const env = { HF_TOKEN: TOKEN };
    const random = rng(99);
    let interrupted = 0;
    for (let k = 0; k < 21; k++) {
      const child = spawnChild(cfg, env);
      await Promise.race([child.waitFor("opened"), child.exited]);
      await sleep(random() * 80);
      if (child.proc.exitCode === null) {
        child.proc.kill("SIGKILL");
        interrupted++;
      }
      await child.exited;
      await checkpointIsValid(cfg.cacheDir);
    }
    const last = spawnChild(cfg, env);
    expect((await last.exited).code, last.stderr()).toBe(0);
    expect(interrupted).toBeGreaterThanOrEqual(20);
    expect(Number(last.events.find((e) => e.event === "finished")?.written)).toBeGreaterThan(0);
    const sink = await HubSink.create({ repo: "me/killed", token: TOKEN, hubUrl: s.url, env: {} });
    const got = await exactlyOnce(sink, n);
    for (let i = 0; i < n; i += 37) {
      expect(got.get(i)).toBe(rowDigest(makeRow(i, 5)));
    }
  });

  it("with 30% of upload requests failing at random (5xx, 429, resets, lost answers), a run completes and nothing is lost", async () => {
    const routes: ("preupload" | "lfs-batch" | "lfs-upload" | "commit")[] = [
      "preupload",
      "lfs-batch",
      "lfs-upload",
      "commit",
    ];
    const s = await server({
      seed: 3,
      faults: [
        { routes, action: { status: 500 }, probability: 0.1 },
        { routes, action: { status: 503 }, probability: 0.3 / 0.9 / 3 },
        { routes, action: { status: 429, retryAfterSeconds: 0 }, probability: 0.1 / 0.8 },
        { routes, action: "reset", probability: 0.1 / 0.7 },
        { routes: ["commit"], action: "reset", after: true, probability: 0.1 },
      ],
    });
    const sink = await HubSink.create({
      repo: "me/flaky",
      token: TOKEN,
      hubUrl: s.url,
      env: {},
      retry: { retries: 8, minDelayMs: 1, maxDelayMs: 10 },
    });
    const cacheDir = join(await dir(), "cache");
    const w = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, uploadEvery: 10 });
    for (let i = 0; i < 300; i++) {
      await w.write(makeRow(i));
    }
    const summary = await w.close();
    expect(summary.backups).toEqual([]);
    const uploadRequests = s.log.filter((r) => (routes as string[]).includes(r.route));
    const faulted = uploadRequests.filter((r) => r.fault !== undefined).length;
    expect(faulted / uploadRequests.length).toBeGreaterThan(0.2);
    await exactlyOnce(sink, 300);
    expect((await verifyDataset({ sink, expectedCount: 300 })).ok).toBe(true);
  });

  it("several writers (--shard i/N) commit into one repo concurrently, surviving 412s", async () => {
    const s = await server({ commitConflicts: true, commitDelayMs: 10 });
    const base = await dir();
    const N = 3;
    const writers = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const sink = await HubSink.create({
          repo: "me/multi",
          token: TOKEN,
          hubUrl: s.url,
          env: {},
          retry: { retries: 12, minDelayMs: 2, maxDelayMs: 40 },
        });
        return StreamingWriter.open({
          sink,
          cacheDir: join(base, `cache-${i}`),
          settings: SETTINGS,
          shard: { index: i, count: N },
          uploadEvery: 5,
          card: i === 0 ? {} : false,
        });
      }),
    );
    await Promise.all(
      writers.map(async (w, i) => {
        for (let idx = i; idx < 120; idx += N) {
          await w.write(makeRow(idx));
        }
        await w.close();
      }),
    );
    expect(s.log.filter((r) => r.route === "commit" && r.status === 412).length).toBeGreaterThan(0);
    const sink = await HubSink.create({ repo: "me/multi", token: TOKEN, hubUrl: s.url, env: {} });
    const files = await sink.list();
    for (let i = 0; i < N; i++) {
      expect(files.filter((f) => f.path.includes(`-s00${i}of003-`)).length).toBe(8);
    }
    await exactlyOnce(sink, 120);
  });

  it("first Ctrl+C saves pending rows and exits cleanly; resume completes", async () => {
    const base = await dir();
    const cfg = {
      n: 1200,
      seed: 3,
      uploadEvery: 50,
      rowMs: 1,
      signals: true,
      folder: join(base, "out"),
      cacheDir: join(base, "cache"),
    };
    const child = spawnChild(cfg);
    await child.waitFor("shard-uploaded", 1);
    await sleep(37);
    child.proc.kill("SIGINT");
    const { code } = await child.exited;
    expect(code, child.stderr()).toBe(0);
    const fin = child.events.find((e) => e.event === "finished");
    // Rows not in a shard yet went to pending/ (none when the stop fell on a shard boundary).
    const buffered = Number(fin?.written) % 50;
    expect(await readdir(join(base, "cache", "pending"))).toHaveLength(buffered === 0 ? 0 : 1);
    if (buffered > 0) {
      expect(String(fin?.pendingFile)).toMatch(/pending-/);
    }
    const again = spawnChild({ ...cfg, signals: false });
    expect((await again.exited).code, again.stderr()).toBe(0);
    await exactlyOnce(new FolderSink(join(base, "out")), 1200);
    expect(await readdir(join(base, "cache", "pending"))).toHaveLength(0);
  });

  it("a second Ctrl+C during the flush stops at once and still leaves a resumable state", async () => {
    const s = await server({ faults: [{ routes: ["lfs-upload"], action: { delayMs: 6000 } }] });
    const base = await dir();
    const cfg = {
      n: 400,
      seed: 8,
      uploadEvery: 40,
      rowMs: 1,
      signals: true,
      hubUrl: s.url,
      repo: "me/twice",
      cacheDir: join(base, "cache"),
    };
    const env = { HF_TOKEN: TOKEN };
    const child = spawnChild(cfg, env);
    await child.waitFor("shard-start", 1);
    child.proc.kill("SIGINT");
    await child.waitFor("stopping");
    // The flush now waits for the slow upload; a second Ctrl+C must not wait for it.
    const t0 = performance.now();
    child.proc.kill("SIGINT");
    const { code } = await child.exited;
    expect(code).toBe(130);
    // Well before the 6 s upload could have finished.
    expect(performance.now() - t0).toBeLessThan(4500);
    expect(child.events.some((e) => e.event === "finished")).toBe(false);
    await checkpointIsValid(cfg.cacheDir);
    s.faults = [];
    const again = spawnChild({ ...cfg, signals: false }, env);
    expect((await again.exited).code, again.stderr()).toBe(0);
    const sink = await HubSink.create({ repo: "me/twice", token: TOKEN, hubUrl: s.url, env: {} });
    await exactlyOnce(sink, 400);
  });

  it("--max-runtime-minutes stops in time the same way, and resume completes", async () => {
    const base = await dir();
    const cfg = {
      n: 2500,
      seed: 4,
      uploadEvery: 64,
      rowMs: 1,
      maxRuntimeMinutes: 0.4 / 60,
      folder: join(base, "out"),
      cacheDir: join(base, "cache"),
    };
    const t0 = performance.now();
    const child = spawnChild(cfg);
    const { code } = await child.exited;
    expect(code, child.stderr()).toBe(0);
    expect(performance.now() - t0).toBeLessThan(15_000);
    expect(child.events.find((e) => e.event === "stop-requested")?.reason).toBe("max-runtime");
    // It stopped early: 2500 rows of 1 ms each cannot be done in 0.4 s.
    expect(Number(child.events.find((e) => e.event === "finished")?.written)).toBeLessThan(2500);
    const again = spawnChild({ ...cfg, maxRuntimeMinutes: undefined });
    expect((await again.exited).code, again.stderr()).toBe(0);
    await exactlyOnce(new FolderSink(join(base, "out")), 2500);
  });
});
