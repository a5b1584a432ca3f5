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

  it("qwen3 without enable_thinking: Instruct-2507 gets qwen3-instruct-2507, a Thinking-2507 template none", () => {
    const instruct = chooseBuiltinTemplate({ modelType: "qwen3", tokenizerTemplate: "{{ messages }}" });
    expect(instruct).toMatchObject({ name: "qwen3-instruct-2507", matchesTokenizerTemplate: false });
    expect(instruct.reason).toContain("differs from the stock qwen3-instruct-2507 template");
    expect(chooseBuiltinTemplate({ modelType: "qwen3_moe", tokenizerTemplate: "{{ messages }}" }).name).toBe(
      "qwen3-instruct-2507",
    );
    // a template with enable_thinking is the hybrid one
    const hybrid = chooseBuiltinTemplate({ modelType: "qwen3", tokenizerTemplate: "{{ enable_thinking }}" });
    expect(hybrid.name).toBe("qwen3");
    const thinking = chooseBuiltinTemplate({ modelType: "qwen3", tokenizerTemplate: "{{ '<think>' }}{{ messages }}" });
    expect(thinking.name).toBeUndefined();
    expect(thinking.reason).toContain("Thinking-2507");
    expect(thinking.reason).toContain("--chat-template");
  });

  it("gemma and gemma2 get gemma2; mistral gets mistral-nemo, and the reason says other Mistral templates differ", () => {
    expect(chooseBuiltinTemplate({ modelType: "gemma2" }).name).toBe("gemma2");
    expect(chooseBuiltinTemplate({ modelType: "Gemma" }).name).toBe("gemma2");
    const nemo = chooseBuiltinTemplate({ modelType: "mistral" });
    expect(nemo).toMatchObject({ name: "mistral-nemo", matchesTokenizerTemplate: false });
    expect(nemo.reason).toContain("has no chat template to compare with");
    // Mistral-7B-Instruct-v0.1's template ([INST] with spaces): another generation
    const v01 =
      "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}" +
      "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + ' ' }}{% endif %}{% endfor %}";
    const other = chooseBuiltinTemplate({ modelType: "mistral", tokenizerTemplate: v01 });
    expect(other).toMatchObject({ name: "mistral-nemo", matchesTokenizerTemplate: false });
    expect(other.reason).toContain("several template generations");
    expect(other.reason).toContain("Mistral-Nemo-Instruct-2407");
    for (const input of [{ modelType: "phi3" }, {}]) {
      const c = chooseBuiltinTemplate(input);
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
    expect([chosen.choice.name, chosen.template.name]).toEqual(["qwen3-instruct-2507", "qwen3-instruct-2507"]);
    let error: ChatError | undefined;
    try {
      templateForModel(tok(), { modelType: "phi3", flag: "--chat-template" });
    } catch (e) {
      error = e as ChatError;
    }
    expect([error?.code, error?.flag]).toEqual(["NO_ASSISTANT_TOKENS", "--chat-template"]);
    expect(error?.message).toContain('model_type "phi3"');
  });
});
