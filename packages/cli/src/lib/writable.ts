import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ExtractionError } from "./errors.js";

const REASONS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOSPC: "the disk is full",
  ENOTDIR: "a part of the path is a file",
  EEXIST: "a file of that name exists",
};

function why(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  return code ? `${code}: ${REASONS[code] ?? (error as Error).message}` : String(error);
}

/**
 * Checks, before any work, that `dir` can be written: an existing folder gets a probe file; a folder that does not
 * exist yet gets a probe folder in its nearest existing parent (nothing is left behind: a failed run does not leave
 * an empty output folder). Reports the flag, the folder and the reason.
 */
export function checkWritableDir(dir: string, flag: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) {
      throw new ExtractionError("NOT_WRITABLE", `${flag}: ${dir} is a file, not a folder`);
    }
    const probe = join(dir, `.logitpack-write-test-${process.pid}`);
    try {
      writeFileSync(probe, "");
    } catch (error) {
      throw new ExtractionError("NOT_WRITABLE", `${flag}: the folder ${dir} is not writable (${why(error)})`);
    } finally {
      rmSync(probe, { force: true });
    }
    return;
  }
  let parent = dirname(dir);
  while (!existsSync(parent) && dirname(parent) !== parent) {
    parent = dirname(parent);
  }
  if (!statSync(parent).isDirectory()) {
    throw new ExtractionError("NOT_WRITABLE", `${flag}: cannot create the folder ${dir} (${parent} is a file)`);
  }
  let probe: string | undefined;
  try {
    probe = mkdtempSync(join(parent, ".logitpack-write-test-"));
  } catch (error) {
    throw new ExtractionError("NOT_WRITABLE", `${flag}: cannot create the folder ${dir} (${why(error)})`);
  } finally {
    if (probe !== undefined) {
      rmSync(probe, { recursive: true, force: true });
    }
  }
}

/** The folder of `file` is writable (created if needed), and `file` is not a folder. */
export function checkWritableFile(file: string, flag: string): void {
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw new ExtractionError("NOT_WRITABLE", `${flag}: ${file} is a folder, not a file`);
  }
  checkWritableDir(dirname(file), flag);
}
