/**
 * A small in-memory server that speaks the part of the Hugging Face Hub HTTP protocol that `@huggingface/hub`
 * uses for datasets (see ../shared/research/hub-protocol.md): repo creation, whoami, tree listing with paging,
 * paths-info, preupload, the git-LFS batch API with "basic" transfers, NDJSON commits, and resolve/raw with HTTP
 * ranges. It exists for tests and benchmarks: it binds 127.0.0.1 only and can inject faults (status codes,
 * connection resets, delays, 412 on concurrent commits).
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type RouteName =
  | "whoami"
  | "create"
  | "repo-info"
  | "tree"
  | "paths-info"
  | "preupload"
  | "lfs-batch"
  | "lfs-upload"
  | "commit"
  | "resolve"
  | "raw"
  | "other";

/** One fault rule: which requests, what happens, how often. */
export interface FaultRule {
  /** Routes this rule applies to (default: every route). */
  routes?: RouteName[];
  /** HTTP method filter, e.g. "PUT". */
  method?: string;
  /**
   * What happens: an HTTP status (500, 429, 412...), "reset" (the connection is destroyed without an answer), or
   * a delay in ms before the request is handled normally.
   */
  action:
    | { status: number; retryAfterSeconds?: number }
    | "reset"
    | { delayMs: number }
    | {
        /**
         * Answer a file download normally (status, full Content-Length) but destroy the connection after this many
         * body bytes: an interrupted download. Only for `resolve`; elsewhere the request is handled normally.
         */
        dropAfterBytes: number;
      };
  /** Chance that a matching request is hit (default 1). */
  probability?: number;
  /** Hit at most this many requests (default: no limit). */
  times?: number;
  /**
   * Apply the fault after the request took effect (the commit landed, the bytes were stored) and lose the answer:
   * only "reset" and status actions make sense here.
   */
  after?: boolean;
}

export interface HubServerOptions {
  /** Known tokens and their role. Without it, any `hf_` token may write. */
  tokens?: Record<string, "read" | "write">;
  /** Entries per page of a tree listing (default 1000). */
  pageSize?: number;
  /** How preupload answers: Hub-like "auto" (default), or always "lfs" / "regular". */
  uploadMode?: "auto" | "lfs" | "regular";
  /** Fault rules, checked in order; the first that hits applies. Mutable through `server.faults`. */
  faults?: FaultRule[];
  /** Seed of the fault dice (default 1). */
  seed?: number;
  /** Time a commit holds the repo (default 0 ms). With `commitConflicts`, overlapping commits then collide. */
  commitDelayMs?: number;
  /** A commit that arrives while another one on the same repo is being applied gets a 412, as on the real Hub. */
  commitConflicts?: boolean;
}

export interface RequestRecord {
  method: string;
  route: RouteName;
  path: string;
  status: number;
  /** Response body bytes sent (0 for HEAD). */
  bytes: number;
  /** Whether a fault rule hit this request. */
  fault?: string;
}

/**
 * A file whose content is computed on demand, a slice at a time: large test files (several GiB) that are never held
 * in memory nor written to disk on the server side. `fill(offset, out)` writes bytes `[offset, offset + out.length)`.
 */
export interface GeneratedFile {
  size: number;
  fill(offset: number, out: Uint8Array): void;
}

/**
 * A deterministic pseudo-random file of `size` bytes: 1 MiB blocks, each the same seeded block with its index
 * written over its first 8 bytes (cheap to generate at GB/s, no two blocks alike).
 */
export function generatedFile(size: number, seed = 1): GeneratedFile {
  const BLOCK = 1 << 20;
  const base = new Uint8Array(BLOCK);
  const rnd = mulberry32(seed);
  for (let i = 0; i < BLOCK; i++) {
    base[i] = Math.floor(rnd() * 256);
  }
  const block = new Uint8Array(BLOCK);
  const view = new DataView(block.buffer);
  let current = -1;
  return {
    size,
    fill(offset, out) {
      let o = 0;
      while (o < out.length) {
        const pos = offset + o;
        const index = Math.floor(pos / BLOCK);
        if (index !== current) {
          block.set(base);
          view.setFloat64(0, index, true);
          current = index;
        }
        const within = pos - index * BLOCK;
        const n = Math.min(BLOCK - within, out.length - o);
        out.set(block.subarray(within, within + n), o);
        o += n;
      }
    },
  };
}

/** sha256 of a generated file, streamed (a few seconds per GiB). */
export async function generatedSha256(file: GeneratedFile): Promise<string> {
  const hash = createHash("sha256");
  const buf = new Uint8Array(1 << 22);
  for (let off = 0; off < file.size; off += buf.length) {
    const n = Math.min(buf.length, file.size - off);
    file.fill(off, buf.subarray(0, n));
    hash.update(buf.subarray(0, n));
    if ((off / buf.length) % 64 === 63) {
      await new Promise<void>((r) => setImmediate(r));
    }
  }
  return hash.digest("hex");
}

interface FileEntry {
  size: number;
  /** git blob id (of the content, or of the LFS pointer for LFS files). */
  oid: string;
  lfs?: { oid: string; size: number; pointerSize: number };
  /** Content of regular files; LFS content lives in the LFS store. */
  data?: Uint8Array;
  lastCommit: string;
}

interface Commit {
  oid: string;
  title: string;
  date: string;
  parent?: string;
  files: Map<string, FileEntry>;
}

interface Repo {
  id: string;
  commits: Map<string, Commit>;
  branches: Map<string, string>;
  committing: boolean;
}

export interface HubServer {
  /** Base URL (`http://127.0.0.1:PORT`, no trailing slash): pass it as `hubUrl`. */
  readonly url: string;
  /** Every request seen so far (method, route, path without query, status). */
  readonly log: RequestRecord[];
  /** Fault rules in force; replace or edit at any time. */
  faults: FaultRule[];
  /** Time a commit holds its repo, ms. */
  commitDelayMs: number;
  /** Current files of a dataset repo at a branch: path -> bytes. */
  files(repo: string, branch?: string): Map<string, Uint8Array>;
  /** Commits on a branch, newest first. */
  commits(repo: string, branch?: string): { oid: string; title: string }[];
  /**
   * Creates the repo if needed and commits `files` to `branch` in one commit, without the upload protocol: test
   * fixtures such as an onnx-community-shaped model repo. Binary files and files of 10 MiB or more are stored as LFS
   * files (served with `X-Linked-Etag`/`X-Linked-Size`, the sha256 as ETag); `GeneratedFile`s are always LFS and
   * streamed, their sha256 computed by streaming once (pass `sha256` to skip that). Returns the commit id.
   */
  seed(
    repo: string,
    files: Record<string, Uint8Array | string | (GeneratedFile & { sha256?: string })>,
    options?: { branch?: string; title?: string },
  ): Promise<string>;
  close(): Promise<void>;
}

const GITATTRIBUTES = "*.parquet filter=lfs diff=lfs merge=lfs -text\n";

/** Start a server on 127.0.0.1 with a random free port. */
export async function startHubServer(options: HubServerOptions = {}): Promise<HubServer> {
  const repos = new Map<string, Repo>();
  const lfs = new Map<string, Uint8Array>();
  const generated = new Map<string, GeneratedFile>();
  const log: RequestRecord[] = [];
  const sockets = new Set<Socket>();
  const hits = new Map<FaultRule, number>();
  let random = mulberry32(options.seed ?? 1);
  let commitCounter = 0;
  let base = "";

  const state = {
    faults: options.faults ?? [],
    commitDelayMs: options.commitDelayMs ?? 0,
  };

  function newCommit(repo: Repo, title: string, files: Map<string, FileEntry>, parent?: string): Commit {
    commitCounter++;
    const oid = sha1(`${repo.id}:${commitCounter}:${parent ?? ""}:${title}`);
    const commit: Commit = {
      oid,
      title,
      date: new Date(Date.UTC(2026, 0, 1, 0, 0, commitCounter)).toISOString(),
      parent,
      files,
    };
    repo.commits.set(oid, commit);
    return commit;
  }

  function createRepo(id: string): Repo {
    const repo: Repo = { id, commits: new Map(), branches: new Map(), committing: false };
    const data = new TextEncoder().encode(GITATTRIBUTES);
    const files = new Map<string, FileEntry>();
    const commit = newCommit(repo, "initial commit", files);
    files.set(".gitattributes", { size: data.length, oid: gitBlobId(data), data, lastCommit: commit.oid });
    repo.branches.set("main", commit.oid);
    repos.set(id, repo);
    return repo;
  }

  function headOf(repo: Repo, rev: string): Commit | undefined {
    const oid = repo.branches.get(rev) ?? (/^[0-9a-f]{40}$/.test(rev) ? rev : undefined);
    return oid ? repo.commits.get(oid) : undefined;
  }

  function pickFault(route: RouteName, method: string, after: boolean): FaultRule | undefined {
    for (const rule of state.faults) {
      if (Boolean(rule.after) !== after) {
        continue;
      }
      if (rule.routes && !rule.routes.includes(route)) {
        continue;
      }
      if (rule.method && rule.method !== method) {
        continue;
      }
      const count = hits.get(rule) ?? 0;
      if (rule.times !== undefined && count >= rule.times) {
        continue;
      }
      if (random() >= (rule.probability ?? 1)) {
        continue;
      }
      hits.set(rule, count + 1);
      return rule;
    }
    return undefined;
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        sendJson(res, 500, { error: `mock hub: ${(error as Error).message}` });
      } else {
        res.destroy();
      }
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const raw = req.url ?? "/";
    if (raw.startsWith("//")) {
      sendJson(res, 400, { error: "double slash in path (is hubUrl ending with a slash?)" });
      return;
    }
    const url = new URL(base + raw);
    const segs = modelRoutesAsDataset(url.pathname.split("/").slice(1).map(decodeURIComponent));
    const route = routeOf(method, segs);
    const record: RequestRecord = { method, route, path: url.pathname, status: 0, bytes: 0 };
    log.push(record);
    res.on("finish", () => {
      record.status = res.statusCode;
    });
    const body = await readBody(req);

    const before = pickFault(route, method, false);
    if (before) {
      record.fault = describe(before);
      if (before.action === "reset") {
        req.socket.destroy();
        return;
      }
      if ("delayMs" in before.action) {
        await sleep(before.action.delayMs);
      } else if ("dropAfterBytes" in before.action) {
        // handled where the file is sent
      } else {
        const headers: Record<string, string> = {};
        if (before.action.retryAfterSeconds !== undefined) {
          headers["Retry-After"] = String(before.action.retryAfterSeconds);
        }
        const message =
          before.action.status === 412
            ? "A commit has happened since. Please refresh and try again."
            : `injected fault ${before.action.status}`;
        sendJson(res, before.action.status, { error: message }, headers);
        return;
      }
    }
    const afterRule = pickFault(route, method, true);
    if (afterRule) {
      record.fault = describe(afterRule);
    }
    const respond = afterRule
      ? (status: number, payload: unknown, headers: Record<string, string> = {}) => {
          if (afterRule.action === "reset") {
            req.socket.destroy();
          } else if ("status" in afterRule.action && afterRule.action.status !== undefined) {
            sendJson(res, afterRule.action.status, { error: `injected fault ${afterRule.action.status}` });
          } else {
            sendJson(res, status, payload, headers);
          }
        }
      : (status: number, payload: unknown, headers: Record<string, string> = {}) =>
          sendJson(res, status, payload, headers);

    // Authorization.
    const auth = req.headers.authorization;
    const token = auth?.startsWith("Bearer ") ? auth.slice(7) : undefined;
    const role = token === undefined ? undefined : options.tokens ? options.tokens[token] : "write";
    const writes = route === "create" || route === "preupload" || route === "lfs-batch" || route === "commit";
    if ((token !== undefined && role === undefined) || (route === "whoami" && token === undefined)) {
      sendJson(res, 401, { error: "Invalid credentials in Authorization header" });
      return;
    }
    if (writes && role === undefined) {
      sendJson(res, 401, { error: "Invalid credentials in Authorization header" });
      return;
    }
    if (writes && role !== "write") {
      sendJson(res, 403, { error: "You don't have the rights to write to this repository (token role: read)" });
      return;
    }

    switch (route) {
      case "whoami":
        respond(200, {
          type: "user",
          name: "tester",
          auth: { type: "access_token", accessToken: { displayName: "test token", role } },
        });
        return;
      case "create": {
        const payload = JSON.parse(text(body)) as { name: string; organization?: string; type?: string };
        const id = `${payload.organization ?? "tester"}/${payload.name}`;
        if (payload.type !== "dataset" && payload.type !== "model") {
          sendJson(res, 400, { error: "this mock serves dataset and model repos only" });
          return;
        }
        if (repos.has(id)) {
          sendJson(res, 409, { error: "You already created this dataset repo", url: `${base}/datasets/${id}` });
          return;
        }
        createRepo(id);
        respond(200, { url: `${base}/datasets/${id}`, id });
        return;
      }
      case "lfs-upload": {
        const oid = segs[1] ?? "";
        if (sha256(body) !== oid) {
          sendJson(res, 400, { error: "sha256 mismatch" });
          return;
        }
        lfs.set(oid, body);
        respond(200, {});
        return;
      }
      default:
        break;
    }

    // Everything else names a dataset repo.
    const located = locate(route, segs);
    if (!located) {
      sendJson(res, 404, { error: "Not found" }, { "X-Error-Code": "RepoNotFound" });
      return;
    }
    const repo = repos.get(located.id);
    if (!repo) {
      sendJson(res, 404, { error: `Repository ${located.id} not found` }, { "X-Error-Code": "RepoNotFound" });
      return;
    }
    const rest = located.rest;

    if (route === "repo-info") {
      const head = headOf(repo, "main");
      respond(200, { id: repo.id, sha: head?.oid, private: false });
      return;
    }
    if (route === "lfs-batch") {
      const payload = JSON.parse(text(body)) as { objects: { oid: string; size: number }[] };
      respond(200, {
        transfer: "basic",
        objects: payload.objects.map((o) =>
          lfs.has(o.oid)
            ? { oid: o.oid, size: o.size }
            : { oid: o.oid, size: o.size, actions: { upload: { href: `${base}/_lfs/${o.oid}` } } },
        ),
      });
      return;
    }

    const rev = rest[0] ?? "main";
    const commit = headOf(repo, rev);
    if (!commit) {
      sendJson(res, 404, { error: `Revision ${rev} not found` }, { "X-Error-Code": "RevisionNotFound" });
      return;
    }
    const path = rest.slice(1).join("/");

    switch (route) {
      case "tree": {
        const recursive = url.searchParams.get("recursive") === "true";
        const expand = url.searchParams.get("expand") === "true";
        const entries = treeEntries(commit, path, recursive).map((e) => entryJson(repo, e.path, e.file, expand));
        const pageSize = options.pageSize ?? 1000;
        const cursor = Number(url.searchParams.get("cursor") ?? "0");
        const page = entries.slice(cursor, cursor + pageSize);
        const headers: Record<string, string> = {};
        if (cursor + pageSize < entries.length) {
          const next = new URL(url.toString());
          next.searchParams.set("cursor", String(cursor + pageSize));
          headers.Link = `<${next.toString()}>; rel="next"`;
        }
        respond(200, page, headers);
        return;
      }
      case "paths-info": {
        const payload = JSON.parse(text(body)) as { paths: string[]; expand?: boolean };
        const out: unknown[] = [];
        for (const p of payload.paths) {
          const file = commit.files.get(p);
          if (file) {
            out.push(entryJson(repo, p, file, true));
          } else if ([...commit.files.keys()].some((k) => k.startsWith(`${p}/`))) {
            out.push(entryJson(repo, p, undefined, false));
          }
        }
        respond(200, out);
        return;
      }
      case "preupload": {
        const payload = JSON.parse(text(body)) as { files: { path: string; size: number; sample: string }[] };
        respond(200, {
          files: payload.files.map((f) => ({ path: f.path, uploadMode: uploadModeOf(f), shouldIgnore: false })),
        });
        return;
      }
      case "commit": {
        if (repo.committing && options.commitConflicts) {
          sendJson(res, 412, { error: "A commit has happened since. Please refresh and try again." });
          return;
        }
        repo.committing = true;
        try {
          await sleep(state.commitDelayMs);
          const lines = text(body)
            .split("\n")
            .filter((l) => l.trim() !== "")
            .map((l) => JSON.parse(l) as { key: string; value: Record<string, unknown> });
          const header = lines.find((l) => l.key === "header")?.value ?? {};
          const current = headOf(repo, rev) as Commit;
          if (typeof header.parentCommit === "string" && header.parentCommit !== current.oid) {
            sendJson(res, 412, { error: "A commit has happened since. Please refresh and try again." });
            return;
          }
          const files = new Map(current.files);
          const changes: [string, Omit<FileEntry, "lastCommit"> | null][] = [];
          for (const { key, value } of lines) {
            if (key === "file") {
              const data = new Uint8Array(Buffer.from(String(value.content), "base64"));
              changes.push([String(value.path), { size: data.length, oid: gitBlobId(data), data }]);
            } else if (key === "lfsFile") {
              const oid = String(value.oid);
              const stored = lfs.get(oid);
              if (!stored) {
                sendJson(res, 422, { error: `LFS object ${oid} was not uploaded` });
                return;
              }
              const pointer = lfsPointer(oid, stored.length);
              changes.push([
                String(value.path),
                {
                  size: stored.length,
                  oid: gitBlobId(pointer),
                  lfs: { oid, size: stored.length, pointerSize: pointer.length },
                },
              ]);
            } else if (key === "deletedFile") {
              changes.push([String(value.path), null]);
            } else if (key === "deletedFolder") {
              for (const p of files.keys()) {
                if (p.startsWith(`${String(value.path)}/`)) {
                  changes.push([p, null]);
                }
              }
            }
          }
          const next = newCommit(repo, String(header.summary ?? "commit"), files, current.oid);
          for (const [p, entry] of changes) {
            if (entry) {
              files.set(p, { ...entry, lastCommit: next.oid });
            } else {
              files.delete(p);
            }
          }
          repo.branches.set(rev, next.oid);
          respond(200, {
            commitOid: next.oid,
            commitUrl: `${base}/datasets/${repo.id}/commit/${next.oid}`,
            hookOutput: "",
          });
        } finally {
          repo.committing = false;
        }
        return;
      }
      case "resolve":
      case "raw": {
        const file = commit.files.get(path);
        if (!file) {
          sendJson(res, 404, { error: `Entry ${path} not found` }, { "X-Error-Code": "EntryNotFound" });
          return;
        }
        const gen = file.lfs && route === "resolve" ? generated.get(file.lfs.oid) : undefined;
        const content: Uint8Array | GeneratedFile =
          gen ??
          (file.lfs && route === "raw"
            ? lfsPointer(file.lfs.oid, file.lfs.size)
            : file.lfs
              ? (lfs.get(file.lfs.oid) as Uint8Array)
              : (file.data as Uint8Array));
        const contentSize = content instanceof Uint8Array ? content.length : content.size;
        const drop =
          afterRule === undefined && before !== undefined && typeof before.action === "object"
            ? "dropAfterBytes" in before.action
              ? before.action.dropAfterBytes
              : undefined
            : undefined;
        const etag = file.lfs && route === "resolve" ? file.lfs.oid : file.oid;
        const headers: Record<string, string> = {
          ETag: `"${etag}"`,
          "X-Repo-Commit": commit.oid,
          "Accept-Ranges": "bytes",
          "Content-Type": "application/octet-stream",
        };
        if (file.lfs) {
          headers["X-Linked-Size"] = String(file.lfs.size);
          headers["X-Linked-ETag"] = `"${file.lfs.oid}"`;
        }
        const range = parseRange(req.headers.range, contentSize);
        if (range === "invalid") {
          sendBytes(
            res,
            416,
            new Uint8Array(0),
            { ...headers, "Content-Range": `bytes */${contentSize}` },
            method,
            record,
          );
          return;
        }
        const start = range ? range.start : 0;
        const end = range ? range.end : contentSize;
        if (range) {
          headers["Content-Range"] = `bytes ${range.start}-${range.end - 1}/${contentSize}`;
        }
        if (content instanceof Uint8Array && drop === undefined) {
          sendBytes(res, range ? 206 : 200, content.subarray(start, end), headers, method, record);
        } else {
          await streamBytes(res, range ? 206 : 200, content, start, end, headers, method, record, drop);
        }
        return;
      }
      default:
        sendJson(res, 404, { error: `no route for ${method} ${url.pathname}` });
    }
  }

  function uploadModeOf(f: { path: string; size: number; sample: string }): "lfs" | "regular" {
    if (options.uploadMode === "lfs" || options.uploadMode === "regular") {
      return options.uploadMode;
    }
    const sample = Buffer.from(f.sample ?? "", "base64");
    return f.path.endsWith(".parquet") || f.size >= 10 * 1024 * 1024 || sample.includes(0) ? "lfs" : "regular";
  }

  function entryJson(repo: Repo, path: string, file: FileEntry | undefined, expand: boolean): unknown {
    if (!file) {
      return { type: "directory", path, oid: sha1(`dir:${path}`), size: 0 };
    }
    const commit = repo.commits.get(file.lastCommit);
    return {
      type: "file",
      path,
      size: file.size,
      oid: file.oid,
      ...(file.lfs ? { lfs: file.lfs } : {}),
      ...(expand && commit ? { lastCommit: { id: commit.oid, title: commit.title, date: commit.date } } : {}),
    };
  }

  async function seed(
    id: string,
    input: Record<string, Uint8Array | string | (GeneratedFile & { sha256?: string })>,
    opts: { branch?: string; title?: string } = {},
  ): Promise<string> {
    const repo = repos.get(id) ?? createRepo(id);
    const branch = opts.branch ?? "main";
    const current = headOf(repo, branch) ?? headOf(repo, "main");
    const files = new Map(current?.files ?? []);
    const next = newCommit(repo, opts.title ?? "seed", files, current?.oid);
    for (const [p, value] of Object.entries(input)) {
      if (typeof value === "string" || value instanceof Uint8Array) {
        const data = typeof value === "string" ? new TextEncoder().encode(value) : value;
        if (data.length >= 10 * 1024 * 1024 || data.includes(0)) {
          const oid = sha256(data);
          lfs.set(oid, data);
          const pointer = lfsPointer(oid, data.length);
          files.set(p, {
            size: data.length,
            oid: gitBlobId(pointer),
            lfs: { oid, size: data.length, pointerSize: pointer.length },
            lastCommit: next.oid,
          });
        } else {
          files.set(p, { size: data.length, oid: gitBlobId(data), data, lastCommit: next.oid });
        }
      } else {
        const oid = value.sha256 ?? (await generatedSha256(value));
        generated.set(oid, value);
        const pointer = lfsPointer(oid, value.size);
        files.set(p, {
          size: value.size,
          oid: gitBlobId(pointer),
          lfs: { oid, size: value.size, pointerSize: pointer.length },
          lastCommit: next.oid,
        });
      }
    }
    repo.branches.set(branch, next.oid);
    return next.oid;
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;

  return {
    url: base,
    log,
    get faults() {
      return state.faults;
    },
    set faults(rules: FaultRule[]) {
      state.faults = rules;
      hits.clear();
      random = mulberry32(options.seed ?? 1);
    },
    get commitDelayMs() {
      return state.commitDelayMs;
    },
    set commitDelayMs(ms: number) {
      state.commitDelayMs = ms;
    },
    files(repoId: string, branch = "main") {
      const repo = repos.get(repoId);
      const out = new Map<string, Uint8Array>();
      const commit = repo ? headOf(repo, branch) : undefined;
      for (const [p, f] of commit?.files ?? []) {
        out.set(p, f.lfs ? (lfs.get(f.lfs.oid) as Uint8Array) : (f.data as Uint8Array));
      }
      return out;
    },
    commits(repoId: string, branch = "main") {
      const repo = repos.get(repoId);
      const out: { oid: string; title: string }[] = [];
      let c = repo ? headOf(repo, branch) : undefined;
      while (c && repo) {
        out.push({ oid: c.oid, title: c.title });
        c = c.parent ? repo.commits.get(c.parent) : undefined;
      }
      return out;
    },
    seed,
    async close() {
      for (const s of sockets) {
        s.destroy();
      }
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Model repos share the dataset routes: `api/models/o/n/...` and `o/n/resolve|raw/...` (and `o/n.git/info/lfs/...`)
 * are served as their dataset twins. One store holds both kinds, so a test must not give a model and a dataset the
 * same id.
 */
function modelRoutesAsDataset(segs: string[]): string[] {
  if (segs[0] === "api" && segs[1] === "models") {
    return ["api", "datasets", ...segs.slice(2)];
  }
  const top = segs[0];
  if (
    top !== undefined &&
    top !== "api" &&
    top !== "datasets" &&
    top !== "_lfs" &&
    (segs[2] === "resolve" || segs[2] === "raw" || segs[1]?.endsWith(".git"))
  ) {
    return ["datasets", ...segs];
  }
  return segs;
}

/** Which route a request is, from its method and path segments. */
function routeOf(method: string, segs: string[]): RouteName {
  if (segs[0] === "api") {
    if (segs[1] === "whoami-v2") {
      return "whoami";
    }
    if (segs[1] === "repos" && segs[2] === "create" && method === "POST") {
      return "create";
    }
    if (segs[1] === "datasets") {
      const op = segs[4];
      if (op === undefined) {
        return "repo-info";
      }
      if (op === "tree" || op === "paths-info" || op === "preupload" || op === "commit") {
        return op;
      }
    }
    return "other";
  }
  if (segs[0] === "_lfs" && method === "PUT") {
    return "lfs-upload";
  }
  if (segs[0] === "datasets") {
    if (segs[2]?.endsWith(".git") && segs.slice(3).join("/") === "info/lfs/objects/batch") {
      return "lfs-batch";
    }
    if (segs[3] === "resolve" || segs[3] === "raw") {
      return segs[3];
    }
  }
  return "other";
}

/** The repo id and the segments after the operation (revision, path...). */
function locate(route: RouteName, segs: string[]): { id: string; rest: string[] } | undefined {
  switch (route) {
    case "repo-info":
    case "tree":
    case "paths-info":
    case "preupload":
    case "commit":
      return { id: `${segs[2]}/${segs[3]}`, rest: segs.slice(5) };
    case "lfs-batch":
      return { id: `${segs[1]}/${(segs[2] ?? "").replace(/\.git$/, "")}`, rest: [] };
    case "resolve":
    case "raw":
      return { id: `${segs[1]}/${segs[2]}`, rest: segs.slice(4) };
    default:
      return undefined;
  }
}

/** Files (and, when recursive, directories) under `path` at a commit. */
function treeEntries(commit: Commit, path: string, recursive: boolean): { path: string; file?: FileEntry }[] {
  const prefix = path === "" ? "" : `${path}/`;
  const dirs = new Set<string>();
  const out: { path: string; file?: FileEntry }[] = [];
  for (const [p, file] of [...commit.files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!p.startsWith(prefix)) {
      continue;
    }
    const parts = p.slice(prefix.length).split("/");
    for (let d = 1; d < parts.length; d++) {
      if (!recursive && d > 1) {
        break;
      }
      const dir = prefix + parts.slice(0, d).join("/");
      if (!dirs.has(dir)) {
        dirs.add(dir);
        out.push({ path: dir });
      }
    }
    if (recursive || parts.length === 1) {
      out.push({ path: p, file });
    }
  }
  return out;
}

function parseRange(header: string | undefined, size: number): { start: number; end: number } | "invalid" | undefined {
  if (!header) {
    return undefined;
  }
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) {
    return "invalid";
  }
  let start: number;
  let end: number;
  if (m[1] === "") {
    const n = Number(m[2]);
    start = Math.max(0, size - n);
    end = size;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size : Math.min(size, Number(m[2]) + 1);
  }
  if (start >= size || end <= start) {
    return "invalid";
  }
  return { start, end };
}

function sendJson(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  const data = Buffer.from(JSON.stringify(payload));
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": String(data.length), ...headers });
  res.end(data);
}

function sendBytes(
  res: ServerResponse,
  status: number,
  data: Uint8Array,
  headers: Record<string, string>,
  method: string,
  record: RequestRecord,
): void {
  res.writeHead(status, { ...headers, "Content-Length": String(data.length) });
  if (method === "HEAD") {
    res.end();
    return;
  }
  record.bytes = data.length;
  res.end(data);
}

/**
 * Sends `[start, end)` of a file slice by slice with backpressure (a generated file is never whole in memory). With
 * `dropAfter`, the connection is destroyed after that many body bytes.
 */
async function streamBytes(
  res: ServerResponse,
  status: number,
  content: Uint8Array | GeneratedFile,
  start: number,
  end: number,
  headers: Record<string, string>,
  method: string,
  record: RequestRecord,
  dropAfter: number | undefined,
): Promise<void> {
  res.writeHead(status, { ...headers, "Content-Length": String(end - start) });
  record.status = status; // a dropped connection never "finishes"
  if (method === "HEAD") {
    res.end();
    return;
  }
  const SLICE = 1 << 20;
  const limit = dropAfter === undefined ? end : Math.min(end, start + dropAfter);
  for (let off = start; off < limit; off += SLICE) {
    const n = Math.min(SLICE, limit - off);
    let chunk: Uint8Array;
    if (content instanceof Uint8Array) {
      chunk = content.subarray(off, off + n);
    } else {
      chunk = new Uint8Array(n); // a fresh buffer: the socket may still hold the previous one
      content.fill(off, chunk);
    }
    record.bytes += n;
    if (res.destroyed) {
      return;
    }
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      });
    }
  }
  if (limit < end) {
    await new Promise<void>((resolve) => setTimeout(resolve, 20));
    res.socket?.destroy();
    return;
  }
  res.end();
}

async function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    chunks.push(chunk as Buffer);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function describe(rule: FaultRule): string {
  const a = rule.action;
  return a === "reset"
    ? "reset"
    : "status" in a
      ? `status ${a.status}`
      : "delayMs" in a
        ? `delay ${a.delayMs}ms`
        : `drop after ${a.dropAfterBytes} bytes`;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const sha1 = (s: string | Uint8Array) => createHash("sha1").update(s).digest("hex");
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const sleep = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());

function gitBlobId(data: Uint8Array): string {
  return createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex");
}

function lfsPointer(oid: string, size: number): Uint8Array {
  return new TextEncoder().encode(`version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${size}\n`);
}

/** Small seeded PRNG, so fault patterns repeat from run to run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
