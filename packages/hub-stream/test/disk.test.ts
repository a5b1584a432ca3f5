import { execFileSync } from "node:child_process";
import { mkdir, readdir, readFile, rm, statfs, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FolderSink, type FsLayer, HubStreamError, nodeFs, type Sink, StreamingWriter } from "../src/index.js";
import { makeRow, SETTINGS, sinkRows, tempDir } from "./helpers.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    await c();
  }
});

async function dir() {
  const d = await tempDir();
  cleanups.push(d.cleanup);
  return d.path;
}

function errno(code: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated, write '${path}'`), { code, path });
}

/**
 * A small disk: a real 256 KiB tmpfs when this machine lets us mount one (root in CI), otherwise node:fs with a
 * byte budget that answers ENOSPC (after writing part of the file, as a real full disk does). `fill(leave)` leaves
 * only `leave` bytes free; `free()` makes room again. HUB_STREAM_SIMULATE_FULL_DISK=1 forces the simulated disk.
 */
async function smallDisk(): Promise<{
  dir: string;
  fs: FsLayer;
  real: boolean;
  fill(leave: number): Promise<void>;
  free(): Promise<void>;
}> {
  const path = await dir();
  const mount = join(path, "disk");
  await mkdir(mount);
  try {
    if (process.env.HUB_STREAM_SIMULATE_FULL_DISK) {
      throw new Error("simulated disk requested");
    }
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mount], { stdio: "ignore" });
    cleanups.push(async () => {
      execFileSync("umount", [mount], { stdio: "ignore" });
    });
    const filler = join(mount, "filler");
    return {
      dir: mount,
      fs: nodeFs,
      real: true,
      async fill(leave) {
        const s = await statfs(mount);
        const free = Number(s.bavail) * Number(s.bsize);
        await writeFile(filler, new Uint8Array(Math.max(0, free - leave)));
      },
      async free() {
        await rm(filler, { force: true });
      },
    };
  } catch {
    let budget = Number.POSITIVE_INFINITY;
    const fs: FsLayer = {
      ...nodeFs,
      async writeFileSync(p, data) {
        if (p.startsWith(mount) && data.length > budget) {
          await nodeFs.writeFileSync(p, data.subarray(0, Math.max(0, budget)));
          budget = 0;
          throw errno("ENOSPC", p);
        }
        if (p.startsWith(mount)) {
          budget -= data.length;
        }
        await nodeFs.writeFileSync(p, data);
      },
    };
    return {
      dir: mount,
      fs,
      real: false,
      async fill(leave) {
        budget = leave;
      },
      async free() {
        budget = Number.POSITIVE_INFINITY;
      },
    };
  }
}

async function expectAllOnce(sink: Sink, n: number) {
  const rows = await sinkRows(sink);
  expect(rows.size).toBe(n);
  for (const [, d] of rows) {
    expect(d).toHaveLength(1);
  }
}

describe("full disk and unwritable cache", () => {
  it("a full disk under the cache gives a clear error, leaves the checkpoint intact, and the run resumes once there is room", async () => {
    const disk = await smallDisk();
    const cacheDir = join(disk.dir, "cache");
    const sink = new FolderSink(join(await dir(), "out"));
    const w = await StreamingWriter.open({
      sink,
      cacheDir,
      fs: disk.fs,
      settings: SETTINGS,
      uploadEvery: 10,
      card: false,
    });
    for (let i = 0; i < 10; i++) {
      await w.write(makeRow(i));
    }
    await w.flush();
    const before = await readFile(join(cacheDir, "checkpoint.json"), "utf8");
    await disk.fill(64);
    let error: unknown;
    try {
      for (let i = 10; i < 60; i++) {
        await w.write(makeRow(i));
      }
      await w.close();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HubStreamError);
    expect((error as HubStreamError).code).toBe("CACHE_WRITE_FAILED");
    expect((error as HubStreamError).message).toMatch(/ENOSPC.*disk is full/);
    // What the CLI does next: stop (saving pending rows fails too on a full disk, and says so).
    const stopError = (await w.stop("error").catch((x: unknown) => x)) as HubStreamError;
    expect(stopError.code).toBe("CACHE_WRITE_FAILED");
    // The previous checkpoint is intact and no temporary file was left behind.
    const after = await readFile(join(cacheDir, "checkpoint.json"), "utf8");
    expect(JSON.parse(after).version).toBe(1);
    expect(after.length).toBeGreaterThanOrEqual(before.length);
    expect((await readdir(cacheDir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);

    await disk.free();
    const w2 = await StreamingWriter.open({
      sink,
      cacheDir,
      fs: disk.fs,
      settings: SETTINGS,
      uploadEvery: 10,
      card: false,
    });
    for (let i = 0; i < 60; i++) {
      if (!w2.isDone(i)) {
        await w2.write(makeRow(i));
      }
    }
    await w2.close();
    await expectAllOnce(sink, 60);
  });

  it("a full output disk keeps shards as backups, uploaded by the next run", async () => {
    const disk = await smallDisk();
    const sink = new FolderSink(join(disk.dir, "out"), disk.fs);
    const cacheDir = join(await dir(), "cache");
    const w = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, uploadEvery: 10, card: false });
    await disk.fill(100);
    for (let i = 0; i < 30; i++) {
      await w.write(makeRow(i));
    }
    const summary = await w.close();
    expect(summary.backups).toHaveLength(3);
    expect((await readdir(cacheDir)).filter((n) => n.startsWith("backup_"))).toHaveLength(3);
    expect((await readdir(join(disk.dir, "out", "data"))).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    await disk.free();
    const w2 = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, uploadEvery: 10, card: false });
    expect(w2.resume.done.size).toBe(30);
    await w2.close();
    expect((await readdir(cacheDir)).filter((n) => n.startsWith("backup_"))).toHaveLength(0);
    await expectAllOnce(sink, 30);
  });

  it("an unwritable cache folder is a clear error before any work (a file in the way, no permission)", async () => {
    const base = await dir();
    await writeFile(join(base, "file"), "x");
    const sink = new FolderSink(join(base, "out"));
    const e1 = (await StreamingWriter.open({ sink, cacheDir: join(base, "file", "cache"), settings: SETTINGS }).catch(
      (x: unknown) => x,
    )) as HubStreamError;
    expect(e1.code).toBe("CACHE_WRITE_FAILED");
    expect(e1.message).toMatch(/cannot create the cache folder .*(ENOTDIR|EEXIST)/);

    const denied: FsLayer = {
      ...nodeFs,
      async mkdir(p) {
        throw errno("EACCES", p);
      },
    };
    const e2 = (await StreamingWriter.open({
      sink,
      cacheDir: join(base, "cache"),
      fs: denied,
      settings: SETTINGS,
    }).catch((x: unknown) => x)) as HubStreamError;
    expect(e2.code).toBe("CACHE_WRITE_FAILED");
    expect(e2.message).toContain("no permission");
  });

  it("when neither the sink nor the cache can take a shard, the error says so and nothing is marked done", async () => {
    const base = await dir();
    const cacheDir = join(base, "cache");
    let broken = false;
    const fs: FsLayer = {
      ...nodeFs,
      async writeFileSync(p, data) {
        if (broken) {
          throw errno("EROFS", p);
        }
        await nodeFs.writeFileSync(p, data);
      },
    };
    const sink = new FolderSink(join(base, "out"), fs);
    const w = await StreamingWriter.open({ sink, cacheDir, fs, settings: SETTINGS, uploadEvery: 5, card: false });
    broken = true;
    let error: unknown;
    try {
      for (let i = 0; i < 20; i++) {
        await w.write(makeRow(i));
      }
      await w.close();
    } catch (e) {
      error = e;
    }
    expect((error as HubStreamError).code).toBe("SHARD_LOST");
    expect((error as HubStreamError).message).toMatch(
      /could not be uploaded .* nor kept as a backup .*produced again on resume/,
    );
    await w.stop("error").catch(() => undefined);
    broken = false;
    const w2 = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, uploadEvery: 5, card: false });
    expect(w2.isDone(0)).toBe(false);
    for (let i = 0; i < 20; i++) {
      await w2.write(makeRow(i));
    }
    await w2.close();
    await expectAllOnce(sink, 20);
  });
});
