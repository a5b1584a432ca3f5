/**
 * Mask computation overhead over plain tokenization, Qwen3 tokenizer, built-in `qwen` template.
 * Corpus: 2 M characters of deterministic synthetic Markdown (bench/corpus.ts: prose, lists, code, ~2 % non-ASCII),
 * cut into conversations of a user question (<= 400 chars) and an assistant answer (2-6 KB).
 * Run: pnpm --filter @logitpack/chat bench
 */
import { assistantMaskFromSpans, ChatEncoder, type Example, resolveChatTemplate } from "../src/index.js";
import { loadTokenizer } from "../src/node.js";
import { QWEN3_DIR } from "../test/qwen.js";
import { syntheticCorpus } from "./corpus.js";

const t0 = performance.now();
const tok = loadTokenizer(QWEN3_DIR, { name: "Qwen3" });
const loadMs = performance.now() - t0;
const encoder = new ChatEncoder({ tokenizer: tok, template: resolveChatTemplate({ builtin: "qwen" }) });

const corpus = [syntheticCorpus(2_000_000, 1)];
const examples: Example[] = [];
for (const text of corpus) {
  for (let at = 0; at + 1000 < text.length; ) {
    const len = 2000 + ((at * 7919) % 4000);
    examples.push({
      kind: "chat",
      messages: [
        { role: "user", content: text.slice(at, at + 400) },
        { role: "assistant", content: text.slice(at + 400, at + 400 + len) },
      ],
    });
    at += 400 + len;
  }
}
const rendered = examples.map((e) => encoder.render(e));

interface Case {
  label: string;
  fn: () => number;
  best: number;
  tokens: number;
}

/** Runs the cases interleaved (A B C D, A B C D, ...) so caches, JIT and machine noise hit all alike; best of N. */
function race(cases: Case[], rounds: number): void {
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      const s = performance.now();
      c.tokens = c.fn();
      c.best = Math.min(c.best, performance.now() - s);
    }
  }
  for (const c of cases) {
    console.log(
      `${c.label.padEnd(58)} ${c.best.toFixed(0).padStart(6)} ms  ${((c.tokens / c.best) * 1000).toFixed(0).padStart(8)} tokens/s`,
    );
  }
}

const chars = rendered.reduce((n, r) => n + r.text.length, 0);
console.log(
  `Qwen3 tokenizer load ${loadMs.toFixed(0)} ms; ${examples.length} conversations, ${(chars / 1e6).toFixed(2)} M chars`,
);
const mk = (label: string, fn: () => number): Case => ({ label, fn, best: Number.POSITIVE_INFINITY, tokens: 0 });
const plain = mk("plain tokenization (encode)", () => {
  let n = 0;
  for (const r of rendered) {
    n += tok.encode(r.text).length;
  }
  return n;
});
const masked = mk("tokenize + offsets (byte-checked) + assistant mask", () => {
  let n = 0;
  for (const r of rendered) {
    const t = tok.encodeWithOffsets(r.text);
    assistantMaskFromSpans(t.offsets, r.spans, t.ids.length);
    n += t.ids.length;
  }
  return n;
});
const renderPlain = mk("render template + plain tokenization", () => {
  let n = 0;
  for (const e of examples) {
    n += tok.encode(encoder.render(e).text).length;
  }
  return n;
});
const full = mk("ChatEncoder.encode (render + tokenize + offsets + mask)", () => {
  let n = 0;
  for (const e of examples) {
    n += encoder.encode(e).ids.length;
  }
  return n;
});
race([plain, masked, renderPlain, full], Number(process.env.ROUNDS ?? 5));
const pct = (a: number, b: number) => `${(((a - b) / b) * 100).toFixed(1)}%`;
console.log(`mask overhead over plain tokenization: ${pct(masked.best, plain.best)} (target <= 30%)`);
console.log(`end-to-end overhead (with rendering on both sides): ${pct(full.best, renderPlain.best)}`);
