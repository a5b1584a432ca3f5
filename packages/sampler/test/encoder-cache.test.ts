/** buildEncoder reuses the last tokenizer while its folder's files are unchanged, and reloads when they change. */
import { copyFileSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildEncoder } from "../src/measure.js";
import { QWEN3_DIR, tempDir } from "./fixtures.js";

const shape = { kind: "columns", userCol: "q", assistantCol: "a" } as const;

describe("buildEncoder's tokenizer", () => {
  it("is loaded once for the same unchanged folder, again when a file changes or another folder is used", () => {
    const dir = tempDir();
    for (const f of ["tokenizer.json", "tokenizer_config.json"]) {
      copyFileSync(join(QWEN3_DIR, f), join(dir, f));
    }
    const first = buildEncoder({ tokenizerDir: dir, chatTemplate: "qwen" }, shape);
    const second = buildEncoder({ tokenizerDir: dir, chatTemplate: "qwen" }, shape);
    expect(second.tokenizer).toBe(first.tokenizer);
    expect(second).not.toBe(first);

    // the tokenizer's own template changes: a new tokenizer that has it
    const configFile = join(dir, "tokenizer_config.json");
    const config = JSON.parse(readFileSync(configFile, "utf8"));
    config.chat_template = "{% for m in messages %}{% generation %}{{ m.content }}{% endgeneration %}{% endfor %}";
    writeFileSync(configFile, JSON.stringify(config));
    utimesSync(configFile, new Date(), new Date(Date.now() + 5_000));
    const changed = buildEncoder({ tokenizerDir: dir }, shape);
    expect(changed.tokenizer).not.toBe(first.tokenizer);
    expect(changed.tokenizer.config.chat_template).toBe(config.chat_template);
    expect(first.tokenizer.config.chat_template).not.toBe(config.chat_template);

    // a chat_template.jinja appears next to it: read again
    writeFileSync(join(dir, "chat_template.jinja"), "{{ messages[0].content }}");
    expect(buildEncoder({ tokenizerDir: dir }, shape).tokenizer).not.toBe(changed.tokenizer);

    // another folder, then back: each is loaded
    const other = buildEncoder({ tokenizerDir: QWEN3_DIR, chatTemplate: "qwen" }, shape);
    expect(other.tokenizer.name).toBe(QWEN3_DIR);
    expect(other.tokenizer).not.toBe(changed.tokenizer);
  });
});
