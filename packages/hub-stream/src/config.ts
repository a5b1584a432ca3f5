import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { HubStreamError } from "./errors.js";

/** The public Hub. */
export const DEFAULT_HUB_URL = "https://huggingface.co";

/** Environment variables we read (a plain object, so tests can pass their own). */
export type Env = Record<string, string | undefined>;

/**
 * The Hub endpoint: the option, else `HF_ENDPOINT`, else huggingface.co; trailing slashes removed (a trailing slash
 * would make `@huggingface/hub` request `//api/...`). `@huggingface/hub` ignores `HF_ENDPOINT`: we honour it.
 */
export function resolveHubUrl(hubUrl?: string, env: Env = process.env): string {
  const raw = hubUrl ?? env.HF_ENDPOINT ?? DEFAULT_HUB_URL;
  const url = raw.trim().replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]/.test(url)) {
    throw new HubStreamError("INVALID_ARGUMENT", `Hub endpoint "${url}" is not an http(s) URL`);
  }
  return url;
}

/** Folder of the `HF_HOME` files (token, hub cache): `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else ~/.cache/huggingface. */
export function hfHome(env: Env = process.env): string {
  if (env.HF_HOME) {
    return env.HF_HOME;
  }
  return join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "huggingface");
}

/**
 * The standard Hub cache folder, shared with Python: `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE`, else
 * `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
 */
export function hubCacheDir(env: Env = process.env): string {
  return env.HF_HUB_CACHE ?? env.HUGGINGFACE_HUB_CACHE ?? join(hfHome(env), "hub");
}

/**
 * The access token: the option (`--token`), else `HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`, else the token file
 * (`HF_TOKEN_PATH` or `$HF_HOME/token`, as `huggingface-cli login` writes it). Undefined when there is none.
 */
export async function resolveToken(token?: string, env: Env = process.env): Promise<string | undefined> {
  const direct = token ?? env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN;
  if (direct !== undefined && direct.trim() !== "") {
    return checkToken(direct.trim());
  }
  const file = env.HF_TOKEN_PATH ?? join(hfHome(env), "token");
  try {
    const stored = (await readFile(file, "utf8")).trim();
    return stored === "" ? undefined : checkToken(stored);
  } catch {
    return undefined;
  }
}

function checkToken(token: string): string {
  if (!token.startsWith("hf_")) {
    // Never echo the token itself.
    throw new HubStreamError("UNAUTHORIZED", "the access token must start with hf_ (check --token or HF_TOKEN)");
  }
  return token;
}

/** A dataset repo id: "namespace/name" (a leading "datasets/" is accepted and dropped). */
export function parseRepoId(repo: string): string {
  const id = repo.replace(/^datasets\//, "").replace(/^hf:\/\/datasets\//, "");
  if (!/^[\w.-]+\/[\w.-]+$/.test(id)) {
    throw new HubStreamError("INVALID_ARGUMENT", `"${repo}" is not a dataset repo id of the form namespace/name`);
  }
  return id;
}
