import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { CliError } from "./errors.js";

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
 * Creates `dir` if needed and writes a probe file in it: an output folder that cannot be written is reported before
 * any work, naming the flag, the folder and the reason.
 */
export function checkWritableDir(dir: string, flag: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new CliError(`${flag}: ${dir} is a file, not a folder`);
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new CliError(`${flag}: cannot create the folder ${dir} (${why(error)})`);
  }
  const probe = join(dir, `.logitpack-write-test-${process.pid}`);
  try {
    writeFileSync(probe, "");
  } catch (error) {
    throw new CliError(`${flag}: the folder ${dir} is not writable (${why(error)})`);
  } finally {
    rmSync(probe, { force: true });
  }
}

/** The folder of `file` is writable (created if needed), and `file` is not a folder. */
export function checkWritableFile(file: string, flag: string): void {
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw new CliError(`${flag}: ${file} is a folder, not a file`);
  }
  checkWritableDir(dirname(file), flag);
}
