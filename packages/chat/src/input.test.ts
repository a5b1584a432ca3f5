import { describe, expect, it } from "vitest";
import { ChatError } from "./errors.js";
import { checkShapeColumns, cleanText, exampleFromRow, normalizeMessages } from "./input.js";
import { PyFloat } from "./python-jinja.js";

function errorOf(fn: () => unknown): ChatError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ChatError) {
      return error;
    }
    throw error;
  }
  throw new Error("did not throw");
}

describe("input shapes", () => {
  it("messages column, with an optional system prompt prepended when the conversation has none", () => {
    const row = {
      conv: [
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Yo", extra: "kept" },
      ],
    };
    expect(exampleFromRow(row, { kind: "messages", column: "conv", systemPrompt: "Sys" })).toEqual({
      kind: "chat",
      messages: [
        { role: "system", content: "Sys" },
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Yo", extra: "kept" },
      ],
    });
    const withSystem = { conv: [{ role: "system", content: "Own" }, ...row.conv] };
    const ex = exampleFromRow(withSystem, { kind: "messages", column: "conv", systemPrompt: "Sys" });
    expect(ex.kind === "chat" && ex.messages[0]).toEqual({ role: "system", content: "Own" });
  });

  it("ShareGPT {from, value} and JSON-string messages", () => {
    expect(normalizeMessages('[{"from":"human","value":"q"},{"from":"gpt","value":"a"}]')).toEqual([
      { role: "user", content: "q" },
      { role: "assistant", content: "a" },
    ]);
  });

  it("user/assistant columns with a system column", () => {
    expect(
      exampleFromRow(
        { q: "Q", a: "A", sys: "S" },
        { kind: "columns", userCol: "q", assistantCol: "a", systemCol: "sys" },
      ),
    ).toEqual({
      kind: "chat",
      messages: [
        { role: "system", content: "S" },
        { role: "user", content: "Q" },
        { role: "assistant", content: "A" },
      ],
    });
  });

  it("base-model shapes", () => {
    expect(exampleFromRow({ t: "x" }, { kind: "text", textCol: "t" })).toEqual({ kind: "text", text: "x" });
    expect(exampleFromRow({ p: "1", r: "2" }, { kind: "completion", promptCol: "p", responseCol: "r" })).toEqual({
      kind: "completion",
      prompt: "1",
      response: "2",
    });
  });

  it("a missing column names it and lists the columns that exist", () => {
    const e = errorOf(() =>
      checkShapeColumns(
        { kind: "columns", userCol: "question", assistantCol: "answr" },
        ["question", "answer", "subject"],
        () => "--assistant-col",
      ),
    );
    expect(e.code).toBe("MISSING_COLUMN");
    expect(e.column).toBe("answr");
    expect(e.flag).toBe("--assistant-col");
    expect(e.message).toContain('no column "answr"');
    expect(e.message).toContain('"question", "answer", "subject"');
    const row = errorOf(() => exampleFromRow({ a: 1 }, { kind: "text", textCol: "text" }, 7));
    expect(row.message).toMatch(/no column "text".*"a"/);
  });

  it("keeps content raw (no NFC: the tokenizer normalizes) and rejects sentinels, unpaired surrogates, non-strings", () => {
    expect(cleanText("cafe\u0301")).toBe("cafe\u0301");
    const ex = exampleFromRow(
      { m: [{ role: "user", content: "e\u0301", meta: { note: "A\u030a" } }] },
      { kind: "messages", column: "m" },
    );
    expect(ex).toEqual({ kind: "chat", messages: [{ role: "user", content: "e\u0301", meta: { note: "A\u030a" } }] });
    expect(errorOf(() => cleanText("a\uFDD0b")).code).toBe("INVALID_CONTENT");
    expect(errorOf(() => cleanText("a\uFDD1")).message).toContain("sentinel");
    expect(errorOf(() => cleanText("a\ud800b")).message).toContain("unpaired surrogate");
    expect(errorOf(() => cleanText("\udc00")).code).toBe("INVALID_CONTENT");
    expect(cleanText("🙂\ue000")).toBe("🙂\ue000");
    const bad = errorOf(() => exampleFromRow({ t: 3 }, { kind: "text", textCol: "t" }, 4));
    expect([bad.code, bad.row, bad.column]).toEqual(["INVALID_CONTENT", 4, "t"]);
  });

  it("malformed messages are INVALID_MESSAGES", () => {
    expect(errorOf(() => normalizeMessages("not json")).code).toBe("INVALID_MESSAGES");
    expect(errorOf(() => normalizeMessages({})).message).toContain("expected a list");
    expect(errorOf(() => normalizeMessages([3])).message).toContain("message 0");
    expect(errorOf(() => normalizeMessages([{ content: "x" }])).message).toContain("role");
    expect(errorOf(() => normalizeMessages([{ role: "user", content: [{ type: "text" }] }])).message).toContain(
      "only string content",
    );
    const nul = errorOf(() =>
      exampleFromRow(
        {
          m: [
            { role: "user", content: "hi" },
            { role: "assistant", content: null },
          ],
        },
        { kind: "messages", column: "m" },
        7,
      ),
    );
    expect([nul.code, nul.row, nul.column]).toEqual(["INVALID_MESSAGES", 7, "m"]);
    expect(nul.message).toContain("message 1 (assistant) has null content");
    expect(errorOf(() => normalizeMessages([{ role: "user" }])).message).toContain("message 0 (user) has no content");
  });

  it("JSON-string messages keep Python floats; per-row template variables come from their columns", () => {
    const ex = exampleFromRow(
      {
        m: '[{"role":"assistant","content":"","tool_calls":[{"name":"f","arguments":{"t":21.0,"n":3,"x":0.5}}]}]',
        tools: '[{"name":"f","parameters":{"min":1.0}}]',
        think: false,
      },
      { kind: "messages", column: "m", templateKwargColumns: { tools: "tools", enable_thinking: "think" } },
      2,
    );
    if (ex.kind !== "chat") {
      throw new Error("expected a chat example");
    }
    const calls = (ex.messages[0] as unknown as { tool_calls: { arguments: Record<string, unknown> }[] }).tool_calls;
    const args = calls[0]?.arguments;
    expect(args?.t).toBeInstanceOf(PyFloat);
    expect(args?.n).toBe(3);
    expect(args?.x).toBe(0.5);
    expect(ex.templateKwargs?.enable_thinking).toBe(false);
    const tools = (ex.templateKwargs as { tools: { parameters: { min: PyFloat } }[] }).tools;
    expect(tools[0]?.parameters.min.value).toBe(1);
    const missing = errorOf(() =>
      exampleFromRow({ m: [] }, { kind: "messages", column: "m", templateKwargColumns: { tools: "tools" } }),
    );
    expect(missing.code).toBe("MISSING_COLUMN");
  });
});

describe("Alpaca instruction + input", () => {
  const shape = { kind: "columns", userCol: "instruction", inputCol: "input", assistantCol: "output" } as const;
  const user = (row: Record<string, unknown>) => {
    const ex = exampleFromRow(row, shape, 4);
    return ex.kind === "chat" ? ex.messages.map((m) => [m.role, m.content]) : undefined;
  };

  it("puts a non-empty input after the instruction, a blank line between (the Alpaca prompt's separator)", () => {
    expect(user({ instruction: "Translate to French.", input: "Good morning", output: "Bonjour" })).toEqual([
      ["user", "Translate to French.\n\nGood morning"],
      ["assistant", "Bonjour"],
    ]);
    // kept as is, like the instruction (no trimming: the tokenizer sees what the dataset holds)
    expect(user({ instruction: "Fix:", input: " a b \n", output: "ab" })?.[0]).toEqual(["user", "Fix:\n\n a b \n"]);
  });

  it("leaves the instruction alone when the input is empty, null or missing from the row", () => {
    for (const row of [
      { instruction: "Name a colour.", input: "", output: "Blue" },
      { instruction: "Name a colour.", input: null, output: "Blue" },
      { instruction: "Name a colour.", output: "Blue" },
    ]) {
      expect(user(row)).toEqual([
        ["user", "Name a colour."],
        ["assistant", "Blue"],
      ]);
    }
  });

  it("with a system column or prompt, the system turn comes first", () => {
    const ex = exampleFromRow(
      { i: "Sum", x: "1 2", o: "3", s: "Be terse" },
      {
        kind: "columns",
        userCol: "i",
        inputCol: "x",
        assistantCol: "o",
        systemCol: "s",
      },
    );
    expect(ex).toEqual({
      kind: "chat",
      messages: [
        { role: "system", content: "Be terse" },
        { role: "user", content: "Sum\n\n1 2" },
        { role: "assistant", content: "3" },
      ],
    });
  });

  it("an input that is not a string is INVALID_CONTENT naming the row and column; the column is read and checked", () => {
    const e = errorOf(() => exampleFromRow({ instruction: "a", input: 7, output: "b" }, shape, 4));
    expect(e.code).toBe("INVALID_CONTENT");
    expect(e.row).toBe(4);
    expect(e.column).toBe("input");
    expect(e.message).toMatch(/expected a string or null, got a number/);
    expect(() => checkShapeColumns(shape, ["instruction", "output"])).toThrow(/no column "input"/);
    expect(() => checkShapeColumns(shape, ["instruction", "input", "output"])).not.toThrow();
  });
});
