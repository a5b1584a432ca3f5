// Split from reliability.test.ts so the two long kill runs and the rest run side by side (one test file per worker).
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FolderSink, verifyDataset } from "../src/index.js";
import { spawnChild } from "./child.js";
import { makeRow, rowDigest } from "./helpers.js";
import { dir, exactlyOnce, killRun, withCleanup } from "./reliability-setup.js";

withCleanup();

describe("reliability: kill -9 (folder)", () => {
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
});
