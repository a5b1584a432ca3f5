import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "./helpers.js";

const root = join(import.meta.dirname, "..");
const committed = join(root, "data", "sample-chats.jsonl");

describe("the bundled sample dataset", () => {
  it("is what the generator writes (deterministic), well under 1 MB", () => {
    const tmp = tempDir();
    try {
      const out = join(tmp.dir, "chats.jsonl");
      execFileSync(process.execPath, ["--import", "tsx", join(root, "scripts", "sample-data.ts"), out], { cwd: root });
      expect(readFileSync(out).equals(readFileSync(committed))).toBe(true);
    } finally {
      tmp.cleanup();
    }
    expect(readFileSync(committed).length).toBeLessThan(1_000_000);
  });

  it("holds a few hundred single- and multi-turn conversations with subjects", () => {
    const rows = readFileSync(committed, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { subject: string; messages: { role: string; content: string }[] });
    expect(rows.length).toBe(300);
    const turns = rows.map((r) => r.messages.filter((m) => m.role === "assistant").length);
    expect(turns.filter((t) => t === 1).length).toBeGreaterThan(100);
    expect(turns.filter((t) => t > 1).length).toBeGreaterThan(50);
    expect(new Set(rows.map((r) => r.subject)).size).toBeGreaterThanOrEqual(12);
    for (const r of rows) {
      expect(r.messages.at(-1)?.role).toBe("assistant");
      expect(r.messages.every((m) => typeof m.content === "string" && m.content.length > 0)).toBe(true);
    }
  });
});
