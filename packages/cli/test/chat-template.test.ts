/**
 * Without `chat.template`, a model folder gets the built-in chosen from its config.json `model_type` and its
 * tokenizer's template (reported as a `chat-template` notice), or a clear refusal naming the option.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ExtractionError } from "../src/lib/errors.js";
import type { LengthsEvent } from "../src/lib/events.js";
import { runLengths } from "../src/lib/lengths.js";
import { modelFolder as helperModelFolder } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "logitpack-cli-template-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dataset = join(dir, "chats.jsonl");
writeFileSync(
  dataset,
  `${[
    {
      messages: [
        { role: "user", content: "2+2?" },
        { role: "assistant", content: " 4." },
      ],
    },
    {
      messages: [
        { role: "user", content: "Hi" },
        { role: "assistant", content: "<think>\nx\n</think>\n\nHello." },
      ],
    },
  ]
    .map((r) => JSON.stringify(r))
    .join("\n")}\n`,
);

function modelFolder(name: string, modelType: string, template?: string): string {
  return helperModelFolder(dir, name, modelType, template === undefined ? undefined : { chat_template: template });
}

describe("chat template chosen from the model", () => {
  it("the stock Qwen3 template and model_type qwen3 get the built-in qwen3, announced once", async () => {
    const events: LengthsEvent[] = [];
    const result = await runLengths(
      {
        model: { id: modelFolder("qwen3", "qwen3") },
        dataset: { id: dataset },
        output: { file: join(dir, "lengths.parquet") },
        runtime: { numProc: 1 },
      },
      { onEvent: (e) => events.push(e) },
    );
    const notices = events.filter((e) => e.event === "notice" && e.kind === "chat-template");
    expect(notices).toHaveLength(1);
    expect((notices[0] as { message: string }).message).toContain("built-in qwen3");
    expect((notices[0] as { message: string }).message).toContain("stock qwen3 template");
    expect(result.rows).toBe(2);
  }, 60_000);

  it("--tools-col: each row's tools reach its template (longer rows), and the input shape records the column", async () => {
    const tools = [{ type: "function", function: { name: "get_weather", parameters: { celsius: { default: 21.0 } } } }];
    const file = join(dir, "tools.jsonl");
    writeFileSync(
      file,
      `${[JSON.stringify(tools), null]
        .map((t) =>
          JSON.stringify({
            messages: [
              { role: "user", content: "Weather?" },
              { role: "assistant", content: "Sunny." },
            ],
            tools: t,
          }),
        )
        .join("\n")}\n`,
    );
    const run = (toolsCol?: string) =>
      runLengths({
        dataset: { id: file, ...(toolsCol ? { toolsCol } : {}) },
        output: { file: join(dir, `lengths-${toolsCol ?? "none"}.parquet`) },
        runtime: { numProc: 1 },
      });
    const [withTools, without] = [await run("tools"), await run()];
    expect(withTools.rows).toBe(2);
    expect(withTools.tokens).toBeGreaterThan(without.tokens + 50);
    let error: ExtractionError | undefined;
    try {
      await runLengths(
        { dataset: { id: file, toolsCol: "tool_list" }, output: { file: join(dir, "x.parquet") } },
        { optionName: (o) => (o === "dataset.toolsCol" ? "--tools-col" : o) },
      );
    } catch (e) {
      error = e as ExtractionError;
    }
    expect(error?.message).toContain("--tools-col");
    expect(error?.message).toContain('no column "tool_list"');
  }, 60_000);
});
