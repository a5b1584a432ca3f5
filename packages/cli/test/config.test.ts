import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { extract } from "../src/commands/extract.js";
import { lengths } from "../src/commands/lengths.js";
import { type ExtractionConfig, ExtractionError, validateExtractionConfig } from "../src/index.js";
import { EXTRACT_OPTIONS, flagsToConfig, LENGTHS_OPTIONS, optionNamer } from "../src/internal/options.js";
import { Output } from "../src/internal/output.js";
import { stopSignal } from "../src/internal/stop-signal.js";

function invalid(config: unknown, name?: (o: string) => string): ExtractionError {
  try {
    validateExtractionConfig(config as ExtractionConfig, name ? { optionName: name } : {});
  } catch (error) {
    expect(error).toBeInstanceOf(ExtractionError);
    expect((error as ExtractionError).code).toBe("INVALID_OPTION");
    return error as ExtractionError;
  }
  throw new Error(`accepted: ${JSON.stringify(config)}`);
}

describe("validateExtractionConfig", () => {
  it("{} is the embedded default, with every default applied", () => {
    const c = validateExtractionConfig({}, { env: { LOGITPACK_CACHE: "/tmp/lp-cache" } });
    expect(c.model).toEqual({ id: "tiny", tiny: true, device: { device: "cpu" }, cacheDir: "/tmp/lp-cache" });
    expect(c.sampling).toEqual({
      mode: "nucleus",
      topP: 0.98,
      topPMax: 100,
      sampledN: 24,
      rounds: 50,
      temperature: 1,
      seed: 0,
    });
    expect(c.output.target).toEqual({
      kind: "folder",
      where: resolve("logits-out"),
      cacheDir: resolve("logits-out", ".logit_extraction_cache"),
    });
    expect(c.selection).toMatchObject({ lengthCol: "length", randomSample: false, fullDataset: false });
    expect(c.selection.shard).toMatchObject({ index: 0, count: 1 });
    expect(c.output).toMatchObject({ resume: false, forceRestart: false, private: false });
  });

  it("a model other than the tiny one runs on the best device; cuda:1 picks a device id", () => {
    expect(validateExtractionConfig({ model: { id: "./m" } }).model.device).toEqual({ device: "auto" });
    expect(validateExtractionConfig({ model: { device: "cuda:1" } }).model.device).toEqual({ device: "cuda", id: 1 });
  });

  it("the Hub target, its cache, and a split run's own cache", () => {
    const c = validateExtractionConfig({
      output: { hubRepo: "me/logits" },
      selection: { shard: { index: 1, count: 4 } },
    });
    expect(c.output.target.kind).toBe("hub");
    expect(c.output.target.where).toBe("me/logits");
    expect(c.output.target.cacheDir).toBe(
      join(resolve(".logit_extraction_cache", "datasets--me--logits"), "shard-1-of-4"),
    );
  });

  it("JSON texts and objects are both accepted for the selection and batching options", () => {
    const a = validateExtractionConfig({
      selection: { sampleSubject: '{"*": 5}' },
      batching: { thresholds: '{"64": 2}' },
    });
    const b = validateExtractionConfig({
      selection: { sampleSubject: { "*": 5 } },
      batching: { thresholds: { "64": 2 } },
    });
    expect(a.selection.sampleSubject).toEqual(b.selection.sampleSubject);
    expect(a.batching.thresholds).toEqual(b.batching.thresholds);
  });

  it("errors name the option by its config path, or as the caller names it", () => {
    const e = invalid({ sampling: { topP: 1.5 } });
    expect(e.option).toBe("sampling.topP");
    expect(e.message).toBe("sampling.topP: expected a number > 0 and <= 1, got 1.5");
    const named = invalid({ sampling: { topP: 1.5 } }, (o) => `<${o}>`);
    expect(named.message).toBe("<sampling.topP>: expected a number > 0 and <= 1, got 1.5");
    expect(invalid({ output: { resume: true, forceRestart: true } }).message).toMatch(
      /^output\.resume and output\.forceRestart cannot be used together/,
    );
    expect(invalid({ sampling: { mode: "importance", topP: 0.9 } }).message).toBe(
      "sampling.topP is for sampling.mode nucleus; importance sampling uses sampling.rounds and sampling.temperature",
    );
    expect(invalid({ output: { folder: "x", hubRepo: "a/b" } }).option).toBe("output.hubRepo");
    expect(invalid({ output: { hubRepo: "not a repo" } }).option).toBe("output.hubRepo");
    expect(invalid({ output: { private: true } }).option).toBe("output.private");
    expect(invalid({ selection: { lengthCol: "n" } }).message).toBe(
      "selection.lengthCol: needs selection.tokenizedDataset",
    );
    expect(invalid({ dataset: { userCol: "q" } }).option).toBe("dataset.assistantCol");
    expect(invalid({ selection: { shard: "3/2" } }).option).toBe("selection.shard");
    expect(invalid({ selection: { sampleSubject: "{*: 5}" } }).message).toMatch(
      /^selection\.sampleSubject: not valid JSON/,
    );
    expect(invalid({ chat: { skipRules: "nope" } }).option).toBe("chat.skipRules");
    expect(invalid({ model: { device: "tpu" } }).option).toBe("model.device");
    expect(invalid({ sampling: { seed: -1 } }).option).toBe("sampling.seed");
    expect(invalid({ samplng: {} }).message).toMatch(/^samplng: unknown option group/);
  });

  it("every flag of extract sets a config option the validator reads (or is one of the CLI's own)", () => {
    const cliOnly = ["push-to-hub", "max-runtime-minutes"];
    for (const flag of Object.keys(extract.flags)) {
      expect(flag in EXTRACT_OPTIONS || cliOnly.includes(flag), flag).toBe(true);
    }
    for (const flag of Object.keys(lengths.flags)) {
      expect(flag in LENGTHS_OPTIONS || flag === "push-to-hub", flag).toBe(true);
    }
    // a value of the wrong type at each path is refused naming that path: the validator reads it
    for (const [flag, [path]] of Object.entries(EXTRACT_OPTIONS)) {
      const config: Record<string, unknown> = {};
      const [group, key] = path.split(".") as [string, string];
      config[group] = { [key]: [] };
      expect(invalid(config).option, flag).toBe(path);
    }
  });

  it("flags become the config in one pass; numbers that are not numbers reach the validator as text", () => {
    const config = flagsToConfig(
      { "top-p": "0.9", limit: "ten", "random-sample": true, "user-col": "q", "assistant-col": "a" },
      EXTRACT_OPTIONS,
    );
    expect(config).toEqual({
      sampling: { topP: 0.9 },
      selection: { limit: "ten", randomSample: true },
      dataset: { userCol: "q", assistantCol: "a" },
    });
    expect(invalid(config, optionNamer(EXTRACT_OPTIONS)).message).toBe('--limit: expected an integer >= 1, got "ten"');
  });
});

describe("the CLI's stop signal", () => {
  it("--max-runtime-minutes counts from the process start, not from the call", async () => {
    const out = new Output({ quiet: true });
    // this process has run for longer than 0.0001 minutes (6 ms) already: the limit is reached at once
    expect(process.uptime()).toBeGreaterThan(0.006);
    const stop = stopSignal(out, 0.0001);
    await new Promise((r) => setTimeout(r, 20));
    expect(stop.signal.aborted).toBe(true);
    expect(stop.signal.reason).toBe("max-runtime");
    stop.dispose();
    const later = stopSignal(out, 10);
    await new Promise((r) => setTimeout(r, 20));
    expect(later.signal.aborted).toBe(false);
    later.dispose();
  });

  it("the first SIGINT aborts with the signal's name", () => {
    const stop = stopSignal(new Output({ quiet: true }), undefined);
    process.emit("SIGINT", "SIGINT");
    expect(stop.signal.aborted).toBe(true);
    expect(stop.signal.reason).toBe("SIGINT");
    stop.dispose();
    expect(process.listenerCount("SIGINT")).toBe(0);
  });
});
