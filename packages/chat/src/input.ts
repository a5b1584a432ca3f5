import { ChatError } from "./errors.js";
import { PyFloat, parseJsonPython } from "./python-jinja.js";
import type { ChatMessage } from "./template.js";

/** How a dataset row becomes an example. Plain data: the CLI builds it from flags and metadata records it. */
export type InputShape =
  /** A column holding a list of `{role, content}` (or ShareGPT `{from, value}`) messages; any number of turns. */
  | { kind: "messages"; column: string; systemPrompt?: string; templateKwargColumns?: Record<string, string> }
  /** One user and one assistant column (`--user-col`, `--assistant-col`), optional system column or prompt. */
  | {
      kind: "columns";
      userCol: string;
      /**
       * An extra user column (`--input-col`; Alpaca's `input`): when a row holds a non-empty string there, the user
       * turn is `userCol + "\n\n" + inputCol`, else `userCol` alone (see `alpacaUserTurn`).
       */
      inputCol?: string;
      assistantCol: string;
      systemCol?: string;
      systemPrompt?: string;
      /** Per-row template variables: variable name -> column (`{ tools: "tools" }` for `--tools-col tools`). */
      templateKwargColumns?: Record<string, string>;
    }
  /** Base model, whole text: every token of the column gets logits. */
  | { kind: "text"; textCol: string }
  /** Base model, prompt + response: the text is `prompt + separator + response`; only the response is masked. */
  | { kind: "completion"; promptCol: string; responseCol: string; separator?: string };

/** One example ready to encode. */
export type Example =
  /** `templateKwargs`: this row's template variables (`tools`, `documents`, `enable_thinking`, ...). */
  | { kind: "chat"; messages: ChatMessage[]; templateKwargs?: Record<string, unknown> }
  | { kind: "text"; text: string }
  | { kind: "completion"; prompt: string; response: string };

/** The columns a shape reads. */
export function shapeColumns(shape: InputShape): string[] {
  switch (shape.kind) {
    case "messages":
      return [shape.column, ...Object.values(shape.templateKwargColumns ?? {})];
    case "columns":
      return [
        shape.userCol,
        ...(shape.inputCol === undefined ? [] : [shape.inputCol]),
        shape.assistantCol,
        ...(shape.systemCol === undefined ? [] : [shape.systemCol]),
        ...Object.values(shape.templateKwargColumns ?? {}),
      ];
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
 * Turns a row into an example: reads the shape's columns as they are (no Unicode normalization: the tokenizer's
 * own normalizer runs per section, as in transformers) and rejects content holding the generation sentinels
 * (U+FDD0/U+FDD1) or unpaired surrogates (`INVALID_CONTENT`).
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
      const user = text(shape.userCol);
      const extra = shape.inputCol === undefined ? undefined : optionalText(row[shape.inputCol], ctx(shape.inputCol));
      messages.push({ role: "user", content: alpacaUserTurn(user, extra) });
      messages.push({ role: "assistant", content: text(shape.assistantCol) });
      return withKwargs({ kind: "chat", messages }, row, shape.templateKwargColumns, rowIndex);
    }
    case "messages": {
      const messages = normalizeMessages(get(shape.column), ctx(shape.column));
      if (shape.systemPrompt !== undefined && shape.systemPrompt !== "" && messages[0]?.role !== "system") {
        messages.unshift({ role: "system", content: cleanText(shape.systemPrompt, ctx("systemPrompt")) });
      }
      return withKwargs({ kind: "chat", messages }, row, shape.templateKwargColumns, rowIndex);
    }
  }
}

/**
 * The user turn of an Alpaca-style row: the instruction, then a blank line and the input when there is one (a
 * non-empty string; a missing, null or empty input leaves the instruction alone). This is how the Alpaca prompt
 * separates the two (stanford_alpaca's `PROMPT_DICT`: `"### Instruction:\n{instruction}\n\n### Input:\n{input}"`, the
 * input block only when `input != ""`; torchtune's `AlpacaToMessages` and xtuner's `alpaca_map_fn` keep that rule),
 * without the Alpaca headers, which belong to no chat template. Others differ: LLaMA-Factory's
 * `AlpacaDatasetConverter` joins instruction and input with one "\n"; FastChat's `convert_alpaca` with
 * `"\nInput:\n"`; TRL's `SFTTrainer` has no Alpaca conversion (it takes messages or prompt/completion datasets).
 */
export function alpacaUserTurn(instruction: string, input: string | undefined): string {
  return input === undefined || input === "" ? instruction : `${instruction}\n\n${input}`;
}

/** An optional text column's value: missing or null is none; a string is cleaned; anything else is an error. */
function optionalText(v: unknown, context: { column?: string; row?: number }): string | undefined {
  if (v === undefined || v === null) {
    return undefined;
  }
  if (typeof v !== "string") {
    throw new ChatError("INVALID_CONTENT", `expected a string or null, got ${describe(v)}`, context);
  }
  return cleanText(v, context);
}

function withKwargs(
  example: { kind: "chat"; messages: ChatMessage[]; templateKwargs?: Record<string, unknown> },
  row: Record<string, unknown>,
  columns: Record<string, string> | undefined,
  rowIndex: number | undefined,
): Example {
  if (columns !== undefined && Object.keys(columns).length > 0) {
    example.templateKwargs = templateKwargsFromRow(row, columns, rowIndex);
  }
  return example;
}

/**
 * This row's template variables from the columns that hold them (`{ tools: "tools" }`). A JSON string is parsed
 * (keeping floats such as `21.0`); `null` passes as Python's `None` (what transformers passes for `tools=None`).
 */
export function templateKwargsFromRow(
  row: Record<string, unknown>,
  columns: Record<string, string>,
  rowIndex?: number,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, column] of Object.entries(columns)) {
    if (!Object.hasOwn(row, column)) {
      throw missingColumn(column, Object.keys(row));
    }
    const context = rowIndex === undefined ? { column } : { column, row: rowIndex };
    let v = row[column];
    if (typeof v === "string" && /^\s*[[{]/.test(v)) {
      try {
        v = parseJsonPython(v);
      } catch {
        throw new ChatError("INVALID_CONTENT", `template variable ${name} is a string that is not JSON`, context);
      }
    }
    out[name] = v === undefined ? null : deepClean(v, context);
  }
  return out;
}

/**
 * Validates a list of messages: `{role, content}` objects (extra fields kept) or ShareGPT `{from, value}` (roles
 * human/gpt/system mapped to user/assistant/system). A JSON string is parsed keeping Python's int/float
 * distinction (`21.0` stays a float, as `json.loads` gives). `content: null` (or missing) is refused with
 * `INVALID_MESSAGES` naming the row and the message: transformers renders it as `None` or raises, depending on the
 * template, and neither is a useful training example.
 */
export function normalizeMessages(value: unknown, context: { column?: string; row?: number } = {}): ChatMessage[] {
  let list = value;
  if (typeof list === "string") {
    try {
      list = parseJsonPython(list);
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
      throw new ChatError(
        "INVALID_MESSAGES",
        `message ${i} (${role}) has ${content === null ? "null" : "no"} content; expected a string ` +
          "(transformers would render None or fail, depending on the template)",
        context,
      );
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

/** Returns `text` unchanged after rejecting what cannot be tokenized faithfully (sentinels, lone surrogates). */
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
  return text;
}

function deepClean(v: unknown, context: { column?: string; row?: number }): unknown {
  if (typeof v === "string") {
    return cleanText(v, context);
  }
  if (Array.isArray(v)) {
    return v.map((x) => deepClean(x, context));
  }
  if (v instanceof PyFloat) {
    return v;
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
