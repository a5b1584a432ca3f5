/** Stopping and resuming in-process: by the library's signal, by Ctrl+C and --max-runtime-minutes in the CLI. */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ExtractionResult, runExtraction } from "../src/index.js";
import { cli } from "./helpers.js";
import {
  config,
  expectReferenceRows,
  extract,
  folderReport,
  reference,
  setupPipeline,
  shared,
} from "./pipeline-setup.js";
import { folderRows } from "./rows.js";

setupPipeline();

describe("stopping and resuming", () => {
  // small batches so that a run has many steps to interrupt
  const common = { selection: { limit: 12 }, batching: { thresholds: { "100000": 2 } } };
  const commonFlags = ["--limit", "12", "--upload-every", "4", "--batch-thresholds", '{"100000": 2}'];
  const flagsOf = (out: string) => [...commonFlags, "--tokenized-dataset", shared.lengthsFile, "--output", out];
  const cliEnv = () => ({ LOGITPACK_CACHE: shared.modelCache });

  it("an aborted signal stops after the running batch; resume: nothing lost, nothing twice, rows as the reference", async () => {
    const out = join(shared.tmp.dir, "abort");
    const controller = new AbortController();
    const first = await runExtraction(config({ folder: out, uploadEvery: 4 }, common), {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.event === "progress" && e.done >= 4) {
          controller.abort("user");
        }
      },
    });
    expect(first).toMatchObject({ event: "stopped", reason: "user" });
    expect(first.examples).toBeGreaterThanOrEqual(4);
    expect(first.examples).toBeLessThan(12);
    const second = await extract(config({ folder: out, resume: true, uploadEvery: 4 }, common));
    expect(second.of("start")[0]).toMatchObject({ done: first.examples, todo: 12 - first.examples });
    expect(await folderReport(out, 12)).toMatchObject({ rows: 12, duplicateRows: 0, missing: 0 });
    expect(await folderRows(out)).toEqual(await reference());
  });

  it("Ctrl+C in the CLI: exit 130, how to go on; --resume finishes", async () => {
    const out = join(shared.tmp.dir, "sigint");
    let sent = false;
    const first = await cli(["extract", ...flagsOf(out), "--json"], {
      env: cliEnv(),
      onEvent: (e) => {
        if (!sent && e.event === "shard-uploaded") {
          sent = true;
          process.emit("SIGINT", "SIGINT");
        }
      },
    });
    expect(sent).toBe(true);
    expect(first.code, first.stderr).toBe(130);
    const stopped = first.events.find((e) => e.event === "stopped") as unknown as ExtractionResult;
    expect(stopped).toMatchObject({ reason: "SIGINT" });
    expect(stopped.examples).toBeLessThan(12);
    expect(first.events.filter((e) => e.event === "stopping")).toEqual([{ event: "stopping", reason: "SIGINT" }]);
    expect(first.stderr).toMatch(/SIGINT: stopping after this batch/);
    expect(first.stderr).toMatch(/Go on with: {2}logitpack extract .*--resume/);
    const second = await cli(["extract", ...flagsOf(out), "--resume", "--quiet"], { env: cliEnv() });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr + second.stdout).toBe(""); // --quiet: nothing on stderr, no data without --json
    expect(await folderRows(out)).toEqual(await reference());
  });

  it("--max-runtime-minutes counts from the process start: stops cleanly (exit 0) and --resume finishes", async () => {
    const out = join(shared.tmp.dir, "timed");
    // this process has run for longer than 0.005 minutes already
    const first = await cli(["extract", ...flagsOf(out), "--max-runtime-minutes", "0.005", "--json"], {
      env: cliEnv(),
    });
    expect(first.code, first.stderr).toBe(0);
    const stopped = first.events.find((e) => e.event === "stopped") as unknown as ExtractionResult;
    expect(stopped, first.stderr).toMatchObject({ reason: "max-runtime" });
    expect(stopped.examples).toBeLessThan(12);
    expect(first.stderr).toMatch(/--max-runtime-minutes 0\.005 reached/);
    const second = await cli(["extract", ...flagsOf(out), "--resume", "--quiet"], { env: cliEnv() });
    expect(second.code, second.stderr).toBe(0);
    const v = await cli(["verify", out, "--expected-count", "12"]);
    expect(v.code, v.stdout).toBe(0);
    expect(await folderRows(out)).toEqual(await reference());
  });

  it("a split run: shards 0/2 and 1/2 write into one output without clashing; every example once", async () => {
    const out = join(shared.tmp.dir, "split");
    const part = (shard: string) =>
      extract(config({ folder: out }, { selection: { limit: 8, shard }, batching: { thresholds: { "100000": 2 } } }));
    const a = await part("0/2");
    const b = await part("1/2");
    expect(a.of("start")[0]).toMatchObject({ selected: 4, shard: "0/2" });
    expect(b.of("start")[0]).toMatchObject({ selected: 4, shard: "1/2" });
    const names = readdirSync(join(out, "data")).sort();
    expect(names.map((n) => n.slice(0, 15))).toEqual(["train-s000of002", "train-s001of002"]);
    expect(await folderReport(out, 8)).toMatchObject({ rows: 8, duplicateRows: 0, missing: 0 });
    await expectReferenceRows(await folderRows(out));
  });

  it("forceRestart discards the earlier run; other settings are refused with the setting named", async () => {
    const out = join(shared.tmp.dir, "restart");
    await runExtraction(config({ folder: out }, { selection: { limit: 6 } }));
    const other = await runExtraction(
      config({ folder: out, resume: true }, { selection: { limit: 6 }, sampling: { topP: 0.9 } }),
    ).catch((e) => e);
    expect(other).toMatchObject({ code: "SETTINGS_MISMATCH" });
    expect(other.message).toMatch(/topP/);
    expect(other.hint).toMatch(/output\.forceRestart/);
    const flags = [
      "--limit",
      "6",
      "--tokenized-dataset",
      shared.lengthsFile,
      "--output",
      out,
      "--resume",
      "--top-p",
      "0.9",
    ];
    const r = await cli(["extract", ...flags, "--quiet"], {
      env: cliEnv(),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*topP.*--force-restart/m);
    const restart = await extract(
      config({ folder: out, forceRestart: true }, { selection: { limit: 6 }, sampling: { topP: 0.9 } }),
    );
    expect(restart.of("restarted")[0]?.removed).toBeGreaterThan(0);
    const report = await folderReport(out, 6);
    expect(report).toMatchObject({ rows: 6, duplicateRows: 0 });
    expect(report.settings[0]?.topP).toBe(0.9);
  });
});
