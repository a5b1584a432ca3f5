import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { type HubServer, startHubServer } from "../src/index.js";

const AUTH = { Authorization: "Bearer hf_test" };
let server: HubServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function commitFile(s: HubServer, repo: string, path: string, data: Uint8Array, parentCommit?: string) {
  const oid = createHash("sha256").update(data).digest("hex");
  const batch = await fetch(`${s.url}/datasets/${repo}.git/info/lfs/objects/batch`, {
    method: "POST",
    headers: AUTH,
    body: JSON.stringify({ operation: "upload", objects: [{ oid, size: data.length }] }),
  }).then((r) => r.json() as Promise<{ objects: { actions?: { upload: { href: string } } }[] }>);
  const href = batch.objects[0].actions?.upload.href;
  if (href) {
    expect((await fetch(href, { method: "PUT", body: data })).status).toBe(200);
  }
  const body = [
    { key: "header", value: { summary: `add ${path}`, parentCommit } },
    { key: "lfsFile", value: { path, algo: "sha256", size: data.length, oid } },
  ]
    .map((l) => JSON.stringify(l))
    .join("\n");
  return fetch(`${s.url}/api/datasets/${repo}/commit/main`, { method: "POST", headers: AUTH, body });
}

describe("mock Hub server", () => {
  it("creates repos, commits LFS files, pages the tree, serves ranges and raw pointers", async () => {
    server = await startHubServer({ pageSize: 1 });
    const s = server;
    const created = await fetch(`${s.url}/api/repos/create`, {
      method: "POST",
      headers: AUTH,
      body: JSON.stringify({ name: "r", organization: "me", type: "dataset" }),
    });
    expect(created.status).toBe(200);
    const again = await fetch(`${s.url}/api/repos/create`, {
      method: "POST",
      headers: AUTH,
      body: JSON.stringify({ name: "r", organization: "me", type: "dataset" }),
    });
    expect(again.status).toBe(409);
    const data = new Uint8Array(1000).map((_, i) => i % 251);
    expect((await commitFile(s, "me/r", "data/a.parquet", data)).status).toBe(200);
    expect((await commitFile(s, "me/r", "data/b.parquet", data.slice(1))).status).toBe(200);

    const paths: string[] = [];
    let url: string | undefined = `${s.url}/api/datasets/me/r/tree/main/data?recursive=true`;
    while (url) {
      const res: Response = await fetch(url);
      paths.push(...((await res.json()) as { path: string }[]).map((e) => e.path));
      url = /<([^>]+)>; rel="next"/.exec(res.headers.get("link") ?? "")?.[1];
    }
    expect(paths).toEqual(["data/a.parquet", "data/b.parquet"]);

    const part = await fetch(`${s.url}/datasets/me/r/resolve/main/data/a.parquet`, {
      headers: { Range: "bytes=10-19" },
    });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 10-19/1000");
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(data.slice(10, 20));
    const tail = await fetch(`${s.url}/datasets/me/r/resolve/main/data/a.parquet`, { headers: { Range: "bytes=-5" } });
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(data.slice(995));
    const bad = await fetch(`${s.url}/datasets/me/r/resolve/main/data/a.parquet`, {
      headers: { Range: "bytes=2000-" },
    });
    expect(bad.status).toBe(416);
    const raw = await fetch(`${s.url}/datasets/me/r/raw/main/data/a.parquet`).then((r) => r.text());
    expect(raw).toContain("oid sha256:");
    const missing = await fetch(`${s.url}/datasets/me/r/resolve/main/nope`);
    expect(missing.headers.get("x-error-code")).toBe("EntryNotFound");
    expect(s.files("me/r").get("data/b.parquet")).toEqual(data.slice(1));
  });

  it("rejects a stale parentCommit with 412, injects faults, and refuses read-only tokens", async () => {
    server = await startHubServer({ tokens: { hf_test: "write", hf_ro: "read" } });
    const s = server;
    await fetch(`${s.url}/api/repos/create`, {
      method: "POST",
      headers: AUTH,
      body: JSON.stringify({ name: "r", organization: "me", type: "dataset" }),
    });
    const head = s.commits("me/r")[0]?.oid;
    expect((await commitFile(s, "me/r", "x", new Uint8Array([1]), head)).status).toBe(200);
    expect((await commitFile(s, "me/r", "y", new Uint8Array([2]), head)).status).toBe(412);
    s.faults = [{ routes: ["whoami"], action: { status: 503 }, times: 1 }];
    expect((await fetch(`${s.url}/api/whoami-v2`, { headers: AUTH })).status).toBe(503);
    expect((await fetch(`${s.url}/api/whoami-v2`, { headers: AUTH })).status).toBe(200);
    const ro = await fetch(`${s.url}/api/datasets/me/r/preupload/main`, {
      method: "POST",
      headers: { Authorization: "Bearer hf_ro" },
      body: JSON.stringify({ files: [] }),
    });
    expect(ro.status).toBe(403);
    expect((await fetch(`${s.url}/api/whoami-v2`, { headers: { Authorization: "Bearer hf_unknown" } })).status).toBe(
      401,
    );
  });
});
