/**
 * How `logitpack extract` shows the library's events: lines and the progress bar on stderr, JSON lines on stdout
 * with --json (every event once; `progress` at most once per second and when an upload starts or ends).
 */
import type { ExtractionEvent, ExtractionResult } from "../lib/events.js";
import { displayPath } from "../lib/extraction.js";
import type { Output } from "./output.js";
import { formatBytes, formatCount, formatDuration, ProgressBar } from "./progress.js";

export interface RenderOptions {
  /** The bundled dataset: fewer lines (no lengths timing, no dataset summary unless something is left out). */
  embedded: boolean;
  /** `--max-runtime-minutes` as given, for the stop message. */
  maxRuntimeMinutes?: number;
  /** The command line after `logitpack`, for "go on with". */
  argv: readonly string[];
}

type Handler<K extends ExtractionEvent["event"]> = (e: Extract<ExtractionEvent, { event: K }>) => void;

export class ExtractRenderer {
  readonly #out: Output;
  readonly #options: RenderOptions;
  #bar: ProgressBar | undefined;
  readonly #handlers: { [K in ExtractionEvent["event"]]?: Handler<K> };

  constructor(out: Output, options: RenderOptions) {
    this.#out = out;
    this.#options = options;
    this.#handlers = {
      notice: (e) => out.info(e.kind === "embedded-default" ? boldPrefix(out, e.message) : e.message),
      warning: (e) => out.warn(e.message),
      "download-progress": (e) => {
        if (!e.cached) {
          const of = e.total !== undefined ? ` of ${formatBytes(e.total)}` : "";
          const speed = e.bytesPerSecond > 0 ? `, ${formatBytes(e.bytesPerSecond)}/s` : "";
          out.status(`Downloading ${e.repo} [${e.file}/${e.files}] ${e.path}: ${formatBytes(e.bytes)}${of}${speed}`);
        }
      },
      "lengths-progress": (e) => out.status(`Computing token lengths: ${e.rows} examples`),
      "lengths-computed": (e) => this.lengthsComputed(e),
      selection: (e) => this.selection(e),
      "verify-mask": (e) => this.mask(e),
      resumed: (e) => this.resumed(e),
      restarted: (e) => out.info(`--force-restart: removed ${e.removed} shard(s) of the earlier run`),
      start: (e) => this.start(e),
      progress: (e) => this.#bar?.update(e, e.uploading !== this.#bar.state.uploading),
      stopping: (e) => this.stopping(e.reason),
      "shard-uploaded": (e) => {
        if (!out.interactive) {
          out.info(`wrote ${e.path} (${e.rows} rows, ${formatBytes(e.bytes)})`);
        }
      },
      "upload-failed": (e) => out.warn(`upload of ${e.path} failed (${e.message}); kept in ${e.backup}`),
      "backup-uploaded": (e) => out.info(`uploaded ${e.path} from an earlier run's backup`),
      done: (e) => this.done(e),
      stopped: (e) => this.stopped(e),
    };
  }

  /** Shows one event (the JSON line first, except progress: the bar throttles it). */
  on(e: ExtractionEvent): void {
    // progress events are throttled (the bar, the status line); a download shows in JSON once per file, when done
    if (e.event !== "progress" && e.event !== "lengths-progress" && (e.event !== "download-progress" || e.done)) {
      if (e.event === "done" || e.event === "stopped") {
        this.finish();
      }
      this.#out.event(e);
    }
    (this.#handlers[e.event] as Handler<typeof e.event> | undefined)?.(e as never);
  }

  /** Removes the bar (after an error, or at the end). */
  finish(): void {
    this.#bar?.finish();
    this.#bar = undefined;
    this.#out.clearStatus();
  }

  private lengthsComputed(e: { rows: number; seconds: number }): void {
    this.#out.clearStatus();
    if (!this.#options.embedded || this.#out.debug) {
      this.#out.info(
        `Token lengths of ${e.rows} examples computed in ${formatDuration(e.seconds)} (pass --tokenized-dataset from 'logitpack lengths' to skip this)`,
      );
    }
  }

  private selection(st: Extract<ExtractionEvent, { event: "selection" }>): void {
    const left = [
      st.skippedTooLong > 0 ? `${st.skippedTooLong} longer than --max-seq-len` : "",
      st.skippedEmpty > 0 ? `${st.skippedEmpty} with an empty answer` : "",
      st.skippedNoLength > 0 ? `${st.skippedNoLength} without a length` : "",
      st.notSampled > 0 ? `${st.notSampled} not sampled (--limit, --sample-subject)` : "",
    ].filter(Boolean);
    if (left.length > 0 || !this.#options.embedded) {
      this.#out.info(`Dataset: ${st.total} examples${left.length > 0 ? `; left out: ${left.join(", ")}` : ""}`);
    }
  }

  private mask(e: Extract<ExtractionEvent, { event: "verify-mask" }>): void {
    this.#out.info(
      `--verify-mask: example ${e.index}: ${e.tokens} tokens, ${e.assistantTokens} in the assistant mask, ${e.extractTokens} get logits (between ⟦ ⟧):`,
    );
    this.#out.info(markedText(e.text, e.offsets, e.extractMask));
  }

  private resumed(e: Extract<ExtractionEvent, { event: "resumed" }>): void {
    if (e.done > 0 || e.pendingRows > 0) {
      this.#out.info(
        `Resuming: ${e.done} examples already done (${e.shardsChecked} shard(s) checked${e.pendingRows > 0 ? `, ${e.pendingRows} saved rows merged` : ""}${e.backups > 0 ? `, ${e.backups} backup shard(s) to upload` : ""})`,
      );
    }
  }

  private start(e: Extract<ExtractionEvent, { event: "start" }>): void {
    const where = e.outputKind === "folder" ? displayPath(e.output) : `the Hub dataset ${e.output}`;
    this.#out.info(
      `${e.selected} examples selected${e.done > 0 ? `, ${e.done} already done (resumed)` : ""}; teacher on ${e.device}; writing to ${where}`,
    );
    for (const f of e.providerFailures) {
      this.#out.info(`  ${f.provider}: not used: ${f.message.replace(/^\[inference-gpu\] (provider \w+: )?/, "")}`);
    }
    this.#bar = new ProgressBar(this.#out, "extract");
    this.#bar.update({ total: e.todo, done: 0 });
  }

  private stopping(reason: string): void {
    const why = reason === "max-runtime" ? `--max-runtime-minutes ${this.#options.maxRuntimeMinutes} reached` : reason;
    this.#out.info(`${why}: stopping after this batch and saving unwritten rows (Ctrl+C again to exit at once)`);
  }

  private stopped(r: ExtractionResult): void {
    this.#out.info(
      `Stopped (${r.reason === "max-runtime" ? "--max-runtime-minutes" : r.reason}): ${r.examples} examples this run, ${r.done} of ${r.selected} done in all; unwritten rows are saved in ${displayPath(r.cacheDir)}`,
    );
    this.#out.info(`Go on with:  ${commandLine(this.#options.argv, ["--resume"])}`);
  }

  private done(r: ExtractionResult): void {
    const out = this.#out;
    if (r.selected === 0) {
      return;
    }
    for (const w of r.warnings) {
      out.warn(w);
    }
    if (r.backups.length > 0) {
      out.warn(
        `${r.backups.length} shard(s) could not be uploaded and are kept in ${displayPath(r.cacheDir)}; run again with --resume to upload them`,
      );
    }
    const left = [
      r.skippedInvalid > 0 ? `${r.skippedInvalid} skipped (invalid content)` : "",
      r.skippedEmpty > 0 ? `${r.skippedEmpty} skipped (empty answer)` : "",
    ].filter(Boolean);
    out.info(
      `${out.err.green("Done:")} ${r.examples} examples, ${formatCount(r.positions)} assistant tokens (${formatCount(r.tokens)} tokens in all) in ${formatDuration(r.seconds)}; ${r.shards.length} shard(s), ${formatBytes(r.bytesUploaded)}${left.length > 0 ? `; ${left.join(", ")}` : ""}`,
    );
    const shown = r.outputKind === "folder" ? displayPath(r.output).replace(/^\.\//, "") : r.output;
    out.info(`Output:  ${r.location}`);
    out.info(`Explore: logitpack explore info ${quote(shown)}`);
    out.info(`         logitpack explore sample ${quote(shown)} --row 0`);
    out.info(`Verify:  logitpack verify ${quote(shown)}`);
  }
}

/** The exit code of a finished run: 130 after Ctrl+C, 1 when shards are left to upload, else 0. */
export function exitCodeOfResult(r: ExtractionResult): number {
  if (r.event === "stopped") {
    return r.reason === "max-runtime" ? 0 : 130;
  }
  return r.backups.length > 0 ? 1 : 0;
}

function boldPrefix(out: Output, message: string): string {
  const at = message.indexOf(": ");
  return at < 0 ? message : `${out.err.bold(message.slice(0, at + 1))}${message.slice(at + 1)}`;
}

/** The text with the tokens that get logits between ⟦ ⟧ (tokens sharing a character show it once). */
export function markedText(text: string, offsets: ArrayLike<number>, mask: ArrayLike<number>): string {
  let shown = "";
  let inSpan = false;
  let shownTo = 0;
  for (let t = 0; t < mask.length; t++) {
    const from = Math.max(offsets[2 * t] as number, shownTo);
    const to = Math.max(offsets[2 * t + 1] as number, from);
    shownTo = to;
    const on = mask[t] === 1;
    if (on !== inSpan) {
      shown += on ? "⟦" : "⟧";
      inSpan = on;
    }
    shown += text.slice(from, to);
  }
  return inSpan ? `${shown}⟧` : shown;
}

function quote(s: string): string {
  return /^[\w./@:-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** The command line that was run, with extra flags (for "go on with"). */
function commandLine(argv: readonly string[], extra: string[]): string {
  const args = argv.filter((a) => !extra.includes(a) && a !== "--force-restart");
  return ["logitpack", ...args.map(quote), ...extra].join(" ");
}
