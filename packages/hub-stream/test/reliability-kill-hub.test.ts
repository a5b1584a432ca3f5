// Split from reliability.test.ts so the two long kill runs and the rest run side by side (one test file per worker).
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HubSink } from "../src/index.js";
import { sleep, spawnChild } from "./child.js";
import { makeRow, rng, rowDigest } from "./helpers.js";
import { checkpointIsValid, dir, exactlyOnce, server, TOKEN, withCleanup } from "./reliability-setup.js";

withCleanup();

describe("reliability: kill -9 (Hub)", () => {
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
});
