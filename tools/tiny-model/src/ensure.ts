import { access, mkdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { generateTinyModel, TINY_MODEL_VERSION, type TinyModelOptions } from "./generate.js";

/**
 * The tiny model's folder under `cacheDir`, generating it on first use (a second or so). Safe when several processes
 * ask at once: each generates into its own temporary folder and the first rename wins.
 */
export async function ensureTinyModel(cacheDir: string, options: TinyModelOptions): Promise<string> {
  const vocab = options.vocabSize ?? 151_936;
  const seed = options.seed ?? 1;
  const dir = join(cacheDir, `tiny-v${TINY_MODEL_VERSION}-${options.shape}-${vocab}-s${seed}`);
  if (await complete(dir)) {
    return dir;
  }
  await mkdir(cacheDir, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await generateTinyModel(tmp, options);
    try {
      await rename(tmp, dir);
    } catch (error) {
      // Another process finished first (the target exists and is not empty): use theirs.
      if (!(await complete(dir))) {
        throw error;
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}

async function complete(dir: string): Promise<boolean> {
  try {
    const info = JSON.parse(await readFile(join(dir, "logitpack-tiny.json"), "utf8")) as { files?: string[] };
    for (const f of info.files ?? []) {
      await access(join(dir, f));
    }
    return true;
  } catch {
    return false;
  }
}
