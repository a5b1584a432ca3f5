/**
 * Interop: the Gemma 2 and Qwen3-Instruct-2507 stock templates, which no tokenizer package ships, are read from trl's
 * original templates (`trl/chat_templates/*.jinja`, located through Python without importing trl: `pip install
 * --no-deps trl` is enough) and
 * - are the exact texts the goldens were made from (SHA-256 in manifest.json),
 * - are recognized by `chooseBuiltinTemplate` as the stock template of their built-in,
 * - render through our engine as transformers rendered them (text, ids, offsets; errors where it raised).
 * Needs Python with trl installed (LOGITPACK_PYTHON, else python3 on PATH); skips with the reason printed otherwise.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chooseBuiltinTemplate } from "../src/choose-template.js";
import { checkSuite, loadSuite, manifest, sha256, trlSuites } from "./conformance-suite.js";

const PROBE =
  "import importlib.metadata, importlib.util, json, pathlib\n" +
  "spec = importlib.util.find_spec('trl')\n" +
  "assert spec is not None and spec.origin is not None, 'trl is not installed'\n" +
  "print(json.dumps({'dir': str(pathlib.Path(spec.origin).parent / 'chat_templates'), " +
  "'version': importlib.metadata.version('trl')}))";

function findTrl(): { dir: string; version: string } | string {
  const python = process.env.LOGITPACK_PYTHON ?? "python3";
  const probe = spawnSync(python, ["-c", PROBE], { encoding: "utf8" });
  if (probe.status !== 0) {
    return `skipped: ${python} has no trl (pip install --no-deps trl; its chat_templates/ hold the stock templates)`;
  }
  return JSON.parse(probe.stdout.trim()) as { dir: string; version: string };
}

const trl = findTrl();
if (typeof trl === "string") {
  console.log(`[chat interop] ${trl}`);
}

describe.skipIf(typeof trl === "string")("stock templates read from trl (Gemma 2, Qwen3-Instruct-2507)", () => {
  const found = trl as { dir: string; version: string };

  it("the goldens name both trl suites and their files", () => {
    expect([...trlSuites].sort()).toEqual(["gemma2-stock", "qwen3-instruct-2507-stock"]);
  });

  for (const name of trlSuites) {
    it(`${name}: trl's text is the goldens' template, the chooser recognizes it, our engine renders as transformers`, () => {
      const suite = loadSuite(name);
      expect(suite.template.startsWith("trl:")).toBe(true);
      const source = readFileSync(join(found.dir, suite.template.slice(4)), "utf8");
      // the same text the goldens were made from (another trl release may change it: regenerate then)
      expect(sha256(source), `trl ${found.version} ${suite.template}`).toBe(manifest.templates[name]);
      const family = name.replace(/-stock$/, "");
      expect(chooseBuiltinTemplate({ tokenizerTemplate: source })).toMatchObject({
        name: family,
        matchesTokenizerTemplate: true,
      });
      const { stats, failures } = checkSuite(suite, source);
      expect(failures).toEqual([]);
      expect(stats.answered).toBeGreaterThan(100);
      expect(stats.answered + stats.errors + stats.refused).toBe(suite.cases.length);
      console.log(
        `${name} (trl ${found.version}): ${suite.cases.length} conversations, ${stats.answered} answered by ` +
          `transformers, ${stats.sameIds} identical ids, ${stats.errors} raised by both, ${stats.refused} refused`,
      );
    }, 120_000);
  }
});
