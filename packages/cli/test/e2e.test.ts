/**
 * The built `logitpack` binary, run as a user runs it (one process per command): the embedded default with
 * --json, a run killed with SIGKILL and resumed, a second Ctrl+C, and one bad input per kind of error. Everything
 * else is tested in-process (pipeline.test.ts, errors.test.ts).
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, errorLines, run, sharedLengths, sharedModelCache, tempDir } from "./helpers.js";
import { folderRows } from "./rows.js";

const STACK = /^\s+at .+:\d+:\d+\)?$/m;
let tmp: { dir: string; cleanup: () => void };
let env: Record<string, string>;
let lengthsFile: string;
/** The rows of the embedded default run (first test), for comparison. */
let defaultRows: Map<number, string> | undefined;

beforeAll(() => {
  tmp = tempDir();
  env = { LOGITPACK_CACHE: sharedModelCache(), HF_HOME: join(tmp.dir, "hf-home"), HF_TOKEN: "" };
  lengthsFile = sharedLengths();
});
afterAll(() => tmp.cleanup());

describe("the logitpack binary", () => {
  it("the embedded default with --json: each event once, then verify and explore the output", async () => {
    const cwd = join(tmp.dir, "default");
    mkdirSync(cwd, { recursive: true });
    const x = await run(["extract", "--limit", "20", "--json"], { cwd, env });
    expect(x.code, x.stderr).toBe(0);
    expect(x.stderr).toMatch(/No --model and no --dataset: running the bundled tiny model .* into \.\/logits-out/);
    expect(x.stderr).toMatch(/^Output: {2}.*logits-out$/m);
    expect(x.stderr).toContain("Explore: logitpack explore info logits-out");
    expect(existsSync(join(cwd, "logits-out", "README.md"))).toBe(true);
    // every stdout line is a JSON event; each but progress and shard events appears exactly once
    const lines = x.stdout.trim().split("\n");
    expect(x.events).toHaveLength(lines.length);
    const count = (name: string) => x.events.filter((e) => e.event === name).length;
    for (const once of ["notice", "lengths-computed", "selection", "start", "done"]) {
      expect(count(once), once).toBe(1);
    }
    expect(x.events.at(-1)).toMatchObject({ event: "done", examples: 20, selected: 20, reason: null });
    expect(count("progress")).toBeGreaterThan(0);
    defaultRows = await folderRows(join(cwd, "logits-out"));

    const v = await cli(["verify", "logits-out", "--expected-count", "20", "--json"], { cwd });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const report = v.events.find((e) => e.event === "verify") as Record<string, unknown>;
    expect(report).toMatchObject({ ok: true, rows: 20, unique: 20, duplicateRows: 0, missing: 0 });
    expect((report.settings as Record<string, unknown>).model).toBe("embedded:tiny-qwen3");
    const info = await cli(["explore", "info", "--json"], { cwd });
    expect(info.events[0]).toMatchObject({ layout: "nucleus", numRows: 20 });
    const sample = await cli(["explore", "sample", "--row", "0", "--json"], { cwd });
    const s = sample.events[0] as { numTokens: number; nucleusSizes: number[] };
    expect(s.numTokens).toBeGreaterThan(0);
    expect(s.nucleusSizes.every((n) => n >= 1 && n <= 100)).toBe(true);
    const stats = await cli(["explore", "stats"], { cwd });
    expect(stats.code, stats.stderr).toBe(0);
    expect(stats.stdout).toMatch(/nucleus size/);
    // alignment replays the recorded template and tokenizer on the bundled dataset: every stored position lines up
    const align = await cli(["explore", "align", "--index", "3", "--json"], { cwd });
    const a = align.events[0] as { index: number; numTokens: number; counts: { extracted: number } };
    expect(a.index).toBe(3);
    expect(a.counts.extracted).toBe(a.numTokens);
    const alignText = await cli(["explore", "align", "--index", "3"], { cwd });
    expect(alignText.stdout).toMatch(/^Sample 3: /);
    // fidelity: the model is run again on the text; the stored sample must be what the full distribution says
    const fid = await cli(["explore", "sample", "--row", "0", "--fidelity", "--json"], { cwd, env });
    expect(fid.code, fid.stderr).toBe(0);
    const f = fid.events[0] as {
      event: string;
      positions: number[];
      summary: {
        nucleusIsTopShare: number;
        absLogsumexpError: { max: number };
        nucleusMassTrue: { min: number };
        maxLogitError: { max: number };
      };
    };
    expect(f.event).toBe("fidelity");
    expect(f.positions.length).toBe(s.numTokens);
    expect(f.summary.nucleusIsTopShare).toBe(1); // the stored nucleus is exactly the most probable ids
    expect(f.summary.absLogsumexpError.max).toBeLessThan(1e-6);
    expect(f.summary.maxLogitError.max).toBeLessThan(1e-2); // uint16 quantization
    // at least top_p of the mass, unless the nucleus hit the 100-token cap
    expect(f.summary.nucleusMassTrue.min).toBeGreaterThan(0.5);
    const html = await cli(["explore", "report", "--row", "0", "-o", "r.html", "--fidelity"], { cwd, env });
    expect(html.code, html.stderr).toBe(0);
    const page = readFileSync(join(cwd, "r.html"), "utf8");
    expect(page).toMatch(/<svg/);
    expect(page).toContain("KL(full || reconstructed)");

    // a second run without --resume refuses to touch the output; with --resume there is nothing left to do
    // (the lengths computed above are not needed again: --tokenized-dataset)
    const lengths = ["--tokenized-dataset", lengthsFile];
    const again = await cli(["extract", "--limit", "20", ...lengths, "--quiet"], { cwd, env });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /^error: --output: \.\/logits-out already holds 20 of the 20 selected examples from an earlier run \(pass --resume/m,
    );
    const resumed = await cli(["extract", "--limit", "20", ...lengths, "--resume", "--json"], { cwd, env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.events.find((e) => e.event === "start")).toMatchObject({ selected: 20, done: 20, todo: 0 });
    expect(resumed.events.filter((e) => e.event === "done")).toHaveLength(1);
  });

  const common = () => ["--limit", "12", "--batch-thresholds", '{"100000": 2}', "--tokenized-dataset", lengthsFile];
  /** The embedded default's rows of the first 12 examples. */
  const first12 = () => new Map([...(defaultRows ?? [])].filter(([i]) => i < 12));

  it("killed with SIGKILL in the middle, then --resume: nothing lost, nothing twice, the same rows", async () => {
    const out = join(tmp.dir, "killed");
    let sent = false;
    const first = await run(["extract", ...common(), "--upload-every", "4", "--output", out, "--json"], {
      cwd: tmp.dir,
      env,
      onEvent: (e, child) => {
        if (!sent && e.event === "shard-uploaded") {
          sent = true;
          child.kill("SIGKILL");
        }
      },
    });
    expect(sent).toBe(true);
    expect(first.signal).toBe("SIGKILL");
    const second = await cli(["extract", ...common(), "--output", out, "--resume", "--json"], { cwd: tmp.dir, env });
    expect(second.code, second.stderr).toBe(0);
    const start = second.events.find((e) => e.event === "start") as Record<string, number>;
    expect(start.done).toBeGreaterThanOrEqual(4);
    expect(start.done + start.todo).toBe(12);
    const v = await cli(["verify", out, "--expected-count", "12"]);
    expect(v.code, v.stdout).toBe(0);
    expect(defaultRows, "the embedded default ran first").toBeDefined();
    expect(await folderRows(out)).toEqual(first12());
  });

  it("a second Ctrl+C exits at once by the signal and still leaves a resumable state", async () => {
    const out = join(tmp.dir, "sigint-twice");
    let sent = false;
    const first = await run(["extract", ...common(), "--upload-every", "4", "--output", out, "--json"], {
      cwd: tmp.dir,
      env,
      onEvent: (e, child) => {
        if (!sent && e.event === "shard-uploaded") {
          sent = true;
          child.kill("SIGINT");
          setTimeout(() => child.kill("SIGINT"), 20);
        }
      },
    });
    expect(sent).toBe(true);
    // killed by SIGINT itself (what a shell reports as 130), not by an abort
    expect(first.signal, `${first.code} ${first.stderr}`).toBe("SIGINT");
    expect(first.stderr).not.toMatch(/terminate called|Aborted/);
    expect(first.stderr).toMatch(/SIGINT again: exiting now/);
    const second = await cli(["extract", ...common(), "--output", out, "--resume", "--quiet"], { cwd: tmp.dir, env });
    expect(second.code, second.stderr).toBe(0);
    expect(await folderRows(out)).toEqual(first12());
  });

  it("bad input, one case per kind: usage (exit 2), a missing file (exit 1), --debug, --json", async () => {
    const usage = await run(["extract", "--top_p", "0.9", "--quiet"], { cwd: tmp.dir });
    expect(usage.code).toBe(2);
    expect(errorLines(usage.stderr)).toEqual([
      "error: unknown flag --top_p for 'logitpack extract' (did you mean --top-p?)",
    ]);
    const range = await run(["extract", "--top-p", "1.5"], { cwd: tmp.dir });
    expect(range.code).toBe(2);
    expect(errorLines(range.stderr)).toEqual(["error: --top-p: expected a number > 0 and <= 1, got 1.5"]);
    const missing = await run(["extract", "--dataset", "./missing.jsonl"], { cwd: tmp.dir });
    expect(missing.code).toBe(1);
    expect(errorLines(missing.stderr)).toEqual(["error: --dataset: no such file or folder: ./missing.jsonl"]);
    expect(missing.stderr).not.toMatch(STACK);
    const debug = await run(["extract", "--dataset", "./missing.jsonl", "--debug"], { cwd: tmp.dir });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(STACK);
    const json = await run(["extract", "--dataset", "./missing.jsonl", "--json", "--quiet"], { cwd: tmp.dir });
    expect(json.code).toBe(1);
    expect(json.events).toEqual([
      { event: "error", message: "--dataset: no such file or folder: ./missing.jsonl", code: "NOT_FOUND", exitCode: 1 },
    ]);
  });
});
