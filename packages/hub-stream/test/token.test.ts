import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { startHubServer } from "@logitpack/hub-server";
import { afterEach, describe, expect, it } from "vitest";
import {
  HubSink,
  listRepoFiles,
  openHubLogitFile,
  StreamingWriter,
  verifyDataset,
  type WriterEvent,
} from "../src/index.js";
import { makeRow, SETTINGS, tempDir } from "./helpers.js";

const TOKEN = "hf_SECRETtokenThatMustNeverLeak42";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) {
    await c();
  }
});

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(dir)) {
    const p = join(dir, name);
    if ((await stat(p)).isDirectory()) {
      out.push(...(await allFiles(p)));
    } else {
      out.push(p);
    }
  }
  return out;
}

const describeError = (e: unknown) =>
  e instanceof Error
    ? `${e.name} ${e.message} ${e.stack} ${JSON.stringify(e)} ${JSON.stringify(Object.entries(e))}`
    : String(e);

describe("the token never leaks", () => {
  it("not into events, errors, the checkpoint, the cache, the output or the repo", async () => {
    const s = await startHubServer({
      tokens: { [TOKEN]: "write" },
      faults: [
        { routes: ["commit", "lfs-upload"], action: { status: 500 }, probability: 0.3 },
        { routes: ["preupload"], action: "reset", probability: 0.2 },
      ],
    });
    cleanups.push(() => s.close());
    const d = await tempDir();
    cleanups.push(d.cleanup);
    const texts: string[] = [];
    const sink = await HubSink.create({
      repo: "me/secret",
      hubUrl: s.url,
      env: { HF_TOKEN: TOKEN },
      retry: { retries: 1, minDelayMs: 1, maxDelayMs: 2 },
      onRetry: (i) => texts.push(JSON.stringify(i)),
    });
    const cacheDir = join(d.path, "cache");
    const w = await StreamingWriter.open({
      sink,
      cacheDir,
      settings: SETTINGS,
      uploadEvery: 5,
      onEvent: (e: WriterEvent) =>
        texts.push(JSON.stringify(e), e.type === "upload-failed" ? describeError(e.error) : ""),
    });
    for (let i = 0; i < 60; i++) {
      await w.write(makeRow(i));
    }
    await w.stop("test");
    expect(texts.some((t) => t.includes("upload-failed"))).toBe(true);

    // Errors: a forbidden write, a bad read, a server that echoes the token back.
    s.faults = [{ routes: ["commit"], action: { status: 403 } }];
    texts.push(describeError(await sink.put("data/x.parquet", new Uint8Array([1, 0])).catch((e: unknown) => e)));
    texts.push(
      describeError(
        await openHubLogitFile({
          repo: "me/secret",
          path: "data/missing.parquet",
          hubUrl: s.url,
          env: { HF_TOKEN: TOKEN },
        }).catch((e: unknown) => e),
      ),
    );
    const echo: typeof fetch = async () =>
      new Response(JSON.stringify({ error: `bad Authorization: Bearer ${TOKEN}` }), {
        status: 400,
        headers: { "Content-Type": "application/json" },
      });
    texts.push(
      describeError(
        await listRepoFiles({ repo: "me/secret", hubUrl: s.url, env: { HF_TOKEN: TOKEN }, fetch: echo }).catch(
          (e: unknown) => e,
        ),
      ),
    );
    const echoing = await HubSink.create({ repo: "me/secret", hubUrl: s.url, env: { HF_TOKEN: TOKEN }, fetch: echo });
    texts.push(describeError(await echoing.prepare().catch((e: unknown) => e)));
    texts.push(JSON.stringify(await verifyDataset({ sink })));
    expect(texts.join("\n")).toContain("hf_***");

    for (const t of texts) {
      expect(t).not.toContain(TOKEN);
    }
    for (const f of await allFiles(cacheDir)) {
      expect((await readFile(f)).includes(Buffer.from(TOKEN)), f).toBe(false);
    }
    for (const [path, bytes] of s.files("me/secret")) {
      expect(Buffer.from(bytes).includes(Buffer.from(TOKEN)), path).toBe(false);
    }
    expect(await readFile(join(cacheDir, "checkpoint.json"), "utf8")).not.toContain("hf_");
  });
});
