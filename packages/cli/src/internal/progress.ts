import type { Output } from "./output.js";

export interface ProgressState {
  /** Samples done by this run. */
  done: number;
  /** Samples this run has to do (after resume). */
  total: number;
  /** Tokens run through the teacher by this run. */
  tokens: number;
  /** Assistant positions extracted by this run. */
  positions: number;
  /** An upload is running (the seed's ⬆). */
  uploading: boolean;
  shards: number;
}

/**
 * The extraction progress bar on stderr: `█████░░░ 120/300 samples 41.0 samples/s 9.8k tok/s ETA 0:04 ⬆`.
 * Redrawn at most every 100 ms on a terminal; elsewhere (logs, CI) one plain line every 10 s; with --json one
 * `progress` event per second on stdout. Nothing with --quiet.
 */
export class ProgressBar {
  readonly #out: Output;
  readonly #label: string;
  readonly #t0 = performance.now();
  #state: ProgressState = { done: 0, total: 0, tokens: 0, positions: 0, uploading: false, shards: 0 };
  #lastDraw = 0;
  #lastLine = 0;
  #lastEvent = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(out: Output, label: string) {
    this.#out = out;
    this.#label = label;
    out.onRedraw(() => this.draw(true));
    if (out.interactive) {
      // keeps the ETA and the upload marker fresh while a long batch runs
      this.#timer = setInterval(() => this.draw(true), 500);
      this.#timer.unref();
    }
  }

  /** New figures; `force` draws (and emits the JSON event) now, e.g. when an upload starts or ends. */
  update(state: Partial<ProgressState>, force = false): void {
    this.#state = { ...this.#state, ...state };
    this.draw(force);
  }

  get state(): ProgressState {
    return { ...this.#state };
  }

  /** Seconds since the bar was created. */
  get seconds(): number {
    return (performance.now() - this.#t0) / 1000;
  }

  rates(): { samplesPerSecond: number; tokensPerSecond: number; etaSeconds: number | undefined } {
    const s = Math.max(this.seconds, 1e-3);
    const samplesPerSecond = this.#state.done / s;
    const left = this.#state.total - this.#state.done;
    return {
      samplesPerSecond,
      tokensPerSecond: this.#state.tokens / s,
      etaSeconds: samplesPerSecond > 0 ? left / samplesPerSecond : undefined,
    };
  }

  line(color = true, columns = this.#out.stderr.columns || 100): string {
    const st = this.#state;
    const e = color ? this.#out.err : undefined;
    const { samplesPerSecond, tokensPerSecond, etaSeconds } = this.rates();
    const frac = st.total > 0 ? Math.min(1, st.done / st.total) : 0;
    const pct = `${Math.floor(frac * 100)}%`.padStart(4);
    const upload = st.uploading ? (e ? e.yellow("⬆") : "⬆") : " ";
    const text = [
      `${st.done}/${st.total} samples`,
      `${samplesPerSecond.toFixed(1)} samples/s`,
      `${formatCount(tokensPerSecond)} tok/s`,
      `ETA ${etaSeconds === undefined ? "?" : formatDuration(etaSeconds)}`,
    ].join("  ");
    // the bar takes what the terminal leaves, so that the figures and the upload marker are never cut
    const fixed = this.#label.length + 1 + pct.length + 1 + 2 + 2 + text.length;
    const width = Math.max(8, Math.min(30, columns - 3 - fixed));
    const full = Math.round(frac * width);
    const bar = `${"█".repeat(full)}${"░".repeat(width - full)}`;
    return `${this.#label} ${pct} ${e ? e.cyan(bar) : bar} ${upload}  ${text}`;
  }

  draw(force: boolean): void {
    const now = performance.now();
    const out = this.#out;
    if (out.json && (force || now - this.#lastEvent >= 1000)) {
      this.#lastEvent = now;
      const r = this.rates();
      out.event({ event: "progress", ...this.#state, ...r, seconds: this.seconds });
    }
    if (out.quiet) {
      return;
    }
    if (out.interactive) {
      if (force || now - this.#lastDraw >= 100) {
        this.#lastDraw = now;
        out.status(this.line());
      }
    } else if (now - this.#lastLine >= 10_000) {
      this.#lastLine = now;
      out.stderr.write(`${this.line(false)}\n`);
    }
  }

  /** Final state drawn, the bar removed from the terminal, timers stopped. */
  finish(): void {
    if (this.#timer) {
      clearInterval(this.#timer);
    }
    this.#out.onRedraw(undefined);
    this.#out.clearStatus();
  }
}

export function formatCount(n: number): string {
  if (n >= 1e6) {
    return `${(n / 1e6).toFixed(1)}M`;
  }
  if (n >= 1e3) {
    return `${(n / 1e3).toFixed(1)}k`;
  }
  return n.toFixed(0);
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(sec).padStart(2, "0")}`;
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) {
    return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  }
  if (n >= 1024 ** 2) {
    return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  }
  if (n >= 1024) {
    return `${(n / 1024).toFixed(1)} KiB`;
  }
  return `${n} B`;
}
