/**
 * Templates chosen from config.json's `model_type` for the model families with a built-in since Gemma 2, Mistral and
 * Qwen3-Instruct-2507 got theirs (their renders are checked against transformers in @logitpack/chat's conformance
 * goldens): the choice is announced with its reason, and a type no built-in covers is refused naming the option.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ExtractionError } from "../src/lib/errors.js";
import type { LengthsEvent } from "../src/lib/events.js";
import { runLengths } from "../src/lib/lengths.js";
import { modelFolder as helperModelFolder } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "logitpack-cli-template-models-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dataset = join(dir, "chats.jsonl");
writeFileSync(
  dataset,
  `${JSON.stringify({
    messages: [
      { role: "user", content: "2+2?" },
      { role: "assistant", content: " 4." },
    ],
  })}\n`,
);

/** A model folder with the tiny model's tokenizer, the given model_type and chat template. */
function modelFolder(name: string, modelType: string, template: string): string {
  const special = { bos_token: "<|endoftext|>", eos_token: "<|im_end|>" };
  return helperModelFolder(dir, name, modelType, { chat_template: template, ...special });
}

async function notices(model: string, out: string): Promise<string[]> {
  const events: LengthsEvent[] = [];
  await runLengths(
    { model: { id: model }, dataset: { id: dataset }, output: { file: join(dir, out) }, runtime: { numProc: 1 } },
    { onEvent: (e) => events.push(e) },
  );
  return events.flatMap((e) => (e.event === "notice" && e.kind === "chat-template" ? [e.message] : []));
}

describe("chat template chosen from model_type (Mistral, Qwen3-Instruct-2507; no built-in)", () => {
  it("model_type mistral with another Mistral template: built-in mistral-nemo, and the notice says the texts differ", async () => {
    const v01 =
      "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + " +
      "' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + ' ' }}{% endif %}{% endfor %}";
    const [message] = await notices(modelFolder("mistral", "mistral", v01), "mistral.parquet");
    expect(message).toContain("built-in mistral-nemo");
    expect(message).toContain("several template generations");
  }, 60_000);

  it("model_type qwen3 with a template without enable_thinking: built-in qwen3-instruct-2507", async () => {
    const [message] = await notices(modelFolder("instruct", "qwen3", "{{ messages }}"), "instruct.parquet");
    expect(message).toContain("built-in qwen3-instruct-2507");
  }, 60_000);

  it("a model type no built-in covers is refused naming the option and the built-ins", async () => {
    let error: ExtractionError | undefined;
    try {
      await runLengths(
        {
          model: { id: modelFolder("phi3", "phi3", "{{ messages }}") },
          dataset: { id: dataset },
          output: { file: join(dir, "phi3.parquet") },
          runtime: { numProc: 1 },
        },
        { optionName: (o) => (o === "chat.template" ? "--chat-template" : o) },
      );
    } catch (e) {
      error = e as ExtractionError;
    }
    expect([error?.code, error?.option]).toEqual(["NOTHING_TO_DO", "chat.template"]);
    expect(error?.message).toContain('model_type "phi3"');
    expect(error?.hint).toContain("gemma2, mistral-nemo");
  }, 60_000);
});
