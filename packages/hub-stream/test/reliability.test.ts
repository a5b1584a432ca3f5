import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FolderSink, HubSink, StreamingWriter, verifyDataset } from "../src/index.js";
import { sleep, spawnChild } from "./child.js";
import { makeRow, SETTINGS } from "./helpers.js";
import { checkpointIsValid, dir, exactlyOnce, server, TOKEN, withCleanup } from "./reliability-setup.js";

withCleanup();

describe("reliability", () => {
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
