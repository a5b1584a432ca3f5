import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import type { ExtractionSettings } from "@logitpack/codec";
import { HubStreamError } from "./errors.js";
import { fsError } from "./folder-sink.js";
import { type FsLayer, listDir, nodeFs, TEMP_SUFFIX, writeFileAtomic } from "./fs.js";
import { IndexSet } from "./index-set.js";
import { acquireLock, type HeldLock, type LockOptions } from "./lock.js";
import { DATA_DIR, QUARANTINE_DIR, type ShardSpec } from "./names.js";
import type { Sink } from "./sink.js";

/** Default cache folder, the Python tool's name. */
export const DEFAULT_CACHE_DIR = ".logit_extraction_cache";

/** `checkpoint.json`: what this cache's runs have put into the sink, and with which settings. */
export interface Checkpoint {
  version: 1;
  /** Hash of `settings` (see `configHash`). */
  configHash: string;
  /** The extraction settings, as every shard records them. */
  settings: ExtractionSettings;
  shard: ShardSpec;
  /** The sink (`locationId`: a Hub repo URL, or a hash of a folder's path), never a token nor a local path. */
  location: string;
  /** Shards uploaded by runs of this cache. */
  shards: string[];
  /** Dataset indices in those shards. */
  done: SerializedIndexSet;
  /** Number of rows in those shards. */
  rows: number;
  updatedAt: string;
}

/**
 * What the checkpoint records as the sink: a Hub sink's location (`{hub}/datasets/{repo}@{rev}`), a folder's as a
 * hash of its absolute path (`folder:{16 hex}`): the checkpoint names no local path.
 */
export function locationId(sink: Sink): string {
  return sink.kind === "folder"
    ? `folder:${createHash("sha256").update(sink.location).digest("hex").slice(0, 16)}`
    : sink.location;
}

/** An index set in JSON: sorted `[start, end)` ranges, or a little-endian bitmap in base64 when that is smaller. */
export type SerializedIndexSet = { ranges: [number, number][] } | { bitmap: string };

export function serializeIndexSet(set: IndexSet): SerializedIndexSet {
  const ranges = set.toRanges();
  const last = ranges.length > 0 ? (ranges[ranges.length - 1] as [number, number])[1] : 0;
  const bitmapChars = Math.ceil(last / 8 / 3) * 4;
  if (ranges.length * 16 <= bitmapChars) {
    return { ranges };
  }
  const bytes = new Uint8Array(Math.ceil(last / 8));
  for (const i of set) {
    bytes[i >>> 3] = (bytes[i >>> 3] as number) | (1 << (i & 7));
  }
  return { bitmap: Buffer.from(bytes).toString("base64") };
}

export function deserializeIndexSet(data: SerializedIndexSet): IndexSet {
  if ("ranges" in data) {
    return IndexSet.fromRanges(data.ranges);
  }
  const bytes = Buffer.from(data.bitmap, "base64");
  const set = new IndexSet(bytes.length * 8);
  for (let b = 0; b < bytes.length; b++) {
    const v = bytes[b] as number;
    if (v === 0) {
      continue;
    }
    for (let k = 0; k < 8; k++) {
      if ((v & (1 << k)) !== 0) {
        set.add(b * 8 + k);
      }
    }
  }
  return set;
}

/**
 * The local cache folder (`.logit_extraction_cache/`): `checkpoint.json`, `pending/` (rows not yet in a shard,
 * saved on a stop) and `backup_*.parquet` (shards whose upload failed, uploaded on the next run). Every file is
 * written atomically (temporary file, fsync, rename), so a crash or a full disk never leaves a half-written one.
 */
export class LocalCache {
  readonly checkpointPath: string;
  readonly pendingDir: string;
  private held: HeldLock | undefined;

  constructor(
    readonly dir: string = DEFAULT_CACHE_DIR,
    readonly fs: FsLayer = nodeFs,
  ) {
    this.checkpointPath = join(dir, "checkpoint.json");
    this.pendingDir = join(dir, "pending");
  }

  /** Create the folders; a clear error if that is impossible. */
  async init(): Promise<void> {
    try {
      await this.fs.mkdir(this.pendingDir);
    } catch (error) {
      throw fsError(error, `cannot create the cache folder ${this.dir}`, this.dir);
    }
  }

  /**
   * Take the cache for this process instance (`lock`: pid, its start time, boot id, host, a run id; refreshed while
   * held). A lock whose owner is not that same live instance (kill -9, a crash, a restarted container's PID 1, a
   * reused pid, an earlier boot, a lease left unrefreshed by a writer elsewhere) is taken over: the returned line says
   * so. One held by a live writer is an INVALID_STATE error: two writers must not share a cache.
   */
  async lock(options: LockOptions = {}): Promise<string | undefined> {
    const path = join(this.dir, "lock");
    try {
      this.held = await acquireLock(path, `the cache folder ${this.dir}`, options);
    } catch (error) {
      throw fsError(error, `cannot lock the cache folder ${this.dir}`, path);
    }
    return this.held.takenOver;
  }

  /** Release the lock taken by `lock()` (only if it is still ours). */
  async unlock(): Promise<void> {
    const held = this.held;
    this.held = undefined;
    await held?.release();
  }

  /** The checkpoint, undefined if there is none; throws CACHE_CORRUPT if it cannot be parsed. */
  async readCheckpoint(): Promise<Checkpoint | undefined> {
    let bytes: Uint8Array;
    try {
      bytes = await this.fs.readFile(this.checkpointPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        return undefined;
      }
      throw new HubStreamError(
        "CACHE_CORRUPT",
        `cannot read ${this.checkpointPath}`,
        { path: this.checkpointPath },
        { cause: error },
      );
    }
    try {
      const cp = JSON.parse(new TextDecoder().decode(bytes)) as Checkpoint;
      if (cp.version !== 1 || !Array.isArray(cp.shards) || typeof cp.configHash !== "string" || !cp.done) {
        throw new Error("unexpected content");
      }
      return cp;
    } catch (error) {
      throw new HubStreamError(
        "CACHE_CORRUPT",
        `${this.checkpointPath} is not a checkpoint (${(error as Error).message}); remove it, or restart with --force-restart`,
        { path: this.checkpointPath },
        { cause: error },
      );
    }
  }

  async writeCheckpoint(cp: Checkpoint): Promise<void> {
    try {
      await writeFileAtomic(this.fs, this.checkpointPath, `${JSON.stringify(cp, null, 1)}\n`);
    } catch (error) {
      throw fsError(
        error,
        `cannot write the checkpoint ${this.checkpointPath}; the previous one is intact`,
        this.checkpointPath,
      );
    }
  }

  /** Save rows that are in no shard yet (a stop): `pending/pending-{first}-{last}-{hash}.parquet`. */
  async savePending(name: string, bytes: Uint8Array): Promise<string> {
    const path = join(this.pendingDir, name);
    try {
      await this.fs.mkdir(this.pendingDir);
      await writeFileAtomic(this.fs, path, bytes);
    } catch (error) {
      throw fsError(error, `cannot save unflushed rows to ${path}`, path);
    }
    return path;
  }

  async listPending(): Promise<string[]> {
    return (await listDir(this.fs, this.pendingDir))
      .filter((n) => n.endsWith(".parquet") && !n.endsWith(TEMP_SUFFIX))
      .map((n) => join(this.pendingDir, n));
  }

  /** Keep a shard whose upload failed: `backup_{file name}`, uploaded under its sink path on the next run. */
  async saveBackup(sinkPath: string, bytes: Uint8Array): Promise<string> {
    const path = join(this.dir, `backup_${basename(sinkPath)}`);
    try {
      await writeFileAtomic(this.fs, path, bytes);
    } catch (error) {
      throw fsError(error, `cannot keep the shard ${sinkPath} as a backup in ${this.dir}`, path, "SHARD_LOST");
    }
    return path;
  }

  /** Backups: the local file and the sink path it belongs to. */
  async listBackups(): Promise<{ file: string; sinkPath: string }[]> {
    return (await listDir(this.fs, this.dir))
      .filter((n) => n.startsWith("backup_") && n.endsWith(".parquet") && !n.endsWith(TEMP_SUFFIX))
      .map((n) => ({ file: join(this.dir, n), sinkPath: `${DATA_DIR}/${n.slice("backup_".length)}` }));
  }

  async read(path: string): Promise<Uint8Array> {
    return this.fs.readFile(path);
  }

  async remove(path: string): Promise<void> {
    await this.fs.rm(path);
  }

  /**
   * Keep a broken or duplicate file out of the way, never deleted: `quarantine/{name}` in the cache (a name already
   * there gets a `.1`, `.2`... suffix). `from` is a cache file to move, or the bytes of a sink file to keep a copy of.
   * Returns the path relative to the cache folder.
   */
  async quarantine(name: string, from: string | Uint8Array): Promise<string> {
    const dir = join(this.dir, QUARANTINE_DIR);
    let target = name;
    for (let k = 1; (await this.fs.size(join(dir, target))) !== undefined; k++) {
      target = `${name}.${k}`;
    }
    const path = join(dir, target);
    try {
      await this.fs.mkdir(dir);
      if (typeof from === "string") {
        await this.fs.rename(from, path);
      } else {
        await writeFileAtomic(this.fs, path, from);
      }
    } catch (error) {
      throw fsError(error, `cannot keep ${name} in ${dir}`, path);
    }
    return `${QUARANTINE_DIR}/${target}`;
  }

  /**
   * Forget earlier progress (force restart): the checkpoint is removed; pending rows and backups are moved into
   * `discarded/`, not deleted, so nothing computed is ever lost by accident.
   */
  async discard(): Promise<string[]> {
    const moved: string[] = [];
    const target = join(this.dir, "discarded");
    const files = [...(await this.listPending()), ...(await this.listBackups()).map((b) => b.file)];
    if (files.length > 0) {
      await this.fs.mkdir(target);
    }
    for (const file of files) {
      const to = join(target, basename(file));
      await this.fs.rename(file, to);
      moved.push(to);
    }
    await this.fs.rm(this.checkpointPath);
    return moved;
  }
}
