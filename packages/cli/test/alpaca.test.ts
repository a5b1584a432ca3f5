/**
 * Alpaca-shaped datasets (`instruction`, `input`, `output`): the user turn is `instruction + "\n\n" + input` when the
 * input is a non-empty string, the instruction alone otherwise. Checked end to end against the same conversations
 * written out by hand as `messages`: the extracted rows are byte-identical to those of the hand-written
 * conversations (and differ from instruction-only ones where an input exists); `--input-col` names the column by
 * hand, with `--user-col`/`--assistant-col` (extract, lengths) or on top of the auto-detected columns (lengths);
 * `lengths` counts the same tokens.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runLengths } from "../src/lib/lengths.js";
import { cli, errorLines } from "./helpers.js";
import { setupPipeline, shared } from "./pipeline-setup.js";
import { folderRows } from "./rows.js";

setupPipeline();

const ROWS = [
  { instruction: "Translate to French.", input: "Good morning", output: "Bonjour" },
  { instruction: "Name a primary colour.", input: "", output: "Blue." },
  { instruction: "Add the numbers.", input: "2 and 3", output: "5" },
];

/** The conversations written by hand: the Alpaca rule, or the instruction alone. */
function messagesOf(withInput: boolean): string {
  return ROWS.map((r) =>
    JSON.stringify({
      messages: [
        { role: "user", content: withInput && r.input !== "" ? `${r.instruction}\n\n${r.input}` : r.instruction },
        { role: "assistant", content: r.output },
      ],
    }),
  ).join("\n");
}

function jsonl(name: string, text: string): string {
  const file = join(shared.tmp.dir, name);
  writeFileSync(file, `${text}\n`);
  return file;
}

async function extract(dataset: string, out: string, more: string[] = []) {
  const folder = join(shared.tmp.dir, out);
  const r = await cli(["extract", "--dataset", dataset, "--output", folder, ...more], {
    env: { LOGITPACK_CACHE: shared.modelCache },
  });
  expect(r.code, r.stderr).toBe(0);
  return { said: r.stderr + r.stdout, rows: await folderRows(folder), folder };
}

describe("Alpaca instruction/input/output", () => {
  it("is detected, reported, and extracts the rows of the hand-written conversations", async () => {
    const alpaca = jsonl("alpaca.jsonl", ROWS.map((r) => JSON.stringify(r)).join("\n"));
    const auto = await extract(alpaca, "alpaca-out");
    expect(auto.said).toContain('Columns: user column "instruction" + "input", assistant column "output"');
    expect(auto.said).not.toContain("not read");
    const byHand = await extract(jsonl("by-hand.jsonl", messagesOf(true)), "by-hand-out");
    const instructionOnly = await extract(jsonl("instruction-only.jsonl", messagesOf(false)), "instruction-only-out");
    expect(auto.rows.size).toBe(3);
    for (const i of [0, 1, 2]) {
      expect(auto.rows.get(i), `row ${i}`).toBe(byHand.rows.get(i));
    }
    // the input changed what the teacher saw where there is one, nothing where it is empty
    expect(auto.rows.get(0)).not.toBe(instructionOnly.rows.get(0));
    expect(auto.rows.get(2)).not.toBe(instructionOnly.rows.get(2));
    expect(auto.rows.get(1)).toBe(instructionOnly.rows.get(1));

    // the recorded input shape lets explore align rebuild the same text
    const align = await cli(["explore", "align", auto.folder, "--index", "0", "--dataset", alpaca]);
    expect(align.code, align.stderr).toBe(0);
    expect(align.stdout).toContain("Good morning");

    // by hand: other column names with --user-col/--input-col/--assistant-col
    const renamed = jsonl(
      "renamed.jsonl",
      ROWS.map((r) => JSON.stringify({ q: r.instruction, ctx: r.input, a: r.output })).join("\n"),
    );
    const flags = await extract(renamed, "renamed-out", [
      "--user-col",
      "q",
      "--input-col",
      "ctx",
      "--assistant-col",
      "a",
    ]);
    for (const i of [0, 1, 2]) {
      expect(flags.rows.get(i), `row ${i}`).toBe(byHand.rows.get(i));
    }
  }, 240_000);

  it("lengths: the same tokens as the hand-written conversations, by detection and by --input-col", async () => {
    const alpaca = jsonl("alpaca-l.jsonl", ROWS.map((r) => JSON.stringify(r)).join("\n"));
    const renamed = jsonl(
      "renamed-l.jsonl",
      ROWS.map((r) => JSON.stringify({ q: r.instruction, ctx: r.input, a: r.output })).join("\n"),
    );
    const tokens = async (dataset: Record<string, string>, file: string) =>
      (await runLengths({ dataset, output: { file: join(shared.tmp.dir, file) }, runtime: { numProc: 1 } })).tokens;
    const byHand = await tokens({ id: jsonl("by-hand-l.jsonl", messagesOf(true)) }, "l1.parquet");
    const instructionOnly = await tokens({ id: jsonl("instr-l.jsonl", messagesOf(false)) }, "l2.parquet");
    expect(byHand).toBeGreaterThan(instructionOnly);
    expect(await tokens({ id: alpaca }, "l3.parquet")).toBe(byHand);
    expect(await tokens({ id: renamed, userCol: "q", inputCol: "ctx", assistantCol: "a" }, "l4.parquet")).toBe(byHand);
    // --input-col on top of the detected columns, through the command
    const other = jsonl(
      "other-input.jsonl",
      ROWS.map((r) => JSON.stringify({ instruction: r.instruction, context: r.input, output: r.output })).join("\n"),
    );
    const r = await cli([
      "lengths",
      "--dataset",
      other,
      "--input-col",
      "context",
      "--output",
      join(shared.tmp.dir, "l5.parquet"),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain('Columns: user column "instruction" + "context", assistant column "output"');
    expect(r.stdout + r.stderr).toContain(`Wrote the lengths of 3 examples (${byHand} tokens, 0 skipped)`);
  }, 240_000);

  it("--input-col errors name the flag: a missing column, a messages dataset, with --messages-col", async () => {
    const renamed = jsonl(
      "renamed-e.jsonl",
      ROWS.map((r) => JSON.stringify({ q: r.instruction, ctx: r.input, a: r.output })).join("\n"),
    );
    const missing = await cli(
      ["lengths", "--dataset", renamed, "--user-col", "q", "--input-col", "nope", "--assistant-col", "a"],
      { cwd: shared.tmp.dir },
    );
    expect(missing.code).not.toBe(0);
    expect(errorLines(missing.stderr).join("\n")).toMatch(
      /--input-col.*no column "nope"|no column "nope".*--input-col/,
    );
    const messages = jsonl("messages-e.jsonl", messagesOf(true));
    const onMessages = await cli(["lengths", "--dataset", messages, "--input-col", "input"], { cwd: shared.tmp.dir });
    expect(onMessages.code).not.toBe(0);
    expect(errorLines(onMessages.stderr).join("\n")).toMatch(/--input-col: the dataset is read as messages column/);
    const both = await cli(["lengths", "--dataset", messages, "--messages-col", "messages", "--input-col", "input"], {
      cwd: shared.tmp.dir,
    });
    expect(both.code).not.toBe(0);
    expect(errorLines(both.stderr).join("\n")).toMatch(/--messages-col.*--input-col|--input-col.*--messages-col/);
  }, 120_000);
});
