import type { InputShape } from "@logitpack/chat";
import { SamplerError } from "./errors.js";

/** What `detectInputShape` found, for the start-of-run report. */
export interface DetectedShape {
  shape: InputShape;
  /** One line: which columns hold the conversation and how they are read. */
  description: string;
  /** Columns that look like part of the conversation but are not read (say so to the user). */
  unused: string[];
}

const MESSAGE_COLUMNS = ["messages", "conversations", "conversation", "chat", "dialogue"];
/** [user column, assistant column] pairs, in order of preference. */
const PAIRS: [string, string][] = [
  ["prompt", "response"],
  ["prompt", "completion"],
  ["instruction", "output"],
  ["instruction", "response"],
  ["question", "answer"],
  ["query", "response"],
  ["input", "output"],
];

/**
 * The conversation columns of a dataset by the usual names: a messages column (`messages`, `conversations`
 * (ShareGPT `from`/`value` messages are read too), ...), else a user/assistant pair (`prompt`/`response`,
 * `prompt`/`completion`, `instruction`/`output`, `question`/`answer`, ...), with a `system` column when there is one
 * and, after `instruction`, an Alpaca `input` column (read as the shape's `inputCol`).
 * `firstRow` (optional) tells role/content messages from ShareGPT ones in the description. Throws
 * `MISSING_COLUMN` listing the columns when nothing matches.
 */
export function detectInputShape(
  columns: readonly string[],
  options: { systemPrompt?: string; firstRow?: Record<string, unknown> } = {},
): DetectedShape {
  const has = new Set(columns);
  const system = options.systemPrompt !== undefined ? { systemPrompt: options.systemPrompt } : {};
  for (const c of MESSAGE_COLUMNS) {
    if (has.has(c)) {
      const first = options.firstRow?.[c];
      const m = Array.isArray(first) ? (first[0] as Record<string, unknown> | undefined) : undefined;
      const kind =
        m && typeof m === "object" && "from" in m && "value" in m
          ? " (ShareGPT from/value messages)"
          : m && typeof m === "object" && "role" in m
            ? " (role/content messages)"
            : "";
      return {
        shape: { kind: "messages", column: c, ...system },
        description: `messages column "${c}"${kind}`,
        unused: [],
      };
    }
  }
  for (const [user, assistant] of PAIRS) {
    if (has.has(user) && has.has(assistant)) {
      const systemCol = has.has("system") && options.systemPrompt === undefined ? "system" : undefined;
      // Alpaca: `input` extends the instruction (`instruction + "\n\n" + input` when non-empty; @logitpack/chat)
      const inputCol = user === "instruction" && has.has("input") ? "input" : undefined;
      return {
        shape: {
          kind: "columns",
          userCol: user,
          ...(inputCol ? { inputCol } : {}),
          assistantCol: assistant,
          ...(systemCol ? { systemCol } : {}),
          ...system,
        },
        description: `user column "${user}"${inputCol ? ` + "${inputCol}"` : ""}, assistant column "${assistant}"${systemCol ? `, system column "${systemCol}"` : ""}`,
        unused: [],
      };
    }
  }
  throw new SamplerError(
    "MISSING_COLUMN",
    `cannot tell which columns hold the conversation; its columns are: ${columns.map((c) => JSON.stringify(c)).join(", ")} (pass --messages-col, or --user-col and --assistant-col)`,
    { flag: "--dataset" },
  );
}
