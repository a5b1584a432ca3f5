import { describe, expect, it } from "vitest";
import { COMMANDS, subcommandsOf } from "../src/commands/index.js";
import { GLOBAL_FLAGS } from "../src/internal/spec.js";
import { cli } from "./helpers.js";

const STACK = /^\s+at .+\(?.*:\d+:\d+\)?$/m;

describe("--help", () => {
  it("logitpack --help lists every command, exit 0, no stack trace", async () => {
    for (const args of [["--help"], ["-h"], []]) {
      const r = await cli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^logitpack: /);
      for (const c of COMMANDS.filter((x) => !x.name.includes(" "))) {
        expect(r.stdout).toContain(`  ${c.name}  `);
      }
      expect(r.stderr).toBe("");
      expect(r.stdout + r.stderr).not.toMatch(STACK);
    }
  });

  it.each(COMMANDS.map((c) => [c.name]))("logitpack %s --help shows every flag of the table", async (name) => {
    const spec = COMMANDS.find((c) => c.name === name);
    const r = await cli([...name.split(" "), "--help"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).not.toMatch(STACK);
    expect(r.stdout.startsWith(`Usage: logitpack ${name}`)).toBe(true);
    for (const flag of Object.keys({ ...spec?.flags, ...GLOBAL_FLAGS })) {
      expect(r.stdout).toContain(`--${flag}`);
    }
    for (const sub of subcommandsOf(name)) {
      expect(r.stdout).toContain(sub.name);
    }
  });

  it("help <command> and --version", async () => {
    const r = await cli(["help", "verify"]);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith("Usage: logitpack verify")).toBe(true);
    const v = await cli(["--version"]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^logitpack \d+\.\d+\.\d+\n$/);
  });

  it("the seed's flag names are all accepted by extract and lengths", () => {
    const extract = COMMANDS.find((c) => c.name === "extract")?.flags ?? {};
    const lengths = COMMANDS.find((c) => c.name === "lengths")?.flags ?? {};
    const seedExtract = [
      "model",
      "dataset",
      "output",
      "max-seq-len",
      "upload-every",
      "upload-size-mb",
      "subject-col",
      "tokenized-dataset",
      "chat-template",
      "sample-subject",
      "length-col",
      "resume",
      "force-restart",
      "random-sample",
      "top-p",
      "top-p-max",
      "sampled-n",
      "batch-thresholds",
      "limit",
      "full-dataset",
      "max-runtime-minutes",
      "user-col",
      "assistant-col",
      "num-proc",
      "push-to-hub",
      "output-repo",
      "verify-mask",
      // ours
      "device",
      "seed",
      "mode",
      "rounds",
      "temperature",
      "shard",
      "token",
    ];
    for (const f of seedExtract) {
      expect(Object.keys(extract), f).toContain(f);
    }
    for (const f of [
      "model",
      "dataset",
      "output-repo",
      "chat-template",
      "user-col",
      "assistant-col",
      "num-proc",
      "push-to-hub",
    ]) {
      expect(Object.keys(lengths), f).toContain(f);
    }
    expect(Object.keys(GLOBAL_FLAGS)).toEqual(expect.arrayContaining(["json", "quiet"]));
  });
});
