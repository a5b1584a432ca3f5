import { createHash } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import type { ByteSource } from "@logitpack/codec";
import { fileSource } from "@logitpack/codec/node";
import { HubStreamError } from "./errors.js";
import { type FsLayer, listDir, nodeFs, TEMP_SUFFIX, writeFileAtomic } from "./fs.js";
import { DATA_DIR } from "./names.js";
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
  code: "CACHE_WRITE_FAILED" | "SHARD_LOST" = "CACHE_WRITE_FAILED",
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
