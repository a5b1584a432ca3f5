import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, realpath, stat } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { basename, dirname, join, relative, sep } from "node:path";
import { nodeFs, writeFileAtomic } from "./fs.js";

/**
 * Identity by content. Settings record what a run read by what it *is*, not where it was: a local model or dataset by
 * a hash of its files (names relative to its folder, so a moved or copied folder keeps its fingerprint), a Hub repo
 * by its commit, a template or tokenizer by a hash of its text. Resume compares these, so moving an install, a model
 * or a dataset is accepted and changing their content is refused (see `describeSettingChange`).
 */

/** sha256 (hex) of a file's bytes, streamed. */
export async function hashFile(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) {
    h.update(chunk as Buffer);
  }
  return h.digest("hex");
}

/** sha256 (hex) of a text (a chat template, a tokenizer's JSON). */
export function hashText(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}

export interface FingerprintOptions {
  /** Which files of a folder count (relative path with `/`); default every file but hidden ones (`.git`, `.cache`). */
  include?: (relativePath: string) => boolean;
  /**
   * A local JSON file remembering file hashes by (real path, size, mtime), so multi-GB model weights are hashed once
   * per change, not at every run. Local only (it holds machine paths): keep it in a cache folder, never publish it.
   */
  memoFile?: string;
}

type Memo = Record<string, { size: number; mtimeMs: number; sha256: string }>;

async function readMemo(file: string | undefined): Promise<Memo> {
  if (!file) {
    return {};
  }
  try {
    return JSON.parse(await readFile(file, "utf8")) as Memo;
  } catch {
    return {};
  }
}

async function hashWithMemo(path: string, memo: Memo): Promise<{ sha: string; changed: boolean }> {
  const real = await realpath(path);
  const s = await stat(real);
  const known = memo[real];
  if (known && known.size === s.size && Math.abs(known.mtimeMs - s.mtimeMs) < 1) {
    return { sha: known.sha256, changed: false };
  }
  const sha = await hashFile(real);
  memo[real] = { size: s.size, mtimeMs: s.mtimeMs, sha256: sha };
  return { sha, changed: true };
}

async function listFiles(root: string, dir: string, include: (p: string) => boolean, out: string[]): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".")) {
      continue;
    }
    const full = join(dir, entry.name);
    // symlinks are followed (a Hugging Face cache snapshot is a folder of links into blobs/)
    const s = entry.isSymbolicLink() ? await stat(full) : undefined;
    if (entry.isDirectory() || s?.isDirectory()) {
      await listFiles(root, full, include, out);
    } else if (entry.isFile() || s?.isFile()) {
      const rel = relative(root, full).split(sep).join("/");
      if (include(rel)) {
        out.push(rel);
      }
    }
  }
}

/**
 * `sha256:{hex}` of a local file or folder's content: for a file, its bytes (its name does not count: a renamed
 * dataset file is the same dataset); for a folder, the sorted list of (relative path, sha256 of bytes). Nothing of
 * the absolute path enters it.
 */
export async function fingerprintPath(path: string, options: FingerprintOptions = {}): Promise<string> {
  const memo = await readMemo(options.memoFile);
  let changed = false;
  const hash = async (file: string) => {
    const r = await hashWithMemo(file, memo);
    changed ||= r.changed;
    return r.sha;
  };
  let out: string;
  if (!(await stat(path)).isDirectory()) {
    out = `sha256:${await hash(path)}`;
  } else {
    const files: string[] = [];
    await listFiles(path, path, options.include ?? (() => true), files);
    files.sort();
    const h = createHash("sha256");
    for (const rel of files) {
      h.update(`${rel}\0${await hash(join(path, ...rel.split("/")))}\n`);
    }
    out = `sha256:${h.digest("hex")}`;
  }
  if (options.memoFile && changed) {
    await mkdir(dirname(options.memoFile), { recursive: true }).catch(() => undefined);
    await writeFileAtomic(nodeFs, options.memoFile, JSON.stringify(memo)).catch(() => undefined);
  }
  return out;
}

/** A Hub repo's identity: `hf:{type}/{repo}@{commit}` (a commit sha, not a branch name, so a moved branch shows). */
export function hubFingerprint(repo: string, commit: string, type: "model" | "dataset" = "model"): string {
  return `hf:${type === "dataset" ? "datasets/" : ""}${repo}@${commit}`;
}

/** A label for a local file or folder that names no machine path: its base name. */
export function localLabel(path: string): string {
  return basename(path.replace(/[\\/]+$/, "")) || ".";
}

/**
 * Strings in `value` (settings, an event, a card) that hold a machine path: an absolute path, or the home or temp
 * folder. Returns `key.path: value` lines (empty when clean). The CLI and tests use it to keep local paths out of
 * what is published.
 */
export function findLocalPaths(value: unknown, extra: string[] = []): string[] {
  const needles = [homedir(), tmpdir(), ...extra].filter((n) => n.length > 1);
  const out: string[] = [];
  const visit = (v: unknown, at: string) => {
    if (typeof v === "string") {
      if (/^(?:\/|[A-Za-z]:[\\/]|~\/)/.test(v) || needles.some((n) => v.includes(n))) {
        out.push(`${at || "(value)"}: ${v.length > 80 ? `${v.slice(0, 77)}...` : v}`);
      }
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => {
        visit(x, `${at}[${i}]`);
      });
    } else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        visit(x, at ? `${at}.${k}` : k);
      }
    }
  };
  visit(value, "");
  return out;
}
