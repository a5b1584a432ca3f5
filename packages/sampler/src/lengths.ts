import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { type ChatEncoderMetadata, checkShapeColumns, type InputShape, shapeColumns } from "@logitpack/chat";
import { parquetWriteFile } from "hyparquet-writer";
import { missingColumnError, SamplerError } from "./errors.js";
import { buildEncoder, type EncoderSpec, type MeasuredBatch, measureRows } from "./measure.js";
import { type DatasetSource, DEFAULT_BATCH_ROWS } from "./sources.js";

export interface ComputeLengthsOptions {
  source: DatasetSource;
  shape: InputShape;
  encoder: EncoderSpec;
  /**
   * Parallel tokenizer workers (`--num-proc`); 1 (default) runs in this thread. The first `IN_THREAD_ROWS` rows
   * are measured in this thread whatever `numProc` says, the workers start only when more rows come: on a small
   * dataset starting them (each loads the tokenizer) costs more than they save.
   */
  numProc?: number;
  /** true: workers from the first row, even for `numProc` 1; false: never (default: `numProc` > 1, after `IN_THREAD_ROWS` rows). */
  useWorkers?: boolean;
  /** Rows sent to a worker at a time (default 1024). */
  batchRows?: number;
  /** What to do with a row whose content cannot be encoded: throw (default) or record length -1 and go on. */
  invalidRows?: "error" | "skip";
  /** Called after each batch with running totals. */
  onProgress?: (progress: { rows: number; tokens: number }) => void;
  /** Flags to name in missing-column errors, per column (e.g. `--user-col`). */
  flagOf?: (column: string) => string | undefined;
}

/** Per-example lengths, by dataset index (`index[k] === k`). */
export interface LengthsResult {
  index: Int32Array;
  /** Tokens of the whole sequence; -1 for a skipped invalid row. */
  length: Int32Array;
  /** Tokens that get logits (assistant mask minus skip rules); 0 = empty response. */
  extractTokens: Int32Array;
  rows: number;
  tokens: number;
  invalid: { row: number; message: string }[];
  /** Encoder settings (template, skip rules) to store beside the lengths. */
  encoder: ChatEncoderMetadata;
  /** How rows became examples. */
  shape: InputShape;
  /** Worker threads that measured the rows; 0: this thread (`numProc` 1, or a dataset under `IN_THREAD_ROWS` rows). */
  workers: number;
}

/**
 * Rows measured in the calling thread before workers start (when `numProc` > 1). Measured on 2
 * cores (the bundled 300 conversations, Qwen3 tokenizer): 1.2-1.5 s in this thread, 3.1-3.5 s with 2 workers,
 * which each load the tokenizer (about 1.7 ms a conversation in one thread, about 2 s to start the workers): the
 * workers pay off from about 2,400 such rows. A large dataset loses little: its first rows take a few seconds here.
 */
export const IN_THREAD_ROWS = 2000;

/**
 * Token length of every example (seed `compute_lengths.py`): the chat template applied and tokenized exactly as the
 * extraction will, in `numProc` worker threads. Rows stream from the source with bounded memory; results are
 * collected in dataset order whatever order workers finish in.
 */
export async function computeLengths(options: ComputeLengthsOptions): Promise<LengthsResult> {
  const { source, shape } = options;
  const invalidRows = options.invalidRows ?? "error";
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  const numProc = Math.max(1, Math.min(Math.floor(options.numProc ?? 1), Math.max(availableParallelism(), 1) * 4));
  const columns = await source.columns();
  try {
    checkShapeColumns(shape, columns, options.flagOf);
  } catch (error) {
    const column = (error as { column?: string }).column ?? "";
    throw missingColumnError(column, columns, options.flagOf?.(column), source.name);
  }
  // Built here too: validates the tokenizer/template up front with the chat package's own errors.
  const encoder = buildEncoder(options.encoder, shape);
  const acc = new Accumulator();
  const projection = shapeColumns(shape);
  const report = () => options.onProgress?.({ rows: acc.rows, tokens: acc.tokens });
  // Workers from the start when asked; by default only once IN_THREAD_ROWS rows were measured here and more come.
  const workersFrom =
    options.useWorkers === true ? 0 : options.useWorkers === false || numProc === 1 ? Infinity : IN_THREAD_ROWS;
  let pool: WorkerPool | undefined;
  const inFlight = new Set<Promise<void>>();
  try {
    for await (const b of source.batches({ columns: projection, batchRows })) {
      if (pool === undefined && b.start >= workersFrom) {
        pool = new WorkerPool(numProc, { spec: options.encoder, shape, invalidRows });
        await pool.ready();
      }
      if (pool === undefined) {
        acc.add(measureRows(encoder, shape, b.start, b.rows, invalidRows));
        report();
        continue;
      }
      const p = pool.run(b.start, b.rows).then((r) => {
        acc.add(r);
        report();
      });
      const tracked = p.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= numProc * 2) {
        await Promise.race(inFlight);
      }
    }
    await Promise.all(inFlight);
  } finally {
    await pool?.close();
  }
  const result = acc.finish();
  return { ...result, encoder: encoder.metadata(), shape, workers: pool === undefined ? 0 : numProc };
}

/**
 * Writes lengths as Parquet with `index` and `length` INT32 columns (the seed's lengths dataset) plus
 * `extract_tokens`; the encoder settings and the input shape go into the key-value metadata (`logitpack.chat`,
 * `logitpack.input`; `ChatEncoder.fromMetadata` rebuilds the encoder from the former).
 */
export function writeLengthsParquet(file: string, lengths: LengthsResult, options: { lengthCol?: string } = {}): void {
  const keep: number[] = [];
  for (let i = 0; i < lengths.rows; i++) {
    if ((lengths.length[i] as number) >= 0) {
      keep.push(i);
    }
  }
  const pick = (a: Int32Array) => Int32Array.from(keep, (i) => a[i] as number);
  parquetWriteFile({
    filename: file,
    columnData: [
      { name: "index", data: pick(lengths.index), type: "INT32", nullable: false },
      { name: options.lengthCol ?? "length", data: pick(lengths.length), type: "INT32", nullable: false },
      { name: "extract_tokens", data: pick(lengths.extractTokens), type: "INT32", nullable: false },
    ],
    kvMetadata: [
      { key: "logitpack.chat", value: JSON.stringify(lengths.encoder) },
      { key: "logitpack.input", value: JSON.stringify(lengths.shape) },
    ],
    rowGroupSize: 1_000_000,
  });
}

/** Precomputed lengths joined by dataset index (`--tokenized-dataset`, `--length-col`). */
export interface LengthsTable {
  /** `length[i]` for dataset index i; -1 where the table has none. */
  length: Int32Array;
  /** Same for `extract_tokens` when the table has that column. */
  extractTokens: Int32Array | undefined;
}

/**
 * Reads `index` + `lengthCol` (and `extract_tokens` when present) from a lengths dataset into dense arrays by index.
 * Missing columns are `MISSING_COLUMN` naming `--length-col` / `--tokenized-dataset`; negative or duplicate indices
 * are `LENGTHS_MISMATCH`.
 */
export async function readLengths(
  source: DatasetSource,
  options: { indexCol?: string; lengthCol?: string; flag?: string } = {},
): Promise<LengthsTable> {
  const indexCol = options.indexCol ?? "index";
  const lengthCol = options.lengthCol ?? "length";
  const columns = await source.columns();
  if (!columns.includes(indexCol)) {
    throw missingColumnError(indexCol, columns, options.flag ?? "--tokenized-dataset", source.name);
  }
  if (!columns.includes(lengthCol)) {
    throw missingColumnError(lengthCol, columns, "--length-col", source.name);
  }
  const withExtract = columns.includes("extract_tokens");
  const wanted = withExtract ? [indexCol, lengthCol, "extract_tokens"] : [indexCol, lengthCol];
  let length: Int32Array = new Int32Array(1024).fill(-1);
  let extract: Int32Array | undefined = withExtract ? new Int32Array(1024).fill(-1) : undefined;
  for await (const b of source.batches({ columns: wanted, batchRows: 65536 })) {
    for (const row of b.rows) {
      const i = Number(row[indexCol]);
      const len = Number(row[lengthCol]);
      if (!Number.isInteger(i) || i < 0 || !Number.isInteger(len) || len < 0) {
        throw new SamplerError(
          "LENGTHS_MISMATCH",
          `bad row (index ${String(row[indexCol])}, ${lengthCol} ${String(row[lengthCol])})`,
          { file: source.name },
        );
      }
      if (i >= length.length) {
        const size = Math.max(i + 1, length.length * 2);
        length = grow(length, size);
        if (extract) {
          extract = grow(extract, size);
        }
      }
      if (length[i] !== -1) {
        throw new SamplerError("LENGTHS_MISMATCH", `index ${i} appears twice`, { file: source.name });
      }
      length[i] = len;
      if (extract) {
        extract[i] = Number(row.extract_tokens);
      }
    }
  }
  return { length, extractTokens: extract };
}

function grow(a: Int32Array, size: number): Int32Array {
  const b = new Int32Array(size).fill(-1);
  b.set(a);
  return b;
}

class Accumulator {
  length: Int32Array = new Int32Array(4096);
  extract: Int32Array = new Int32Array(4096);
  rows = 0;
  end = 0;
  tokens = 0;
  invalid: { row: number; message: string }[] = [];

  add(r: MeasuredBatch): void {
    const end = r.start + r.length.length;
    if (end > this.length.length) {
      const size = Math.max(end, this.length.length * 2);
      const l = new Int32Array(size);
      l.set(this.length);
      const e = new Int32Array(size);
      e.set(this.extract);
      this.length = l;
      this.extract = e;
    }
    this.length.set(r.length, r.start);
    this.extract.set(r.extractTokens, r.start);
    this.rows += r.length.length;
    this.end = Math.max(this.end, end);
    this.tokens += r.tokens;
    this.invalid.push(...r.invalid);
  }

  finish() {
    if (this.rows !== this.end) {
      throw new SamplerError("WORKER_FAILED", `lengths of ${this.end - this.rows} rows are missing`);
    }
    this.invalid.sort((a, b) => a.row - b.row);
    return {
      index: Int32Array.from({ length: this.end }, (_, i) => i),
      length: this.length.slice(0, this.end),
      extractTokens: this.extract.slice(0, this.end),
      rows: this.end,
      tokens: this.tokens,
      invalid: this.invalid,
    };
  }
}

interface WorkerError {
  name: string;
  message: string;
  code?: string;
  row?: number;
  column?: string;
}

type WorkerReply =
  | { type: "ready" }
  | ({ type: "result"; id: number } & MeasuredBatch)
  | { type: "error"; id: number; error: WorkerError };

interface Slot {
  worker: Worker;
  pending: number;
  ready: Promise<void>;
}

/**
 * The parent's Node flags minus those a worker refuses (`--input-type`, as in `node --input-type=module -e ...`,
 * throws ERR_WORKER_INVALID_EXEC_ARGV / ERR_INPUT_TYPE_NOT_ALLOWED); loaders such as tsx's stay.
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--input-type") {
      i++;
      continue;
    }
    if (!a.startsWith("--input-type=")) {
      out.push(a);
    }
  }
  return out;
}

/** Fixed pool of length workers; each job goes to the worker with the fewest pending jobs. */
class WorkerPool {
  readonly #workers: Slot[] = [];
  readonly #jobs = new Map<number, { resolve: (r: MeasuredBatch) => void; reject: (e: Error) => void }>();
  #next = 0;
  #failed: Error | undefined;

  constructor(size: number, data: unknown) {
    const url = workerUrl();
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url.href.endsWith(".ts") ? tsBootstrap(url) : url, {
        workerData: data,
        eval: url.href.endsWith(".ts"),
        execArgv: workerExecArgv(),
      });
      let resolveReady: () => void = () => {};
      let rejectReady: (e: Error) => void = () => {};
      const ready = new Promise<void>((res, rej) => {
        resolveReady = res;
        rejectReady = rej;
      });
      const slot: Slot = { worker, pending: 0, ready };
      worker.on("message", (msg: WorkerReply) => {
        if (msg.type === "ready") {
          resolveReady();
          return;
        }
        if (msg.type === "error" && msg.id === -1) {
          rejectReady(fromWorker(msg.error));
          return;
        }
        const job = this.#jobs.get(msg.id);
        if (job === undefined) {
          return;
        }
        this.#jobs.delete(msg.id);
        slot.pending--;
        if (msg.type === "result") {
          job.resolve(msg);
        } else {
          job.reject(fromWorker(msg.error));
        }
      });
      worker.on("error", (error) => {
        const e = new SamplerError("WORKER_FAILED", `length worker crashed: ${error.message}`, {}, { cause: error });
        this.#failed = e;
        rejectReady(e);
        for (const job of this.#jobs.values()) {
          job.reject(e);
        }
        this.#jobs.clear();
      });
      this.#workers.push(slot);
    }
  }

  async ready(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.ready));
  }

  run(start: number, rows: Record<string, unknown>[]): Promise<MeasuredBatch> {
    if (this.#failed) {
      return Promise.reject(this.#failed);
    }
    let best = this.#workers[0] as Slot;
    for (const w of this.#workers) {
      if (w.pending < best.pending) {
        best = w;
      }
    }
    const id = this.#next++;
    best.pending++;
    return new Promise((resolve, reject) => {
      this.#jobs.set(id, { resolve, reject });
      best.worker.postMessage({ id, start, rows });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.worker.terminate()));
  }
}

function fromWorker(e: WorkerError): SamplerError {
  const ctx: { row?: number; column?: string } = {};
  if (e.row !== undefined) {
    ctx.row = e.row;
  }
  if (e.column !== undefined) {
    ctx.column = e.column;
  }
  return new SamplerError("INVALID_ROW", `${e.code ? `${e.code}: ` : ""}${e.message}`, ctx);
}

/** The worker entry beside this module: `.js` once built, `.ts` when run from source (tests, tsx). */
function workerUrl(): URL {
  const here = import.meta.url;
  return new URL(here.endsWith(".ts") ? "./lengths-worker.ts" : "./lengths-worker.js", here);
}

/** From source, the worker loads the TypeScript entry through tsx's loader. */
function tsBootstrap(url: URL): string {
  return `import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); });`;
}
