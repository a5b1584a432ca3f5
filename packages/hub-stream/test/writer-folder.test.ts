import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeLogitFile, META_KEYS, openLogitFile } from "@logitpack/codec";
import { afterEach, describe, expect, it } from "vitest";
import {
  FolderSink,
  HubStreamError,
  type PutResult,
  parseShardFileName,
  type Sink,
  StreamingWriter,
  verifyDataset,
  type WriterEvent,
} from "../src/index.js";
import { makeRow, rowDigest, SETTINGS, sinkRows, tempDir } from "./helpers.js";

/** Rewrite a file so that its metadata has no logitpack.settings (re-encode is not possible: the writer adds it). */
async function withoutSettings(bytes: Uint8Array): Promise<Uint8Array> {
  const key = new TextEncoder().encode(META_KEYS.settings);
  const out = bytes.slice();
  // Rename the key in the footer in place (same length), so the codec sees no settings entry.
  for (let i = out.length - key.length; i >= 0; i--) {
    let match = true;
    for (let k = 0; k < key.length && match; k++) {
      match = out[i + k] === key[k];
    }
    if (match) {
      out[i] = "x".charCodeAt(0);
      break;
    }
  }
  const lf = await openLogitFile(out);
  expect(META_KEYS.settings in lf.info.keyValueMetadata).toBe(false);
  return out;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) {
    await c();
  }
});

async function setup() {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  const sink = new FolderSink(join(dir.path, "out"));
  return { dir: dir.path, sink, cacheDir: join(dir.path, "cache") };
}

/** A sink wrapper that delays or fails puts and records how many ran at once. */
class TestSink implements Sink {
  readonly kind = "folder";
  running = 0;
  maxRunning = 0;
  puts = 0;
  failNext = 0;
  delayMs = 0;
  constructor(private readonly inner: FolderSink) {}
  get location() {
    return this.inner.location;
  }
  prepare() {
    return this.inner.prepare();
  }
  list() {
    return this.inner.list();
  }
  source(f: Parameters<Sink["source"]>[0]) {
    return this.inner.source(f);
  }
  async put(path: string, bytes: Uint8Array): Promise<PutResult> {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      await new Promise((r) => setTimeout(r, this.delayMs));
      this.puts++;
      if (this.failNext > 0 && path.startsWith("data/")) {
        this.failNext--;
        throw new HubStreamError("HTTP", "injected upload failure", { status: 503 });
      }
      return await this.inner.put(path, bytes);
    } finally {
      this.running--;
    }
  }
  remove(paths: string[]) {
    return this.inner.remove(paths);
  }
  readText(path: string) {
    return this.inner.readText(path);
  }
}

async function expectAllRows(sink: Sink, n: number, seed = 7) {
  const rows = await sinkRows(sink);
  expect(rows.size).toBe(n);
  for (let i = 0; i < n; i++) {
    expect(rows.get(i), `index ${i}`).toEqual([rowDigest(makeRow(i, seed))]);
  }
}

describe("StreamingWriter with a folder sink", () => {
  it("cuts shards every N rows and stores every row once", async () => {
    const { sink, cacheDir } = await setup();
    const w = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, uploadEvery: 10 });
    for (let i = 0; i < 35; i++) {
      expect(await w.write(makeRow(i))).toBe(true);
    }
    const summary = await w.close();
    expect(summary.shards).toHaveLength(4);
    await expectAllRows(sink, 35);
    const report = await verifyDataset({ sink, expectedCount: 35 });
    expect(report).toMatchObject({ ok: true, files: 4, rows: 35, unique: 35, duplicateRows: 0, missing: 0 });
    expect(await sink.readText("README.md")).toContain("dataset_info:");
  });

  it("cuts shards by size with uploadSizeMb", async () => {
    const { sink, cacheDir } = await setup();
    const rowBytes = (i: number) =>
      Object.values(makeRow(i).columns).reduce((a, c) => a + (c as ArrayBufferView).byteLength, 8);
    const w = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, uploadSizeMb: 2000 / (1024 * 1024) });
    let sizes: number[] = [];
    let acc = 0;
    for (let i = 0; i < 60; i++) {
      await w.write(makeRow(i));
      acc += rowBytes(i);
      if (acc >= 2000) {
        sizes.push(acc);
        acc = 0;
      }
    }
    const summary = await w.close();
    expect(summary.shards.length).toBe(sizes.length + (acc > 0 ? 1 : 0));
    sizes = [];
    await expectAllRows(sink, 60);
  });

  it("keeps at most one upload in flight while rows keep coming, and reports progress", async () => {
    const { sink: folder, cacheDir } = await setup();
    const sink = new TestSink(folder);
    sink.delayMs = 30;
    const events: WriterEvent[] = [];
    const w = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, uploadEvery: 5, card: false });
    const iterated: string[] = [];
    const consumer = (async () => {
      for await (const e of w.events()) {
        iterated.push(e.type);
      }
    })();
    let sawInFlightWhileWriting = false;
    const off = (e: WriterEvent) => events.push(e);
    for (let i = 0; i < 40; i++) {
      await w.write(makeRow(i));
      off({ type: "progress", progress: w.progress });
      if (w.progress.uploadInFlight) {
        sawInFlightWhileWriting = true;
      }
    }
    await w.close();
    await consumer;
    expect(sink.maxRunning).toBe(1);
    expect(sawInFlightWhileWriting).toBe(true);
    expect(iterated).toContain("shard-uploaded");
    expect(iterated[iterated.length - 1]).toBe("closed");
    expect(w.progress).toMatchObject({ rowsWritten: 40, shardsUploaded: 8, rowsUploaded: 40, uploadInFlight: false });
  });

  it("synchronous mode waits for each upload", async () => {
    const { sink: folder, cacheDir } = await setup();
    const sink = new TestSink(folder);
    sink.delayMs = 10;
    const w = await StreamingWriter.open({
      sink,
      cacheDir,
      settings: SETTINGS,
      uploadEvery: 5,
      asyncUpload: false,
      card: false,
    });
    for (let i = 0; i < 10; i++) {
      await w.write(makeRow(i));
      expect(w.progress.uploadInFlight).toBe(false);
    }
    await w.close();
    expect(sink.puts).toBe(2);
  });

  it("stop() saves unflushed rows to pending/, and the next run merges them into its first shard", async () => {
    const { sink, cacheDir } = await setup();
    const w1 = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, uploadEvery: 10 });
    for (let i = 0; i < 25; i++) {
      await w1.write(makeRow(i));
    }
    const s1 = await w1.stop("SIGINT");
    expect(s1.pendingFile).toMatch(/pending\/pending-20-24-[0-9a-f]{16}\.parquet$/);
    expect(await readdir(join(cacheDir, "pending"))).toHaveLength(1);
    expect((await sink.list()).length).toBe(2);

    const w2 = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, uploadEvery: 10 });
    expect(w2.resume.pendingRows).toHaveLength(5);
    expect(w2.isDone(24)).toBe(true);
    expect(w2.isDone(25)).toBe(false);
    expect(await w2.write(makeRow(3))).toBe(false);
    for (let i = 25; i < 30; i++) {
      await w2.write(makeRow(i));
    }
    // 5 pending + 5 new = one shard of 10, no tiny chunk.
    const s2 = await w2.close();
    expect(s2.shards).toHaveLength(1);
    expect(await readdir(join(cacheDir, "pending"))).toHaveLength(0);
    const names = (await sink.list()).map((f) => parseShardFileName(f.path));
    expect(names.map((n) => [n?.first, n?.last])).toEqual([
      [0, 9],
      [10, 19],
      [20, 29],
    ]);
    await expectAllRows(sink, 30);
  });

  it("refuses to resume with other settings, naming the setting, unless forceRestart", async () => {
    const { sink, cacheDir } = await setup();
    const w1 = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, uploadEvery: 5 });
    for (let i = 0; i < 7; i++) {
      await w1.write(makeRow(i));
    }
    await w1.stop();
    const e = (await StreamingWriter.open({ sink, cacheDir, settings: { ...SETTINGS, topP: 0.95 } }).catch(
      (x: unknown) => x,
    )) as HubStreamError;
    expect(e.code).toBe("SETTINGS_MISMATCH");
    expect(e.setting).toBe("topP");
    expect(e.message).toContain('"topP"');
    expect(e.message).toContain("0.98");

    // Without the checkpoint, the shards' own metadata still catches it.
    await writeFile(join(cacheDir, "checkpoint.json"), "");
    const e2 = (await StreamingWriter.open({ sink, cacheDir, settings: { ...SETTINGS, model: "other/model" } }).catch(
      (x: unknown) => x,
    )) as HubStreamError;
    expect(e2.code).toBe("CACHE_CORRUPT");
    await import("node:fs/promises").then((fs) => fs.rm(join(cacheDir, "checkpoint.json")));
    const e3 = (await StreamingWriter.open({ sink, cacheDir, settings: { ...SETTINGS, model: "other/model" } }).catch(
      (x: unknown) => x,
    )) as HubStreamError;
    expect(e3.code).toBe("SETTINGS_MISMATCH");
    expect(e3.setting).toBe("model");
    expect(e3.message).toContain("data/train-s000of001-");

    const w2 = await StreamingWriter.open({
      sink,
      cacheDir,
      settings: { ...SETTINGS, topP: 0.95 },
      forceRestart: true,
    });
    expect(w2.isDone(0)).toBe(false);
    expect(w2.resume.ignoredFiles).toHaveLength(1);
    expect(w2.resume.discarded).toHaveLength(1);
    expect(w2.resume.discarded[0]).toMatch(/discarded\/pending-/);
    await w2.close();
  });

  it("refuses to resume over shards that record no settings (written by another tool)", async () => {
    const { sink, cacheDir } = await setup();
    await sink.prepare();
    // A file without logitpack.settings, as the Python tool writes them.
    const bytes = await encodeLogitFile([makeRow(0), makeRow(1)]);
    await sink.put("data/train-00000.parquet", await withoutSettings(bytes));
    const e = (await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS }).catch(
      (x: unknown) => x,
    )) as HubStreamError;
    expect(e.code).toBe("SETTINGS_MISMATCH");
    expect(e.message).toContain("records no extraction settings");
    const w = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, forceRestart: true });
    expect(w.resume.ignoredFiles.map((f) => f.path)).toEqual(["data/train-00000.parquet"]);
    await w.close();
  });

  it("two writers cannot share a cache folder; the lock goes with close()", async () => {
    const { sink, cacheDir } = await setup();
    const w1 = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS });
    const e = (await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS }).catch(
      (x: unknown) => x,
    )) as HubStreamError;
    expect(e.code).toBe("INVALID_STATE");
    expect(e.message).toContain(`pid ${process.pid}`);
    await w1.close();
    const w2 = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS });
    await w2.close();
    // A lock left by a process that is gone (kill -9) is taken over.
    await writeFile(
      join(cacheDir, "lock"),
      JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import("node:os")).hostname() }),
    );
    const w3 = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS });
    await w3.close();
  });

  it("resume:false refuses to start over earlier progress", async () => {
    const { sink, cacheDir } = await setup();
    const w1 = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, uploadEvery: 5 });
    await w1.write(makeRow(0));
    await w1.close();
    const e = (await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, resume: false }).catch(
      (x: unknown) => x,
    )) as HubStreamError;
    expect(e.code).toBe("INVALID_STATE");
  });

  it("resume reads only shards the checkpoint does not know; a lost checkpoint falls back to reading every shard", async () => {
    const { sink, cacheDir } = await setup();
    const w1 = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, uploadEvery: 4 });
    for (let i = 0; i < 20; i++) {
      await w1.write(makeRow(i));
    }
    await w1.close();
    const w2 = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS });
    expect(w2.resume).toMatchObject({ scannedFiles: 0, knownFiles: 5 });
    expect(w2.resume.done.size).toBe(20);
    await w2.close();
    const cp = JSON.parse(await readFile(join(cacheDir, "checkpoint.json"), "utf8"));
    expect(cp).toMatchObject({ version: 1, rows: 20, configHash: expect.stringMatching(/^[0-9a-f]{16}$/) });
    await import("node:fs/promises").then((fs) => fs.rm(join(cacheDir, "checkpoint.json")));
    const w3 = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS });
    expect(w3.resume).toMatchObject({ scannedFiles: 5, knownFiles: 0 });
    expect(w3.resume.done.size).toBe(20);
    await w3.close();
  });

  it("keeps a shard whose upload failed as backup_* and uploads it on the next run", async () => {
    const { sink: folder, cacheDir } = await setup();
    const sink = new TestSink(folder);
    sink.failNext = 3; // first shard: fails; at close the retry fails too (2 more)
    const failures: WriterEvent[] = [];
    const w1 = await StreamingWriter.open({
      sink,
      cacheDir,
      settings: SETTINGS,
      uploadEvery: 5,
      onEvent: (e) => (e.type === "upload-failed" ? failures.push(e) : undefined),
    });
    for (let i = 0; i < 10; i++) {
      await w1.write(makeRow(i));
    }
    const s1 = await w1.close();
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(s1.backups.length).toBeGreaterThanOrEqual(1);
    const backups = (await readdir(cacheDir)).filter((n) => n.startsWith("backup_"));
    expect(backups.length).toBe(s1.backups.length);

    const w2 = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, uploadEvery: 5 });
    expect(w2.resume.backups.length).toBe(backups.length);
    for (let i = 0; i < 10; i++) {
      expect(w2.isDone(i)).toBe(true);
    }
    await w2.close();
    expect((await readdir(cacheDir)).filter((n) => n.startsWith("backup_"))).toHaveLength(0);
    await expectAllRows(sink, 10);
  });

  it("verify reports duplicates and gaps", async () => {
    const { sink, cacheDir } = await setup();
    const w = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, uploadEvery: 5, card: false });
    for (const i of [0, 1, 2, 3, 4, 5, 6, 9, 10, 11]) {
      await w.write(makeRow(i));
    }
    await w.close();
    // A copy of one shard under another name: what a non-deterministic writer would leave behind.
    const [first] = await sink.list();
    const src = await sink.source(first as { path: string; size: number });
    await sink.put("data/copy.parquet", new Uint8Array(await src.slice(0, src.byteLength)));
    const report = await verifyDataset({ sink, expectedCount: 14 });
    expect(report.ok).toBe(false);
    expect(report.duplicateRows).toBe(5);
    expect(report.duplicates[0]).toEqual({
      index: 0,
      files: [expect.stringMatching(/^data\/copy/), expect.stringMatching(/train-/)],
    });
    expect(report.gaps).toEqual([
      [7, 9],
      [12, 14],
    ]);
    expect(report.missing).toBe(4);
    // Only even indices expected (another writer owns the odd ones).
    const even = await verifyDataset({ sink, expectedCount: 14, expected: (i) => i % 2 === 0 });
    expect(even.gaps).toEqual([
      [8, 9],
      [12, 13],
    ]);
    expect(even.missing).toBe(2);
  });
});
