import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { ByteSource } from "@logitpack/codec";
import { fileSource } from "@logitpack/codec/node";
import { HubStreamError } from "./errors.js";
import { type FsLayer, listDir, nodeFs, TEMP_SUFFIX, writeFileAtomic } from "./fs.js";
import { temporaryOwnerAlive } from "./lock.js";
import { DATA_DIR, QUARANTINE_DIR } from "./names.js";
import type { PutResult, Sink, SinkFile } from "./sink.js";

/** A local folder laid out like a Hub dataset repo: `README.md` and `data/*.parquet`. */
export class FolderSink implements Sink {
  readonly kind = "folder";
  readonly location: string;

  constructor(
    readonly root: string,
    private readonly fs: FsLayer = nodeFs,
  ) {
    this.location = resolve(root);
  }

  async prepare(): Promise<void> {
    try {
      await this.fs.mkdir(join(this.root, DATA_DIR));
    } catch (error) {
      throw fsError(error, `cannot create the output folder ${join(this.root, DATA_DIR)}`, this.root);
    }
    await this.removeStaleTemporaryFiles();
  }

  /**
   * Remove the temporary files (`*.tmp`, full-size shards) of writers that were killed before their rename. A file
   * whose writer still runs on this machine is kept (split runs share an output folder); one from another machine
   * only once it has not changed for an hour. Returns the names removed.
   */
  async removeStaleTemporaryFiles(): Promise<string[]> {
    const removed: string[] = [];
    for (const dir of [this.root, join(this.root, DATA_DIR)]) {
      for (const name of await listDir(this.fs, dir).catch(() => [] as string[])) {
        if (!name.endsWith(TEMP_SUFFIX)) {
          continue;
        }
        const path = join(dir, name);
        const ageMs = await stat(path).then(
          (s) => Date.now() - s.mtimeMs,
          () => undefined,
        );
        if (ageMs !== undefined && !temporaryOwnerAlive(name, ageMs)) {
          await this.fs.rm(path).catch(() => undefined);
          removed.push(name);
        }
      }
    }
    return removed;
  }

  async list(): Promise<SinkFile[]> {
    const out: SinkFile[] = [];
    const dir = join(this.root, DATA_DIR);
    for (const name of await listDir(this.fs, dir)) {
      if (!name.endsWith(".parquet") || name.endsWith(TEMP_SUFFIX)) {
        continue;
      }
      const size = await this.fs.size(join(dir, name));
      if (size !== undefined) {
        out.push({ path: `${DATA_DIR}/${name}`, size });
      }
    }
    return out;
  }

  source(file: SinkFile): Promise<ByteSource> {
    return fileSource(join(this.root, file.path));
  }

  async put(path: string, bytes: Uint8Array): Promise<PutResult> {
    const target = join(this.root, path);
    const size = await this.fs.size(target);
    if (size === bytes.length && sameHash(await this.fs.readFile(target), bytes)) {
      return { written: false };
    }
    try {
      await this.fs.mkdir(dirname(target));
      await writeFileAtomic(this.fs, target, bytes);
    } catch (error) {
      throw fsError(error, `cannot write ${target}`, target);
    }
    return { written: true };
  }

  async remove(paths: string[]): Promise<void> {
    for (const p of paths) {
      await this.fs.rm(join(this.root, p));
    }
  }

  async moveAside(path: string): Promise<string> {
    const dir = join(this.root, QUARANTINE_DIR);
    const base = path.slice(path.lastIndexOf("/") + 1);
    let name = base;
    for (let k = 1; (await this.fs.size(join(dir, name))) !== undefined; k++) {
      name = `${base}.${k}`;
    }
    try {
      await this.fs.mkdir(dir);
      await this.fs.rename(join(this.root, path), join(dir, name));
      await this.fs.syncDir(join(this.root, DATA_DIR));
    } catch (error) {
      throw fsError(error, `cannot move ${path} aside into ${QUARANTINE_DIR}/`, join(this.root, path), "CORRUPT_SHARD");
    }
    return `${QUARANTINE_DIR}/${name}`;
  }

  async readText(path: string): Promise<string | undefined> {
    try {
      return new TextDecoder().decode(await this.fs.readFile(join(this.root, path)));
    } catch {
      return undefined;
    }
  }
}

function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return createHash("sha256").update(a).digest("hex") === createHash("sha256").update(b).digest("hex");
}

/** A file-system failure as a HubStreamError with the errno code in the message (ENOSPC, EACCES...). */
export function fsError(
  error: unknown,
  what: string,
  path: string,
  code: "CACHE_WRITE_FAILED" | "SHARD_LOST" | "CORRUPT_SHARD" = "CACHE_WRITE_FAILED",
): HubStreamError {
  if (error instanceof HubStreamError) {
    return error;
  }
  const errno = (error as NodeJS.ErrnoException).code;
  const hint =
    errno === "ENOSPC"
      ? " (the disk is full)"
      : errno === "EACCES" || errno === "EPERM" || errno === "EROFS"
        ? " (no permission to write there)"
        : errno === "ENOTDIR" || errno === "EEXIST"
          ? " (a file is in the way of a folder)"
          : "";
  return new HubStreamError(code, `${what}: ${errno ?? (error as Error).message}${hint}`, { path }, { cause: error });
}
