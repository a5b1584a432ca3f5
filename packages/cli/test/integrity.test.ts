/**
 * Issue 16 at the CLI: inputs recorded by content (no local path in any output file; a moved dataset resumes, a
 * changed one is refused in one line), empty answers and invalid rows counted in the summary, `verify` naming every
 * bad shard, and signals that arrive during start-up.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExtractionError } from "../src/index.js";
import { installEarlySignals } from "../src/internal/early-signals.js";
import type { Output } from "../src/internal/output.js";
import { stopSignal } from "../src/internal/stop-signal.js";
import { embeddedDatasetPath } from "../src/lib/inputs.js";
import { cli } from "./helpers.js";
import { config, extract, folderReport, setupPipeline, shared } from "./pipeline-setup.js";

setupPipeline();

const good = () => readFileSync(embeddedDatasetPath(), "utf8").split("\n").filter(Boolean).slice(0, 6);
const chat = (answer: unknown) =>
  JSON.stringify({
    id: "x",
    subject: "math",
    messages: [
      { role: "user", content: "What is 2 + 2?" },
      { role: "assistant", content: answer },
    ],
  });

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** A config over a dataset file of ours: lengths computed here (one worker). */
const own = (folder: string, file: string, more: { resume?: boolean } = {}) =>
  config(
    { folder, ...more },
    { dataset: { id: file }, selection: { tokenizedDataset: undefined }, runtime: { numProc: 1 } },
  );

describe("issue 16 at the CLI", () => {
  it("no local path in any output file; a moved dataset resumes; changed content is refused in one short line", async () => {
    const inputs = join(shared.tmp.dir, "inputs");
    mkdirSync(inputs, { recursive: true });
    const file = join(inputs, "chats.jsonl");
    writeFileSync(file, `${good().join("\n")}\n`);
    const out = join(shared.tmp.dir, "by-content");
    const first = await extract(own(out, file));
    expect(first.result).toMatchObject({ event: "done", examples: 6 });
    const needles = [shared.tmp.dir, tmpdir(), homedir()];
    const files = walk(out);
    expect(files.some((f) => f.endsWith("checkpoint.json"))).toBe(true);
    expect(files.some((f) => f.endsWith("README.md"))).toBe(true);
    for (const f of files) {
      const text = readFileSync(f).toString("latin1");
      for (const n of needles) {
        expect(text.includes(n), `${f} holds ${n}`).toBe(false);
      }
    }
    const settings = (await folderReport(out, 6)).settings[0] as Record<string, unknown>;
    expect(settings.dataset).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(settings.labels).toEqual({ model: "embedded:tiny-qwen3", dataset: "chats.jsonl" });
    expect(settings.logitsWidth).toBe(151_936);
    expect(settings.tokenizerHash).toMatch(/^sha256:/);

    // the dataset moves and is renamed: same content, resumed
    const moved = join(shared.tmp.dir, "elsewhere");
    mkdirSync(moved, { recursive: true });
    const movedFile = join(moved, "renamed.jsonl");
    renameSync(file, movedFile);
    const again = await extract(own(out, movedFile, { resume: true }));
    expect(again.result).toMatchObject({ event: "done", examples: 0, done: 6 });

    // same name, other content: refused, naming the dataset, in one short line
    writeFileSync(movedFile, `${good().join("\n").replace("22 by 77", "23 by 77")}\n`);
    const e = await extract(own(out, movedFile, { resume: true })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ExtractionError);
    expect((e as ExtractionError).code).toBe("SETTINGS_MISMATCH");
    expect((e as Error).message).toMatch(/^cannot resume: the dataset changed \(setting "dataset": "sha256:/);
    expect((e as Error).message.length).toBeLessThan(400);
  });

  it("null, empty and whitespace-only answers are dropped and counted; invalid rows are counted in the summary", async () => {
    const file = join(shared.tmp.dir, "blank.jsonl");
    const invalid = JSON.stringify({
      id: "bad",
      subject: "x",
      messages: [
        { role: "user", content: { not: "text" } },
        { role: "assistant", content: "4" },
      ],
    });
    writeFileSync(file, `${[...good(), chat("   "), chat(""), chat(null), chat("\n\t"), invalid].join("\n")}\n`);
    const { result, of } = await extract(own(join(shared.tmp.dir, "blank-out"), file));
    // blank answers are empty; a null answer is invalid content for the chat package (counted too)
    expect(result).toMatchObject({ event: "done", examples: 6, skippedEmpty: 3, skippedInvalid: 2 });
    expect(of("selection")[0]).toMatchObject({ skippedEmpty: 3 });
    // under --quiet --json the summary event carries the counts
    const r = await cli(
      [
        "extract",
        "--quiet",
        "--json",
        "--dataset",
        file,
        "--output",
        join(shared.tmp.dir, "blank-cli"),
        "--num-proc",
        "1",
      ],
      { env: { LOGITPACK_CACHE: shared.modelCache } },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.events.at(-1)).toMatchObject({ event: "done", skippedEmpty: 3, skippedInvalid: 2 });
  });

  it("verify names every bad shard (content, decode), not only the first", async () => {
    const out = join(shared.tmp.dir, "damaged");
    await extract(config({ folder: out, uploadEvery: 3 }, { selection: { limit: 9 } }));
    const shards = readdirSync(join(out, "data")).sort();
    expect(shards).toHaveLength(3);
    const a = join(out, "data", shards[0] as string);
    writeFileSync(a, readFileSync(a).subarray(0, 200));
    const b = join(out, "data", shards[2] as string);
    const bytes = readFileSync(b);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] as number) ^ 0xff;
    writeFileSync(b, bytes);
    const r = await cli(["verify", out, "--json"]);
    expect(r.code).toBe(1);
    const report = r.events.find((e) => e.event === "verify") as {
      problems: { path: string; kind: string }[];
      checks: { name: string; ok: boolean; detail: string }[];
    };
    expect([...new Set(report.problems.map((p) => p.path))].sort()).toEqual([`data/${shards[0]}`, `data/${shards[2]}`]);
    const integrity = report.checks.find((c) => c.name === "integrity");
    expect(integrity?.ok).toBe(false);
    expect(integrity?.detail).toContain(shards[0] as string);
    expect(integrity?.detail).toContain(shards[2] as string);
  });

  it("a signal that arrives during start-up is held and stops the run once the stop signal exists", () => {
    installEarlySignals();
    let killed = false;
    try {
      // what the first Ctrl+C does before the command's handlers exist: held, the process lives on
      process.emit("SIGINT", "SIGINT");
      killed = false;
    } catch {
      killed = true;
    }
    expect(killed).toBe(false);
    const stop = stopSignal({} as Output, undefined);
    expect(stop.signal.aborted).toBe(true);
    expect(stop.signal.reason).toBe("SIGINT");
    stop.dispose();
    expect(process.listenerCount("SIGINT")).toBe(0);
  });
});
