import { cp, mkdir, readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  diffSettings,
  FolderSink,
  findLocalPaths,
  fingerprintPath,
  type HubStreamError,
  hashText,
  localLabel,
  StreamingWriter,
  type WriterEvent,
} from "../src/index.js";
import { makeRow, SETTINGS, tempDir } from "./helpers.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) {
    await c();
  }
});

async function base() {
  const d = await tempDir("hub-stream-identity-");
  cleanups.push(d.cleanup);
  return d.path;
}

/** A model folder (with a nested file) and a dataset file. */
async function inputs(root: string) {
  const model = join(root, "models", "teacher");
  await mkdir(join(model, "onnx"), { recursive: true });
  await writeFile(join(model, "config.json"), '{"vocab_size": 151936}');
  await writeFile(join(model, "onnx", "model.onnx"), Buffer.alloc(4096, 7));
  const dataset = join(root, "chats.jsonl");
  await writeFile(dataset, '{"messages": [{"role": "user", "content": "hi"}]}\n');
  return { model, dataset };
}

const TEMPLATE = `{% for m in messages %}${"x".repeat(8000)}{% endfor %}`;

/** Settings a CLI run would record: content fingerprints and hashes, labels for display only. */
async function settingsFor(model: string, dataset: string, template = TEMPLATE) {
  return {
    ...SETTINGS,
    model: await fingerprintPath(model),
    dataset: await fingerprintPath(dataset),
    templateHash: hashText(template),
    chat: { template },
    labels: { model: localLabel(model), dataset: localLabel(dataset) },
  };
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      out.push(...(await walk(p)));
    } else {
      out.push(p);
    }
  }
  return out;
}

describe("identity by content", () => {
  it("fingerprints: a moved or copied folder and a renamed file keep theirs; changed content does not", async () => {
    const root = await base();
    const { model, dataset } = await inputs(root);
    const f = await fingerprintPath(model);
    expect(f).toMatch(/^sha256:[0-9a-f]{64}$/);
    await cp(model, join(root, "elsewhere", "copy"), { recursive: true });
    expect(await fingerprintPath(join(root, "elsewhere", "copy"))).toBe(f);
    await writeFile(join(root, "elsewhere", "copy", "onnx", "model.onnx"), Buffer.alloc(4096, 8));
    expect(await fingerprintPath(join(root, "elsewhere", "copy"))).not.toBe(f);
    await rename(join(root, "elsewhere", "copy", "config.json"), join(root, "elsewhere", "copy", "config2.json"));
    const d = await fingerprintPath(dataset);
    await rename(dataset, join(root, "renamed.jsonl"));
    expect(await fingerprintPath(join(root, "renamed.jsonl"))).toBe(d);
    // the fingerprint is the file's sha256 (checked against an independent hash of the bytes)
    const { createHash } = await import("node:crypto");
    expect(d).toBe(
      `sha256:${createHash("sha256")
        .update(await readFile(join(root, "renamed.jsonl")))
        .digest("hex")}`,
    );
  });

  it("fingerprintPath with a memo file hashes a file again only when its size or mtime changed", async () => {
    const root = await base();
    const { model } = await inputs(root);
    const memoFile = join(root, "local-cache", "hashes.json");
    const weights = join(model, "onnx", "model.onnx");
    const f1 = await fingerprintPath(model, { memoFile });
    expect(await fingerprintPath(model)).toBe(f1);
    const memo = JSON.parse(await readFile(memoFile, "utf8")) as Record<string, { sha256: string }>;
    expect(Object.keys(memo)).toHaveLength(2);
    const { utimes } = await import("node:fs/promises");
    const before = await stat(weights);
    // same size, same mtime, other bytes: the memo answers (this is what it is for: no re-hash of the weights)
    await writeFile(weights, Buffer.alloc(4096, 9));
    await utimes(weights, before.atime, before.mtime);
    expect(await fingerprintPath(model, { memoFile })).toBe(f1);
    // a new mtime: hashed again
    const later = new Date(before.mtimeMs + 5000);
    await utimes(weights, later, later);
    const f2 = await fingerprintPath(model, { memoFile });
    expect(f2).not.toBe(f1);
    expect(f2).toBe(await fingerprintPath(model));
  });

  it("resume accepts a moved model, dataset and cache; changed content is refused in one short line naming it", async () => {
    const root = await base();
    const { model, dataset } = await inputs(root);
    const out = join(root, "out");
    const sink = new FolderSink(out);
    const cacheDir = join(root, "cache");
    const w1 = await StreamingWriter.open({
      sink,
      cacheDir,
      settings: await settingsFor(model, dataset),
      uploadEvery: 4,
    });
    for (let i = 0; i < 10; i++) {
      await w1.write(makeRow(i));
    }
    await w1.close();

    // move everything: model folder, dataset file (renamed), output folder and cache
    const moved = join(root, "moved");
    await mkdir(moved);
    await rename(model, join(moved, "teacher-v1"));
    await rename(dataset, join(moved, "data.jsonl"));
    await rename(out, join(moved, "out"));
    await rename(cacheDir, join(moved, "cache"));
    const m2 = join(moved, "teacher-v1");
    const d2 = join(moved, "data.jsonl");
    const sink2 = new FolderSink(join(moved, "out"));
    const cache2 = join(moved, "cache");
    const w2 = await StreamingWriter.open({ sink: sink2, cacheDir: cache2, settings: await settingsFor(m2, d2) });
    expect(w2.resume.done.size).toBe(10);
    expect(w2.resume.quarantined).toEqual([]);
    await w2.close();

    // the dataset's content changed under the same name
    await writeFile(d2, '{"messages": [{"role": "user", "content": "other"}]}\n');
    const e = (await StreamingWriter.open({ sink: sink2, cacheDir: cache2, settings: await settingsFor(m2, d2) }).catch(
      (x: unknown) => x,
    )) as HubStreamError;
    expect(e.code).toBe("SETTINGS_MISMATCH");
    expect(e.setting).toBe("dataset");
    expect(e.message).toMatch(/^\[hub-stream\] cannot resume: the dataset changed \(setting "dataset": "sha256:/);
    expect(e.message.includes("\n")).toBe(false);
    expect(e.message.length).toBeLessThan(400);

    // another template (8,000 characters): named, never printed
    await writeFile(d2, '{"messages": [{"role": "user", "content": "hi"}]}\n');
    const e2 = (await StreamingWriter.open({
      sink: sink2,
      cacheDir: cache2,
      settings: await settingsFor(m2, d2, `${TEMPLATE} `),
    }).catch((x: unknown) => x)) as HubStreamError;
    expect(e2.code).toBe("SETTINGS_MISMATCH");
    expect(e2.message).toContain("the chat template changed");
    expect(e2.message).toContain("and 1 more: templateHash");
    expect(e2.message.length).toBeLessThan(400);
    expect(e2.message).not.toContain("x".repeat(100));
  });

  it("no temp dir or home path in any file a writer leaves (shards, card, checkpoint) nor in its events", async () => {
    const root = await base();
    const { model, dataset } = await inputs(root);
    const events: WriterEvent[] = [];
    const out = join(root, "out");
    const w = await StreamingWriter.open({
      sink: new FolderSink(out),
      cacheDir: join(root, "cache"),
      settings: await settingsFor(model, dataset),
      uploadEvery: 3,
      onEvent: (e) => events.push(e),
    });
    for (let i = 0; i < 7; i++) {
      await w.write(makeRow(i));
    }
    await w.close();
    const needles = [root, tmpdir(), homedir()];
    const files = [...(await walk(out)), ...(await walk(join(root, "cache")))];
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) {
      const text = (await readFile(file)).toString("latin1");
      for (const n of needles) {
        expect(text.includes(n), `${file} contains ${n}`).toBe(false);
      }
    }
    const json = JSON.stringify(events);
    for (const n of needles) {
      expect(json.includes(n)).toBe(false);
    }
    expect((await stat(join(out, "README.md"))).size).toBeGreaterThan(0);
  });

  it("findLocalPaths flags absolute, home and temp paths; labels are not compared", () => {
    expect(
      findLocalPaths({ model: "/srv/models/qwen", dataset: "hf:datasets/a/b@123", x: [join(homedir(), "d")] }),
    ).toEqual(["model: /srv/models/qwen", `x[0]: ${join(homedir(), "d")}`]);
    expect(findLocalPaths({ model: "sha256:00", labels: { model: "qwen" } })).toEqual([]);
    expect(
      diffSettings({ model: "sha256:1", labels: { model: "a" } }, { model: "sha256:1", labels: { model: "b" } }),
    ).toEqual([]);
    expect(diffSettings({ chat: { tokenizer: "t1", n: 1 } }, { chat: { tokenizer: "t2", n: 1 } })).toEqual([
      { setting: "chat.tokenizer", before: "t1", now: "t2" },
    ]);
  });
});
