import { describe, expect, it } from "vitest";
import { chooseBuiltinTemplate, stockTemplateName } from "./choose-template.js";
import type { ChatError } from "./errors.js";
import { templateForModel } from "./resolve-template.js";
import { ChatTokenizer } from "./tokenizer.js";

describe("chooseBuiltinTemplate", () => {
  it("without a recognized stock template, the model type decides and the reason says the texts differ", () => {
    const qwen2 = chooseBuiltinTemplate({ modelType: "qwen2", tokenizerTemplate: "{{ messages }}" });
    expect(qwen2).toMatchObject({ name: "qwen2.5", matchesTokenizerTemplate: false });
    expect(qwen2.reason).toContain("differs from the stock qwen2.5 template");
    expect(chooseBuiltinTemplate({ modelType: "Gemma3_text" }).name).toBe("gemma3");
    expect(chooseBuiltinTemplate({ modelType: "llama" }).reason).toContain("has no chat template");
    expect(chooseBuiltinTemplate({ modelType: "qwen3_moe" }).name).toBe("qwen3");
  });

  it("a Qwen3 template without enable_thinking (Instruct-2507 style), Gemma 2, Mistral: no built-in, and why", () => {
    const instruct = chooseBuiltinTemplate({ modelType: "qwen3", tokenizerTemplate: "{{ '<think>' }}{{ messages }}" });
    expect(instruct.name).toBeUndefined();
    expect(instruct.reason).toContain("enable_thinking");
    for (const modelType of ["gemma2", "mistral", undefined]) {
      const c = chooseBuiltinTemplate(modelType === undefined ? {} : { modelType });
      expect(c.name).toBeUndefined();
      expect(c.reason).toContain("--chat-template");
    }
  });

  it("recognizes a stock template only by its exact text (CRLF and one trailing newline aside)", () => {
    expect(stockTemplateName("{{ messages }}")).toBeUndefined();
  });

  it("templateForModel: the tokenizer's marked template, else the chosen built-in, else a clear error", () => {
    const json = {
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
      post_processor: null,
      decoder: { type: "ByteLevel" },
      model: { type: "BPE", vocab: { a: 0, b: 1 }, merges: [] },
    };
    const tok = (template?: string) =>
      ChatTokenizer.fromJSON(json, template === undefined ? {} : { chat_template: template }, { name: "t" });
    const marked = "{% for m in messages %}{% generation %}{{ m.content }}{% endgeneration %}{% endfor %}";
    expect(templateForModel(tok(marked)).choice.reason).toContain("has {% generation %} markers");
    const chosen = templateForModel(tok("{{ messages }}"), { modelType: "qwen3" });
    expect([chosen.choice.name, chosen.template.name]).toEqual(["qwen3", "qwen3"]);
    let error: ChatError | undefined;
    try {
      templateForModel(tok(), { modelType: "mistral", flag: "--chat-template" });
    } catch (e) {
      error = e as ChatError;
    }
    expect([error?.code, error?.flag]).toEqual(["NO_ASSISTANT_TOKENS", "--chat-template"]);
    expect(error?.message).toContain('model_type "mistral"');
  });
});
