import { randomBytes } from "node:crypto";
import * as fsp from "node:fs/promises";
import { dirname } from "node:path";
import { temporaryOwnerTag } from "./lock.js";

/**
 * The file operations hub-stream's local cache and folder sink use. The default is node:fs; tests inject one that
 * fails (ENOSPC, EACCES) to check that failures leave a consistent state.
 */
export interface FsLayer {
  mkdir(path: string): Promise<void>;
  /** Write `data` to `path` (create or truncate) and fsync it. */
  writeFileSync(path: string, data: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  readdir(path: string): Promise<string[]>;
  rm(path: string): Promise<void>;
  size(path: string): Promise<number | undefined>;
  /** fsync a directory (makes a rename durable); errors are ignored where directories cannot be synced. */
  syncDir(path: string): Promise<void>;
}

export const nodeFs: FsLayer = {
  async mkdir(path) {
    await fsp.mkdir(path, { recursive: true });
  },
  async writeFileSync(path, data) {
    const fh = await fsp.open(path, "w");
    try {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await fh.write(data, done, data.length - done);
        done += bytesWritten;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  rename: (from, to) => fsp.rename(from, to),
  async readFile(path) {
    const b = await fsp.readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  },
  readdir: (path) => fsp.readdir(path),
  rm: (path) => fsp.rm(path, { force: true, recursive: true }),
  async size(path) {
    try {
      return (await fsp.stat(path)).size;
    } catch {
      return undefined;
    }
  },
  async syncDir(path) {
    try {
      const fh = await fsp.open(path, "r");
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch {
      // Some platforms cannot fsync a directory; the rename itself is still atomic.
    }
  },
};

/** Suffix of temporary files: readers of a folder skip these. */
export const TEMP_SUFFIX = ".tmp";

/**
 * Write a file atomically: a temporary file beside it, fsync, rename over the target, fsync the folder. A reader
 * sees the old file or the new one, never a half-written one; on failure the temporary file is removed.
 */
export async function writeFileAtomic(fs: FsLayer, path: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const tmp = `${path}.${temporaryOwnerTag()}-${randomBytes(4).toString("hex")}${TEMP_SUFFIX}`;
  try {
    await fs.writeFileSync(tmp, bytes);
    await fs.rename(tmp, path);
  } catch (error) {
    await fs.rm(tmp).catch(() => undefined);
    throw error;
  }
  await fs.syncDir(dirname(path));
}

/** Files of a folder, or [] if it does not exist. */
export async function listDir(fs: FsLayer, path: string): Promise<string[]> {
  try {
    return (await fs.readdir(path)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      return [];
    }
    throw error;
  }
}
