import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ChatError } from "../src/errors.js";
import { chooseTemplateForModelDir, loadChatTemplate, loadTokenizer } from "../src/node.js";
import { qwenTokenizer } from "./qwen.js";
import { tinyTokenizerJson } from "./tiny.js";

const dir = mkdtempSync(join(tmpdir(), "logitpack-chat-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MARKED = "{% for m in messages %}{% generation %}{{ m.content }}{% endgeneration %}{% endfor %}";

function folder(name: string, files: Record<string, string>): string {
  const d = join(dir, name);
  mkdirSync(d);
  for (const [f, text] of Object.entries(files)) {
    writeFileSync(join(d, f), text);
  }
  return d;
}

describe("loadTokenizer", () => {
  it("reads tokenizer.json + tokenizer_config.json; chat_template.jinja fills a missing template", () => {
    const d = folder("a", {
      "tokenizer.json": JSON.stringify(tinyTokenizerJson()),
      "tokenizer_config.json": JSON.stringify({ eos_token: "<|end|>" }),
      "chat_template.jinja": MARKED,
    });
    const tok = loadTokenizer(d);
    expect(tok.name).toBe(d);
    expect(tok.config.chat_template).toBe(MARKED);
    expect(loadChatTemplate(undefined, tok).render({ messages: [{ role: "user", content: "x" }] }).text).toBe("x");
  });

  it("a folder without tokenizer.json or with broken JSON is TOKENIZER_LOAD naming the file", () => {
    const empty = folder("b", {});
    expect(() => loadTokenizer(empty)).toThrow(/tokenizer\.json: cannot read/);
    const broken = folder("c", { "tokenizer.json": "{" });
    try {
      loadTokenizer(broken);
      expect.unreachable();
    } catch (error) {
      expect((error as ChatError).code).toBe("TOKENIZER_LOAD");
      expect((error as ChatError).file).toBe(join(broken, "tokenizer.json"));
    }
  });
});

describe("loadChatTemplate (--chat-template value)", () => {
  it("a template string, a built-in, a file", () => {
    expect(loadChatTemplate(MARKED).name).toBe("inline");
    expect(loadChatTemplate("qwen").name).toBe("qwen");
    const file = join(dir, "t.jinja");
    writeFileSync(file, MARKED);
    const t = loadChatTemplate(file);
    expect(t.name).toBe(file);
    expect(t.source).toBe(MARKED);
  });

  it("anything else is TEMPLATE_NOT_FOUND naming the flag; a template without markers is NO_ASSISTANT_TOKENS", () => {
    try {
      loadChatTemplate("./missing.jinja");
      expect.unreachable();
    } catch (error) {
      expect((error as ChatError).code).toBe("TEMPLATE_NOT_FOUND");
      expect((error as ChatError).flag).toBe("--chat-template");
      expect((error as ChatError).message).toMatch(
        /qwen, qwen3, qwen2\.5, llama3, gemma3, qwen3-instruct-2507, gemma2, mistral-nemo, seed-000/,
      );
    }
    expect(() => loadChatTemplate("{{ messages[0].content }}")).toThrow(/0 assistant tokens/);
  });
});

describe("chooseTemplateForModelDir", () => {
  it("reads model_type and the tokenizer's template from the folder; the stock Qwen3 template gets qwen3", () => {
    const dir = mkdtempSync(join(tmpdir(), "chat-choose-"));
    try {
      writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "qwen3" }));
      writeFileSync(
        join(dir, "tokenizer_config.json"),
        JSON.stringify({ chat_template: qwenTokenizer().config.chat_template }),
      );
      const r = chooseTemplateForModelDir(dir);
      expect([r.template, r.modelType, r.choice.matchesTokenizerTemplate]).toEqual(["qwen3", "qwen3", true]);
      writeFileSync(join(dir, "tokenizer_config.json"), "{}");
      writeFileSync(join(dir, "chat_template.jinja"), "{% generation %}{{ messages }}{% endgeneration %}");
      expect(chooseTemplateForModelDir(dir)).toMatchObject({ template: undefined, ownTemplateHasMarkers: true });
      rmSync(join(dir, "chat_template.jinja"));
      writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "mistral" }));
      expect(chooseTemplateForModelDir(dir)).toMatchObject({ template: "mistral-nemo", modelType: "mistral" });
      writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "phi3" }));
      const none = chooseTemplateForModelDir(dir);
      expect(none.template).toBeUndefined();
      expect(none.choice.reason).toContain('model_type "phi3"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
