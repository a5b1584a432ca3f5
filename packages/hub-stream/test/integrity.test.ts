import { spawn } from "node:child_process";
import { copyFile, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type EncodedRow, encodeLogitFile, encodeNucleusSample } from "@logitpack/codec";
import { type HubServer, startHubServer } from "@logitpack/hub-server";
import { afterEach, describe, expect, it } from "vitest";
import {
  FolderSink,
  HubSink,
  type HubStreamError,
  type Sink,
  StreamingWriter,
  shardFileName,
  verifyDataset,
  type WriterEvent,
} from "../src/index.js";
import { bootId, processStartTime } from "../src/lock.js";
import { makeRow, rowDigest, SETTINGS, sinkRows, tempDir } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    await c();
  }
});

const TOKEN = "hf_testWriteToken0123456789";

async function setup() {
  const dir = await tempDir("hub-stream-integrity-");
  cleanups.push(dir.cleanup);
  const out = join(dir.path, "out");
  return { dir: dir.path, out, sink: new FolderSink(out), cacheDir: join(dir.path, "cache") };
}

/** Run a writer over indices [0, n): rows already done are skipped. Returns its events. */
async function run(sink: Sink, cacheDir: string, n: number, extra: { settings?: typeof SETTINGS } = {}) {
  const events: WriterEvent[] = [];
  const w = await StreamingWriter.open({
    sink,
    cacheDir,
    settings: extra.settings ?? SETTINGS,
    uploadEvery: 10,
    onEvent: (e) => events.push(e),
  });
  for (let i = 0; i < n; i++) {
    if (!w.isDone(i)) {
      await w.write(makeRow(i));
    }
  }
  await w.close();
  return { events, writer: w };
}

/** Every index in [0, n) exactly once, each row byte-identical to the one produced for it. */
async function expectComplete(sink: Sink, n: number) {
  const rows = await sinkRows(sink);
  expect([...rows.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
  for (let i = 0; i < n; i++) {
    expect(rows.get(i)).toEqual([rowDigest(makeRow(i))]);
  }
}

const shardPaths = async (out: string) =>
  (await readdir(join(out, "data"))).filter((f) => f.endsWith(".parquet")).sort();

describe("resume trusts only what it read (folder)", () => {
  it("moves truncated, flipped-footer and flipped-page shards and a copy aside, re-extracts their rows, ends complete", async () => {
    const { out, sink, cacheDir } = await setup();
    await run(sink, cacheDir, 50);
    const shards = await shardPaths(out);
    expect(shards).toHaveLength(5);
    const [s0, s1, s2, s3] = shards.map((f) => join(out, "data", f)) as [string, string, string, string];
    // truncated shard
    const b1 = await readFile(s1);
    await writeFile(s1, b1.subarray(0, Math.floor(b1.length / 2)));
    // one flipped byte in the footer
    const b2 = Buffer.from(await readFile(s2));
    b2[b2.length - 40] = (b2[b2.length - 40] as number) ^ 0x5a;
    await writeFile(s2, b2);
    // one flipped byte in a data page
    const b3 = Buffer.from(await readFile(s3));
    b3[200] = (b3[200] as number) ^ 0x01;
    await writeFile(s3, b3);
    // a copy of shard 0 under another name, and the same rows cut into another file (another hash)
    await copyFile(s0, join(out, "data", "copy-of-shard-0.parquet"));
    const again = await encodeLogitFile(
      Array.from({ length: 10 }, (_, i) => makeRow(i)),
      { layout: "nucleus", settings: SETTINGS, rowGroupRows: 3 },
    );
    const { createHash } = await import("node:crypto");
    const againPath = shardFileName({ index: 0, count: 1 }, 0, 9, createHash("sha256").update(again).digest("hex"));
    await writeFile(join(out, againPath), again);

    const { events, writer } = await run(sink, cacheDir, 50);
    const moved = writer.resume.quarantined.map((q) => [q.path, q.kind]).sort();
    expect(moved).toEqual(
      [
        [`data/${shards[1]}`, "content"],
        [`data/${shards[2]}`, "content"],
        [`data/${shards[3]}`, "content"],
        ["data/copy-of-shard-0.parquet", "duplicate"],
        [againPath, "duplicate"],
      ].sort(),
    );
    expect(events.filter((e) => e.type === "quarantined")).toHaveLength(5);
    const lines = events.filter((e) => e.type === "warning").map((e) => (e as { message: string }).message);
    expect(lines.filter((l) => l.startsWith("moved data/"))).toHaveLength(5);
    for (const l of lines) {
      expect(l).not.toContain(out); // no absolute path
      expect(l.includes("\n")).toBe(false);
    }
    // moved, not deleted
    const kept = (await readdir(join(out, "quarantine"))).sort();
    expect(kept).toHaveLength(5);
    expect((await stat(join(out, "quarantine", shards[1] as string))).size).toBe(Math.floor(b1.length / 2));
    await expectComplete(sink, 50);
    const report = await verifyDataset({ sink, expectedCount: 50 });
    expect(report.ok).toBe(true);
    expect(report.problems).toEqual([]);
  });

  it("a shard with an index outside its name's range or an id outside the vocabulary is moved aside", async () => {
    const { out, sink, cacheDir } = await setup();
    const settings = { ...SETTINGS, logitsWidth: 151_936 };
    await run(sink, cacheDir, 20, { settings });
    const bad = (index: number, id: number): EncodedRow =>
      encodeNucleusSample({
        index,
        topCounts: [1],
        topIds: [id],
        topLogits: [1],
        sampledIds: [5],
        sampledLogits: [-3],
        logsumexp: [1.5],
      });
    // rows 20..29 arrive in foreign-named files (no hash in the name: decoded completely)
    const file = (rows: EncodedRow[]) => encodeLogitFile(rows, { layout: "nucleus", settings });
    await writeFile(join(out, "data", "extra-ids.parquet"), await file([makeRow(20), bad(21, 200_000)]));
    // a hashed name whose index range does not hold its rows (the bytes match the name: only the range is wrong)
    const misplaced = await file([makeRow(23), makeRow(24)]);
    const { createHash } = await import("node:crypto");
    const misplacedPath = shardFileName(
      { index: 0, count: 1 },
      23,
      23,
      createHash("sha256").update(misplaced).digest("hex"),
    );
    await writeFile(join(out, misplacedPath), misplaced);
    const { writer } = await run(sink, cacheDir, 30, { settings });
    const moved = writer.resume.quarantined.map((q) => [q.path, q.kind]).sort();
    expect(moved).toEqual(
      [
        ["data/extra-ids.parquet", "ids"],
        [misplacedPath, "index"],
      ].sort(),
    );
    // the codec's reader refuses the id (issue 16, codec part); the message names it and the width
    expect(writer.resume.quarantined.find((q) => q.kind === "ids")?.message).toMatch(/200000.*151936/);
    expect(writer.resume.quarantined.find((q) => q.kind === "index")?.message).toBe(
      "row 1: index 24 is outside 23..23 (the range in its name)",
    );
    const rows = await sinkRows(sink);
    expect([...rows.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it("a partial overlap between shards is refused, naming both", async () => {
    const { out, sink, cacheDir } = await setup();
    await run(sink, cacheDir, 20);
    const shards = await shardPaths(out);
    // rows 15..24: half of them are in the second shard, half are new
    const bytes = await encodeLogitFile(
      Array.from({ length: 10 }, (_, k) => makeRow(15 + k)),
      { layout: "nucleus", settings: SETTINGS },
    );
    await writeFile(join(out, "data", "zz-overlap.parquet"), bytes);
    const e = (await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS }).catch(
      (x: unknown) => x,
    )) as HubStreamError;
    expect(e.code).toBe("DUPLICATE_ROWS");
    expect(e.message).toContain("data/zz-overlap.parquet");
    expect(e.message).toContain(`index 15 is stored in both data/${shards[1]} and data/zz-overlap.parquet`);
  });

  it("broken pending rows and backups in the cache are moved into the cache's quarantine/ and produced again", async () => {
    const { sink, cacheDir } = await setup();
    const w = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, uploadEvery: 100 });
    for (let i = 0; i < 7; i++) {
      await w.write(makeRow(i));
    }
    const { pendingFile } = await w.stop("test");
    const bytes = await readFile(pendingFile as string);
    await writeFile(pendingFile as string, bytes.subarray(0, bytes.length - 9));
    const { writer } = await run(sink, cacheDir, 12);
    expect(writer.resume.quarantined).toMatchObject([{ from: "cache", kind: "content", movedInto: "cache" }]);
    expect(writer.resume.quarantined[0]?.path).toMatch(/^pending\/pending-0-6-[0-9a-f]{16}\.parquet$/);
    expect((await readdir(join(cacheDir, "quarantine"))).length).toBe(1);
    await expectComplete(sink, 12);
  });

  it("full-size temporary shards of a killed writer are removed at start; a live writer's are kept", async () => {
    const { out, sink, cacheDir } = await setup();
    await run(sink, cacheDir, 10);
    const [shard] = await shardPaths(out);
    const big = await readFile(join(out, "data", shard as string));
    const boot = (bootId() ?? "").replace(/-/g, "").slice(0, 8);
    // a dead writer: a pid that does not exist
    const dead = `${shard}.${2 ** 22 + 777}-12345-${boot}-0badc0de.tmp`;
    // today's naming (random hex only), an hour old
    const old = `${shard}.1a2b3c4d.tmp`;
    // a live writer: this machine, a running pid with its real start time
    const sleeper = spawn("sleep", ["60"], { stdio: "ignore" });
    cleanups.push(() => void sleeper.kill("SIGKILL"));
    const live = `${shard}.${sleeper.pid}-${processStartTime(sleeper.pid as number)}-${boot}-feedf00d.tmp`;
    for (const name of [dead, old, live]) {
      await writeFile(join(out, "data", name), big);
    }
    const { utimes } = await import("node:fs/promises");
    const hourAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(join(out, "data", old), hourAgo, hourAgo);
    await run(sink, cacheDir, 10);
    const left = (await readdir(join(out, "data"))).filter((n) => n.endsWith(".tmp"));
    expect(left).toEqual([live]);
  });

  it("an unreadable checkpoint names --force-restart, not the library option", async () => {
    const { sink, cacheDir } = await setup();
    await run(sink, cacheDir, 3);
    await writeFile(join(cacheDir, "checkpoint.json"), "{ not json");
    const e = (await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS }).catch(
      (x: unknown) => x,
    )) as HubStreamError;
    expect(e.code).toBe("CACHE_CORRUPT");
    expect(e.message).toContain("--force-restart");
    expect(e.message).not.toContain("forceRestart");
  });
});

describe("verify decodes every row", () => {
  it("reports every problem, naming each bad shard", async () => {
    const { out, sink, cacheDir } = await setup();
    const settings = { ...SETTINGS, logitsWidth: 100_000 };
    await run(sink, cacheDir, 40, { settings });
    const shards = await shardPaths(out);
    const b0 = await readFile(join(out, "data", shards[0] as string));
    await writeFile(join(out, "data", shards[0] as string), b0.subarray(0, b0.length - 100));
    const b1 = Buffer.from(await readFile(join(out, "data", shards[1] as string)));
    b1[300] = (b1[300] as number) ^ 0x10;
    await writeFile(join(out, "data", shards[1] as string), b1);
    const report = await verifyDataset({ sink, expectedCount: 40 });
    expect(report.ok).toBe(false);
    const byShard = new Map<string, string[]>();
    for (const p of report.problems) {
      byShard.set(p.path, [...(byShard.get(p.path) ?? []), p.kind]);
    }
    // truncated: its bytes changed and it cannot be decoded
    expect(byShard.get(`data/${shards[0]}`)).toEqual(["content", "decode"]);
    expect(byShard.get(`data/${shards[1]}`)?.[0]).toBe("content");
    // makeRow draws ids up to 150,000: above the recorded width 100,000 in the intact shards too
    expect(byShard.get(`data/${shards[2]}`)).toEqual(["ids"]);
    expect(byShard.get(`data/${shards[3]}`)).toEqual(["ids"]);
    expect(report.problems.find((p) => p.path === `data/${shards[2]}`)?.message).toMatch(/id \d+ is outside .*100000/);
    // rows of shards that cannot be read cannot be counted: the codec refuses every shard here (ids above the width)
    expect(report.missing).toBe(40);
  });
});

describe("resume trusts only what it read (Hub)", () => {
  let hub: HubServer | undefined;
  it("a shard whose bytes were replaced on the Hub is copied into the cache, deleted from the repo, and its rows redone", async () => {
    hub = await startHubServer({ tokens: { [TOKEN]: "write" } });
    const h = hub;
    cleanups.push(() => h.close());
    const { dir } = await setup();
    const cacheDir = join(dir, "cache");
    const sink = await HubSink.create({
      repo: "me/integrity",
      token: TOKEN,
      hubUrl: hub.url,
      retry: { retries: 3, minDelayMs: 2, maxDelayMs: 10 },
      env: {},
    });
    await run(sink, cacheDir, 30);
    const files = await sink.list();
    const victim = files[1]?.path as string;
    const src = await sink.source(files[1] as (typeof files)[number]);
    const bytes = new Uint8Array(await src.slice(0, src.byteLength));
    await sink.put(victim, bytes.subarray(0, bytes.length - 50));
    const { writer } = await run(sink, cacheDir, 30);
    expect(writer.resume.quarantined).toMatchObject([
      { path: victim, kind: "content", movedInto: "cache", movedTo: `quarantine/${victim.slice(5)}` },
    ]);
    const keptCopy = await readFile(join(cacheDir, "quarantine", victim.slice(5)));
    expect(keptCopy.length).toBe(bytes.length - 50);
    await expectComplete(sink, 30);
    expect((await verifyDataset({ sink, expectedCount: 30 })).ok).toBe(true);
  });
});

describe("the end of a run", () => {
  it("missing() names the expected indices that are stored nowhere (never 'done' with a gap)", async () => {
    const { sink, cacheDir } = await setup();
    const w = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, uploadEvery: 4 });
    for (const i of [0, 1, 2, 4, 5]) {
      await w.write(makeRow(i));
    }
    await w.close();
    expect(w.missing([0, 1, 2, 3, 4, 5, 6])).toEqual([3, 6]);
    expect(w.missing(Int32Array.from([0, 1, 2, 4, 5]))).toEqual([]);
  });
});
