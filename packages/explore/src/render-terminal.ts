import type { AlignedToken, Alignment } from "./align.js";
import type { FidelityReport } from "./fidelity.js";
import type { Summary } from "./internal/summary.js";
import { type PositionDistribution, SOURCE_SAMPLED } from "./position.js";
import type { SampleInfo } from "./sample-info.js";
import type { DatasetStats, MassStats } from "./stats.js";

/** How to draw for a terminal. The CLI derives it with `terminalOptions` (`@logitpack/explore/node`). */
export interface TerminalOptions {
  /** ANSI colours (false under `NO_COLOR`, when not a TTY, or `TERM=dumb`). */
  color: boolean;
  /** Columns available (default 80). */
  width: number;
}

const DEFAULTS: TerminalOptions = { color: false, width: 80 };

/** ANSI 256-colour foreground for a probability: red (unlikely) through yellow to green (likely). */
export function probabilityColor(p: number): number {
  if (!(p >= 0)) {
    return 196;
  }
  if (p >= 0.9) {
    return 40;
  }
  if (p >= 0.6) {
    return 112;
  }
  if (p >= 0.3) {
    return 220;
  }
  if (p >= 0.1) {
    return 208;
  }
  return 196;
}

const paint = (o: TerminalOptions, code: string, s: string) => (o.color ? `\x1b[${code}m${s}\x1b[0m` : s);
const fg = (o: TerminalOptions, c: number, s: string) => paint(o, `38;5;${c}`, s);
const dim = (o: TerminalOptions, s: string) => paint(o, "2;38;5;244", s);
const bold = (o: TerminalOptions, s: string) => paint(o, "1", s);

/** Terminal cells a string takes (wide East Asian characters and emoji count 2, combining marks 0). */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (
      c < 32 ||
      (c >= 0x7f && c < 0xa0) ||
      (c >= 0x300 && c < 0x370) ||
      c === 0x200d ||
      (c >= 0xfe00 && c <= 0xfe0f)
    ) {
      continue;
    }
    w += isWide(c) ? 2 : 1;
  }
  return w;
}

function isWide(c: number): boolean {
  return (
    (c >= 0x1100 && c <= 0x115f) ||
    (c >= 0x2e80 && c <= 0xa4cf) ||
    (c >= 0xac00 && c <= 0xd7a3) ||
    (c >= 0xf900 && c <= 0xfaff) ||
    (c >= 0xfe30 && c <= 0xfe4f) ||
    (c >= 0xff00 && c <= 0xff60) ||
    (c >= 0xffe0 && c <= 0xffe6) ||
    (c >= 0x1f300 && c <= 0x1faff) ||
    (c >= 0x20000 && c <= 0x3fffd)
  );
}

/** Cuts a string to `width` cells, with an ellipsis when cut. */
export function truncate(s: string, width: number): string {
  if (displayWidth(s) <= width) {
    return s;
  }
  let out = "";
  let w = 0;
  for (const ch of s) {
    const cw = displayWidth(ch);
    if (w + cw > width - 1) {
      break;
    }
    out += ch;
    w += cw;
  }
  return `${out}…`;
}

/**
 * Fits lines to the width: a line whose first line is bold (the title) or plain is word-wrapped, continuation lines
 * indented by two spaces. Lines holding escape codes other than a leading bold are left as they are.
 */
function fitLines(lines: readonly string[], o: TerminalOptions): string[] {
  const out: string[] = [];
  for (const line of lines) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: escape codes are what it detects
    const plain = line.replace(/\u001b\[[0-9;]*m/g, "");
    if (displayWidth(plain) <= o.width) {
      out.push(line);
      continue;
    }
    const wrapped = wrapText(plain, o.width - 2);
    wrapped.forEach((w, i) => {
      out.push(i === 0 ? (plain !== line ? bold(o, w) : w) : `  ${w}`);
    });
  }
  return out;
}

/** Word-wraps plain text (no escape codes) at `width` cells. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    const candidate = line.length === 0 ? word : `${line} ${word}`;
    if (displayWidth(candidate) <= width) {
      line = candidate;
      continue;
    }
    if (line.length > 0) {
      lines.push(line);
    }
    line = displayWidth(word) <= width ? word : truncate(word, width);
  }
  if (line.length > 0) {
    lines.push(line);
  }
  return lines;
}

function pad(s: string, width: number): string {
  return s + " ".repeat(Math.max(0, width - displayWidth(s)));
}

/** A token's text made visible: quotes, escapes for newlines and tabs (as Python's repr in the seed's display). */
export function visibleToken(text: string): string {
  return JSON.stringify(text);
}

function fmtProb(p: number): string {
  if (Number.isNaN(p)) {
    return "n/a";
  }
  return p >= 0.01 || p === 0 ? p.toFixed(2) : p.toExponential(0);
}

function fmt(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "n/a";
}

function summaryLine(s: Summary, digits = 2): string {
  return `mean ${fmt(s.mean, digits)}  median ${fmt(s.p50, digits)}  p90 ${fmt(s.p90, digits)}  p99 ${fmt(s.p99, digits)}  min ${fmt(s.min, digits)}  max ${fmt(s.max, digits)}`;
}

/** A horizontal bar of `value / max` of `width` cells (eighth blocks). */
function bar(value: number, max: number, width: number): string {
  if (!(max > 0) || width <= 0) {
    return "";
  }
  const eighths = Math.round((value / max) * width * 8);
  const full = Math.floor(eighths / 8);
  const part = eighths % 8;
  return "█".repeat(full) + (part > 0 ? ("▏▎▍▌▋▊▉"[part - 1] as string) : "");
}

/** Histogram lines: label, bar, count; at most `rows` rows (bins merged). */
function histogramLines(
  counts: readonly number[],
  label: (lo: number, hi: number) => string,
  o: TerminalOptions,
  rows = 12,
): string[] {
  const n = counts.length;
  if (n === 0) {
    return [];
  }
  const per = Math.max(1, Math.ceil(n / rows));
  const groups: { lo: number; hi: number; count: number }[] = [];
  for (let i = 0; i < n; i += per) {
    let c = 0;
    for (let j = i; j < Math.min(n, i + per); j++) {
      c += counts[j] as number;
    }
    groups.push({ lo: i, hi: Math.min(n, i + per) - 1, count: c });
  }
  const max = Math.max(...groups.map((g) => g.count));
  const labels = groups.map((g) => label(g.lo, g.hi));
  const lw = Math.max(...labels.map(displayWidth));
  const cw = Math.max(...groups.map((g) => String(g.count).length));
  const barWidth = Math.max(4, o.width - lw - cw - 4);
  return groups.map(
    (g, i) =>
      `${pad(labels[i] as string, lw)} │${pad(bar(g.count, max, barWidth), barWidth)} ${String(g.count).padStart(cw)}`,
  );
}

/** The seed's `print_sample_info`: index, tokens, nucleus sizes and masses, settings. */
export function renderSampleInfo(info: SampleInfo, options: Partial<TerminalOptions> = {}): string {
  const o = { ...DEFAULTS, ...options };
  const lines = [
    bold(o, `Sample ${info.index}${info.row !== undefined ? ` (row ${info.row})` : ""}`),
    `layout ${info.layout}, ${info.numTokens} positions, ${info.sampledPerPosition} sampled per position`,
    `nucleus size   ${summaryLine(info.summary.nucleusSize, 1)}`,
    `nucleus mass   ${summaryLine(info.summary.nucleusMass, 3)}`,
    `tail mass      ${summaryLine(info.summary.tailMass, 3)}`,
  ];
  if (info.layout !== "importance") {
    lines.push(`sampled mass   ${summaryLine(info.summary.sampledMass, 4)}`);
  }
  if (info.summary.cappedShare !== null) {
    lines.push(`capped at top_p_max: ${(info.summary.cappedShare * 100).toFixed(2)}% of positions`);
  }
  const model = info.settings.model;
  if (typeof model === "string") {
    lines.push(`model ${model}`);
  }
  const fitted = fitLines(lines, o);
  lines.length = 0;
  lines.push(...fitted);
  const max = info.summary.nucleusSize.max;
  if (Number.isFinite(max)) {
    const counts = new Array<number>(max + 1).fill(0);
    for (const s of info.nucleusSizes) {
      counts[s] = (counts[s] as number) + 1;
    }
    lines.push("", "nucleus sizes:", ...histogramLines(counts, (lo, hi) => (lo === hi ? `${lo}` : `${lo}-${hi}`), o));
  }
  return `${lines.join("\n")}\n`;
}

function massLine(name: string, m: MassStats | null): string {
  if (m === null) {
    return `${name} n/a`;
  }
  return `${name} mean ${fmt(m.mean, 4)}  p01 ${fmt(m.p01, 4)}  p10 ${fmt(m.p10, 4)}  median ${fmt(m.p50, 4)}  p90 ${fmt(m.p90, 4)}  p99 ${fmt(m.p99, 4)}  min ${fmt(m.min, 4)}  max ${fmt(m.max, 4)}`;
}

/** Dataset statistics as text, with a nucleus-size histogram. */
export function renderStats(stats: DatasetStats, options: Partial<TerminalOptions> = {}): string {
  const o = { ...DEFAULTS, ...options };
  const lines = [
    bold(o, `Dataset ${stats.name}`),
    `layout ${stats.layout}, ${stats.rows} samples, ${stats.tokens} positions, ${stats.entries} nucleus entries`,
    `nucleus size      ${summaryLine(stats.nucleusSize, 2)}`,
  ];
  if (stats.cappedShare !== null) {
    lines.push(
      `capped at ${stats.topPMax} (${stats.topPMaxSource}): ${stats.capped} positions, ${(stats.cappedShare * 100).toFixed(3)}%`,
    );
  }
  lines.push(massLine("nucleus mass     ", stats.nucleusMass), massLine("tail mass        ", stats.tailMass));
  if (stats.massUnknown > 0) {
    lines.push(`masses unknown for ${stats.massUnknown} positions (no quantization range stored)`);
  }
  lines.push(`tokens per sample ${summaryLine(stats.tokensPerSample, 0)}`);
  const fitted = fitLines(lines, o);
  lines.length = 0;
  lines.push(...fitted);
  lines.push(
    dim(o, `${stats.seconds.toFixed(2)} s, ${Math.round(stats.tokensPerSecond)} tokens/s, ${stats.workers} worker(s)`),
  );
  lines.push("", "nucleus sizes:");
  lines.push(...histogramLines(stats.nucleusSize.histogram, (lo, hi) => (lo === hi ? `${lo}` : `${lo}-${hi}`), o, 16));
  if (stats.tailMass) {
    lines.push("", "tail mass:");
    lines.push(
      ...histogramLines(
        stats.tailMass.histogram,
        (lo, hi) => `${(lo / 64).toFixed(3)}-${((hi + 1) / 64).toFixed(3)}`,
        o,
        16,
      ),
    );
  }
  return `${lines.join("\n")}\n`;
}

function tokenProbLabel(t: AlignedToken): string {
  if (t.rank > 0) {
    return fmtProb(t.prob);
  }
  return `<${fmtProb(t.probUpperBound)}`;
}

/**
 * The seed-001 token analysis: the conversation with each extracted token coloured by the probability of the real
 * token (skipped tokens greyed), then `Real Token | Extracted Predictions (Top 5)` per token.
 */
export function renderAlignment(
  alignment: Alignment,
  options: Partial<TerminalOptions> & { table?: boolean; conversation?: boolean; maxRows?: number } = {},
): string {
  const o = { ...DEFAULTS, ...options };
  const out: string[] = [];
  const s = alignment.summary;
  out.push(
    ...wrapText(
      `Sample ${alignment.index}: ${alignment.counts.total} tokens, ${alignment.counts.assistant} assistant ` +
        `(${alignment.counts.turns} turn(s)), ${alignment.counts.skipped} skipped, ${alignment.counts.extracted} with logits`,
      o.width,
    ).map((l, i) => (i === 0 ? bold(o, l) : l)),
  );
  out.push(
    ...wrapText(
      `real token: mean p ${fmt(s.meanProb)}, median ${fmt(s.medianProb)}, top-1 ${fmt(s.top1Share * 100, 1)}%, ` +
        `in nucleus ${fmt(s.inNucleusShare * 100, 1)}%, not stored ${fmt(s.notStoredShare * 100, 1)}%`,
      o.width,
    ),
  );
  for (const w of alignment.warnings) {
    out.push(...wrapText(`warning: ${w}`, o.width).map((l) => fg(o, 208, l)));
  }
  if (options.conversation !== false) {
    out.push("", bold(o, "Conversation"));
    out.push(
      ...wrapText(
        o.color
          ? "(colour: probability of the real token; grey: no logits)"
          : "(no colour: tokens with logits are shown as [token|p])",
        o.width,
      ).map((l) => dim(o, l)),
    );
    out.push(...wrapTokens(alignment.tokens, o));
  }
  if (options.table !== false) {
    const rule = "=".repeat(Math.min(o.width, 80));
    const thin = "-".repeat(Math.min(o.width, 80));
    const realW = Math.max(12, Math.min(30, Math.floor(o.width * 0.35)));
    out.push("", "Detailed Token Analysis:", rule, `${pad("Real Token", realW)} | Extracted Predictions (Top 5)`, thin);
    let rows = 0;
    for (const t of alignment.tokens) {
      if (t.kind === "prompt") {
        continue;
      }
      if (options.maxRows !== undefined && rows >= options.maxRows) {
        out.push(dim(o, `... ${alignment.counts.assistant - rows} more`));
        break;
      }
      rows++;
      const label = truncate(visibleToken(t.text), realW - 8);
      if (t.kind === "skipped") {
        out.push(dim(o, `${pad(label, realW)} | (skipped)`));
        continue;
      }
      const left = `${label} ${tokenProbLabel(t)}`;
      const preds = t.predictions.map((p) => `${visibleToken(p.text)}(${fmtProb(p.prob)})`).join(", ");
      const right = truncate(preds, Math.max(10, o.width - realW - 3));
      out.push(`${fg(o, probabilityColor(t.rank > 0 ? t.prob : 0), pad(truncate(left, realW), realW))} | ${right}`);
    }
  }
  return `${out.join("\n")}\n`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
const CONTROL = /[\u0000-\u001f\u007f]/g;

/** Conversation text wrapped at the width, tokens coloured (or bracketed without colour). */
function wrapTokens(tokens: readonly AlignedToken[], o: TerminalOptions): string[] {
  const lines: string[] = [];
  let line = "";
  let w = 0;
  const push = () => {
    lines.push(line);
    line = "";
    w = 0;
  };
  for (const t of tokens) {
    const pieces = t.text.split("\n");
    pieces.forEach((piece, k) => {
      if (k > 0) {
        push();
      }
      if (piece.length === 0) {
        return;
      }
      let shown = piece.replace(/\t/g, "  ").replace(CONTROL, "");
      if (!o.color && t.kind === "extracted") {
        shown = `[${shown}|${tokenProbLabel(t)}]`;
      }
      let cw = displayWidth(shown);
      if (w + cw > o.width && w > 0) {
        push();
      }
      while (cw > o.width) {
        const head = truncate(shown, o.width).slice(0, -1);
        lines.push(style(t, head, o));
        shown = shown.slice(head.length);
        cw = displayWidth(shown);
      }
      line += style(t, shown, o);
      w += cw;
    });
  }
  if (line.length > 0) {
    push();
  }
  return lines;
}

function style(t: AlignedToken, s: string, o: TerminalOptions): string {
  if (t.kind === "extracted") {
    return fg(o, probabilityColor(t.rank > 0 ? t.prob : 0), s);
  }
  return dim(o, s);
}

/** The fidelity report as text. */
export function renderFidelity(report: FidelityReport, options: Partial<TerminalOptions> = {}): string {
  const o = { ...DEFAULTS, ...options };
  const s = report.summary;
  const lines = [
    bold(o, `Fidelity of sample ${report.index}`) +
      ` (${report.positions.length} positions, vocabulary ${report.vocabSize})`,
    `KL(full || reconstructed)  ${summaryLine(s.kl, 5)}`,
    `nucleus mass captured      ${summaryLine(s.nucleusMassTrue, 4)}`,
    `|tail estimate error|      ${summaryLine(s.absTailError, 6)}`,
    `|logsumexp error|          ${summaryLine(s.absLogsumexpError, 6)}`,
    `max |logit error|          ${summaryLine(s.maxLogitError, 6)}`,
    `nucleus is the top ids at ${fmt(s.nucleusIsTopShare * 100, 1)}% of positions`,
  ];
  if (report.layout === "importance") {
    lines.push(`TV(weights, p)             ${summaryLine(s.weightsTv, 4)}`);
  }
  return `${fitLines(lines, o).join("\n")}\n`;
}

/**
 * The dataset card's `print_top_logits` / `print_sampled_logits`: every stored entry of one position with rank, id,
 * token text, logit and probability, nucleus and sampled tail separately, and their masses.
 */
export function renderPosition(
  d: PositionDistribution,
  options: Partial<TerminalOptions> & { decode?: (id: number) => string; limit?: number } = {},
): string {
  const o = { ...DEFAULTS, ...options };
  const lines: string[] = [];
  const section = (title: string, keep: (source: number) => boolean, mass: number) => {
    lines.push(bold(o, `=== ${title} for token ${d.position} (logsumexp=${d.logsumexp.toFixed(4)}) ===`));
    const tokenW = Math.max(8, Math.min(20, o.width - 46));
    lines.push(`${"Rank".padEnd(6)} ${"Index".padEnd(8)} ${pad("Token", tokenW)} ${"Logit".padEnd(12)} Prob %`);
    lines.push("-".repeat(Math.min(o.width, 40 + tokenW)));
    let rank = 0;
    for (let i = 0; i < d.ids.length; i++) {
      if (!keep(d.source[i] as number)) {
        continue;
      }
      if (options.limit !== undefined && rank >= options.limit) {
        lines.push(dim(o, "..."));
        break;
      }
      const id = d.ids[i] as number;
      const text = options.decode ? truncate(JSON.stringify(options.decode(id)).slice(1, -1), tokenW) : "";
      const p = d.probs[i] as number;
      lines.push(
        `${String(rank).padEnd(6)} ${String(id).padEnd(8)} ${pad(text, tokenW)} ${(d.logits[i] as number).toFixed(4).padEnd(12)} ${(p * 100).toFixed(p >= 0.001 ? 4 : 6)}`,
      );
      rank++;
    }
    lines.push(
      "",
      `Total ${title.toLowerCase().replace(/ logits$/, "")} probability mass: ${(mass * 100).toFixed(title.startsWith("Nucleus") ? 2 : 6)}%`,
    );
  };
  const drawn = d.weights !== undefined;
  section(drawn ? "Drawn logits" : "Nucleus logits", (s) => s !== SOURCE_SAMPLED, d.nucleusMass);
  if (!drawn) {
    lines.push("");
    section("Sampled logits", (s) => s === SOURCE_SAMPLED, d.sampledMass);
  }
  return `${lines.join("\n")}\n`;
}
