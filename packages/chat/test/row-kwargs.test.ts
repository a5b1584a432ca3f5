/** Per-row template variables: which columns fed them is recorded, undeclared ones are refused. */
import { describe, expect, it } from "vitest";
import { ChatEncoder } from "../src/encoder.js";
import type { ChatError } from "../src/errors.js";
import { exampleFromRow } from "../src/input.js";
import { resolveChatTemplate } from "../src/resolve-template.js";
import { qwenTokenizer } from "./qwen.js";

const shape = {
  kind: "messages" as const,
  column: "messages",
  templateKwargColumns: { tools: "tool_list", enable_thinking: "think" },
};
const tools = '[{"type":"function","function":{"name":"f","parameters":{"x":{"default":21.0}}}}]';

describe("per-row template variables", () => {
  it("each row renders with its own tools; metadata records the columns; fromMetadata keeps them", () => {
    const tok = qwenTokenizer();
    const encoder = new ChatEncoder({
      tokenizer: tok,
      template: resolveChatTemplate({ builtin: "qwen3" }),
      rowTemplateKwargs: shape.templateKwargColumns,
    });
    const messages = [
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello." },
    ];
    const withTools = encoder.encode(exampleFromRow({ messages, tool_list: tools, think: null }, shape, 0));
    const without = encoder.encode(exampleFromRow({ messages, tool_list: null, think: null }, shape, 1));
    expect(withTools.text).toContain('"default": 21.0');
    expect(without.text).not.toContain("# Tools");
    expect(withTools.numAssistantTokens).toBe(without.numAssistantTokens);
    const meta = encoder.metadata();
    expect(meta.rowTemplateKwargs).toEqual({ tools: "tool_list", enable_thinking: "think" });
    const replayed = ChatEncoder.fromMetadata(tok, JSON.parse(JSON.stringify(meta)));
    expect(replayed.metadata().rowTemplateKwargs).toEqual(meta.rowTemplateKwargs);
    expect(replayed.encode(exampleFromRow({ messages, tool_list: tools, think: null }, shape, 0)).text).toBe(
      withTools.text,
    );
  });

  it("with declared variables, an example carrying another one is refused (the metadata would not say)", () => {
    const encoder = new ChatEncoder({
      tokenizer: qwenTokenizer(),
      template: resolveChatTemplate({ builtin: "qwen3" }),
      rowTemplateKwargs: { enable_thinking: "think" },
    });
    let error: ChatError | undefined;
    try {
      encoder.encode(
        exampleFromRow({ messages: [{ role: "user", content: "x" }], tool_list: "[]", think: true }, shape),
      );
    } catch (e) {
      error = e as ChatError;
    }
    expect(error?.code).toBe("TEMPLATE_ERROR");
    expect(error?.message).toContain('template variable "tools"');
  });

  it("without declared variables, examples' variables are used as they come", () => {
    const encoder = new ChatEncoder({
      tokenizer: qwenTokenizer(),
      template: resolveChatTemplate({ builtin: "qwen3" }),
    });
    expect(encoder.metadata().rowTemplateKwargs).toBeUndefined();
    const messages = [
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello." },
    ];
    expect(encoder.encode(exampleFromRow({ messages, tool_list: tools, think: null }, shape)).text).toContain(
      "# Tools",
    );
  });
});
