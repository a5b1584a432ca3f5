import { describe, expect, it } from "vitest";
import { chooseBuiltinTemplate, stockTemplateName } from "./choose-template.js";

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
});
