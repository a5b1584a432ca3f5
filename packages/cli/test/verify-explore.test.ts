import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYNTHETIC_SETTINGS, writeSyntheticDataset } from "./fixtures.js";
import { cli, tempDir } from "./helpers.js";

let tmp: { dir: string; cleanup: () => void };
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

beforeAll(async () => {
  tmp = tempDir();
  await writeSyntheticDataset(join(tmp.dir, "good"), [range(0, 30), range(30, 50)]);
  await writeSyntheticDataset(join(tmp.dir, "dups"), [range(0, 20), range(15, 25)]);
  await writeSyntheticDataset(join(tmp.dir, "gaps"), [range(0, 10), range(12, 20)]);
  await writeSyntheticDataset(join(tmp.dir, "mixed"), [range(0, 10)]);
  await writeSyntheticDataset(join(tmp.dir, "mixed2"), [range(10, 20)], { ...SYNTHETIC_SETTINGS, topP: 0.9 });
  const { cpSync } = await import("node:fs");
  cpSync(join(tmp.dir, "mixed2", "data", "train-00000.parquet"), join(tmp.dir, "mixed", "data", "train-00001.parquet"));
});
afterAll(() => tmp.cleanup());

describe("verify", () => {
  it("a good dataset: every check passes, after card writes the README", async () => {
    const good = join(tmp.dir, "good");
    const before = await cli(["verify", good, "--json"]);
    expect(before.code).toBe(1); // no dataset card yet
    const report = before.events.find((e) => e.event === "verify") as { checks: { name: string; ok: boolean }[] };
    expect(report.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(["card"]);
    const card = await cli(["card", good]);
    expect(card.code, card.stderr).toBe(0);
    expect(readFileSync(join(good, "README.md"), "utf8")).toMatch(/^---\npretty_name: "Teacher logits of synthetic"/);
    const r = await cli(["verify", good, "--expected-count", "50"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/✓ schema +layout nucleus, 2 shard\(s\)/);
    expect(r.stdout).toMatch(/✓ rows +50 rows, 300 positions decoded/);
    expect(r.stdout).toMatch(/✓ duplicates +50 distinct dataset indices, none twice/);
    expect(r.stdout).toMatch(/✓ gaps +all 50 expected indices present/);
    expect(r.stdout).toMatch(/OK: 50 rows in 2 shard\(s\)/);
  });

  it("duplicates are reported with the files holding them (exit 1)", async () => {
    const r = await cli(["verify", join(tmp.dir, "dups"), "--json", "--quick"]);
    expect(r.code).toBe(1);
    const report = r.events.find((e) => e.event === "verify") as Record<string, unknown>;
    expect(report.ok).toBe(false);
    expect(report.duplicateRows).toBe(5);
    expect((report.duplicates as { index: number; files: string[] }[])[0]).toEqual({
      index: 15,
      files: ["data/train-00000.parquet", "data/train-00001.parquet"],
    });
  });

  it("gaps against --expected-count, and mixed settings", async () => {
    const g = await cli(["verify", join(tmp.dir, "gaps"), "--expected-count", "20"]);
    expect(g.code).toBe(1);
    expect(g.stdout).toMatch(/✗ gaps +2 of 20 missing, first \[10, 12\)/);
    const m = await cli(["verify", join(tmp.dir, "mixed")]);
    expect(m.code).toBe(1);
    expect(m.stdout).toMatch(/✗ metadata +2 different sets of extraction settings/);
  });

  it("a shard that is not Parquet", async () => {
    const { writeFileSync, cpSync } = await import("node:fs");
    const bad = join(tmp.dir, "bad");
    cpSync(join(tmp.dir, "good"), bad, { recursive: true });
    writeFileSync(join(bad, "data", "train-00002.parquet"), "not parquet at all");
    const r = await cli(["verify", bad]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/train-00002\.parquet/);
  });
});

describe("explore", () => {
  it("info, sample, stats as text and JSON lines", async () => {
    const good = join(tmp.dir, "good");
    const info = await cli(["explore", "info", good, "--json"]);
    expect(info.code, info.stderr).toBe(0);
    expect(info.events[0]).toMatchObject({ event: "info", layout: "nucleus", numRows: 50, numShards: 2 });
    const text = await cli(["explore", "info", good]);
    expect(text.stdout).toMatch(/layout nucleus, 50 rows in 2 shard\(s\)/);
    const sample = await cli(["explore", "sample", good, "--index", "33", "--json"]);
    expect(sample.code, sample.stderr).toBe(0);
    expect(sample.events[0]).toMatchObject({ event: "sample", index: 33, row: 33, numTokens: 6 });
    const pos = await cli(["explore", "sample", good, "--row", "2", "--position", "1"]);
    expect(pos.code, pos.stderr).toBe(0);
    expect(pos.stdout).toMatch(/^Sample 2 \(row 2\), position 1: \d nucleus \+ 4 sampled entries/);
    const stats = await cli(["explore", "stats", good, "--json", "--workers", "1"]);
    expect(stats.code, stats.stderr).toBe(0);
    expect(stats.events[0]).toMatchObject({ event: "stats" });
  });

  it("report writes a self-contained HTML file (--no-align: no source dataset)", async () => {
    const out = join(tmp.dir, "report.html");
    const r = await cli(["explore", "report", join(tmp.dir, "good"), "--row", "1", "--no-align", "--output", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
    const html = readFileSync(out, "utf8");
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="http/);
  });

  it("errors: a row out of range, a missing dataset", async () => {
    const r = await cli(["explore", "sample", join(tmp.dir, "good"), "--row", "50"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --row: the dataset has 50 rows \(0\.\.49\)/m);
    const m = await cli(["explore", "info"], { cwd: tmp.dir });
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/^error: DATASET: no \.\/logits-out here/m);
  });
});
