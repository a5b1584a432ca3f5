import { ChatError } from "./errors.js";
import type { ChatMessage } from "./template.js";

/** How a dataset row becomes an example. Plain data: the CLI builds it from flags and metadata records it. */
export type InputShape =
  /** A column holding a list of `{role, content}` (or ShareGPT `{from, value}`) messages; any number of turns. */
  | { kind: "messages"; column: string; systemPrompt?: string }
  /** One user and one assistant column (`--user-col`, `--assistant-col`), optional system column or prompt. */
  | { kind: "columns"; userCol: string; assistantCol: string; systemCol?: string; systemPrompt?: string }
  /** Base model, whole text: every token of the column gets logits. */
  | { kind: "text"; textCol: string }
  /** Base model, prompt + response: the text is `prompt + separator + response`; only the response is masked. */
  | { kind: "completion"; promptCol: string; responseCol: string; separator?: string };

/** One example ready to encode. */
export type Example =
  | { kind: "chat"; messages: ChatMessage[] }
  | { kind: "text"; text: string }
  | { kind: "completion"; prompt: string; response: string };

/** The columns a shape reads. */
export function shapeColumns(shape: InputShape): string[] {
  switch (shape.kind) {
    case "messages":
      return [shape.column];
    case "columns":
      return shape.systemCol === undefined
        ? [shape.userCol, shape.assistantCol]
        : [shape.userCol, shape.assistantCol, shape.systemCol];
    case "text":
      return [shape.textCol];
    case "completion":
      return [shape.promptCol, shape.responseCol];
  }
}

/**
 * Throws `MISSING_COLUMN` when the dataset lacks a column the shape reads; the message names it and lists the
 * columns that exist (call it once with the schema's column names before reading rows).
 */
export function checkShapeColumns(
  shape: InputShape,
  columns: readonly string[],
  flagOf?: (column: string) => string | undefined,
): void {
  const have = new Set(columns);
  for (const c of shapeColumns(shape)) {
    if (!have.has(c)) {
      throw missingColumn(c, columns, flagOf?.(c));
    }
  }
}

/** The error for a missing column: names it and lists the columns that exist. */
export function missingColumn(column: string, columns: readonly string[], flag?: string): ChatError {
  return new ChatError(
    "MISSING_COLUMN",
    `no column "${column}" in the dataset; its columns are: ${columns.map((c) => JSON.stringify(c)).join(", ")}`,
    flag === undefined ? { column } : { column, flag },
  );
}

const SHAREGPT_ROLES: Record<string, string> = {
  human: "user",
  user: "user",
  gpt: "assistant",
  assistant: "assistant",
  system: "system",
  tool: "tool",
  function_call: "assistant",
  observation: "tool",
};

/**
 * Turns a row into an example: reads the shape's columns, normalizes every string to NFC and rejects content
 * holding the generation sentinels (U+FDD0/U+FDD1) or unpaired surrogates (`INVALID_CONTENT`).
 */
export function exampleFromRow(row: Record<string, unknown>, shape: InputShape, rowIndex?: number): Example {
  const get = (column: string): unknown => {
    if (!Object.hasOwn(row, column)) {
      throw missingColumn(column, Object.keys(row));
    }
    return row[column];
  };
  const ctx = (column: string) => (rowIndex === undefined ? { column } : { column, row: rowIndex });
  const text = (column: string): string => {
    const v = get(column);
    if (typeof v !== "string") {
      throw new ChatError("INVALID_CONTENT", `expected a string, got ${describe(v)}`, ctx(column));
    }
    return cleanText(v, ctx(column));
  };
  switch (shape.kind) {
    case "text":
      return { kind: "text", text: text(shape.textCol) };
    case "completion":
      return { kind: "completion", prompt: text(shape.promptCol), response: text(shape.responseCol) };
    case "columns": {
      const messages: ChatMessage[] = [];
      const system = shape.systemCol !== undefined ? text(shape.systemCol) : shape.systemPrompt;
      if (system !== undefined && system !== "") {
        messages.push({ role: "system", content: cleanText(system, ctx(shape.systemCol ?? "systemPrompt")) });
      }
      messages.push({ role: "user", content: text(shape.userCol) });
      messages.push({ role: "assistant", content: text(shape.assistantCol) });
      return { kind: "chat", messages };
    }
    case "messages": {
      const messages = normalizeMessages(get(shape.column), ctx(shape.column));
      if (shape.systemPrompt !== undefined && shape.systemPrompt !== "" && messages[0]?.role !== "system") {
        messages.unshift({ role: "system", content: cleanText(shape.systemPrompt, ctx("systemPrompt")) });
      }
      return { kind: "chat", messages };
    }
  }
}

/**
 * Validates and normalizes a list of messages: `{role, content}` objects (extra fields kept) or ShareGPT
 * `{from, value}` (roles human/gpt/system mapped to user/assistant/system). Strings are NFC-normalized.
 */
export function normalizeMessages(value: unknown, context: { column?: string; row?: number } = {}): ChatMessage[] {
  let list = value;
  if (typeof list === "string") {
    try {
      list = JSON.parse(list);
    } catch {
      throw new ChatError("INVALID_MESSAGES", "messages are a string that is not JSON", context);
    }
  }
  if (!Array.isArray(list)) {
    throw new ChatError("INVALID_MESSAGES", `expected a list of messages, got ${describe(list)}`, context);
  }
  return list.map((m, i) => {
    if (typeof m !== "object" || m === null || Array.isArray(m)) {
      throw new ChatError("INVALID_MESSAGES", `message ${i} is ${describe(m)}, not an object`, context);
    }
    const o = m as Record<string, unknown>;
    let role = o.role;
    let content = o.content;
    const out: ChatMessage = { role: "", content: "" };
    if (role === undefined && typeof o.from === "string") {
      role = SHAREGPT_ROLES[o.from] ?? o.from;
      content = o.value;
    } else {
      for (const [k, v] of Object.entries(o)) {
        if (k !== "role" && k !== "content") {
          out[k] = deepClean(v, context);
        }
      }
    }
    if (typeof role !== "string" || role === "") {
      throw new ChatError("INVALID_MESSAGES", `message ${i} has no string "role" (or ShareGPT "from")`, context);
    }
    if (content === null || content === undefined) {
      content = "";
    }
    if (typeof content !== "string") {
      throw new ChatError(
        "INVALID_MESSAGES",
        `message ${i} (${role}) has ${describe(content)} content; only string content is supported`,
        context,
      );
    }
    out.role = role;
    out.content = cleanText(content, context);
    return out;
  });
}

/** NFC-normalizes `text` and rejects what cannot be tokenized faithfully. */
export function cleanText(text: string, context: { column?: string; row?: number } = {}): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xfdd1) {
      continue;
    }
    if (c === 0xfdd0 || c === 0xfdd1) {
      throw new ChatError(
        "INVALID_CONTENT",
        `content holds U+${c.toString(16).toUpperCase()} at ${i}, a sentinel reserved for generation markers`,
        context,
      );
    }
    if (c < 0xdc00) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        i++;
        continue;
      }
      throw new ChatError("INVALID_CONTENT", `content holds an unpaired surrogate at ${i}`, context);
    }
    if (c < 0xe000) {
      throw new ChatError("INVALID_CONTENT", `content holds an unpaired surrogate at ${i}`, context);
    }
  }
  return text.normalize("NFC");
}

function deepClean(v: unknown, context: { column?: string; row?: number }): unknown {
  if (typeof v === "string") {
    return cleanText(v, context);
  }
  if (Array.isArray(v)) {
    return v.map((x) => deepClean(x, context));
  }
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = deepClean(x, context);
    }
    return out;
  }
  return v;
}

function describe(v: unknown): string {
  if (v === null) {
    return "null";
  }
  if (Array.isArray(v)) {
    return "a list";
  }
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}
