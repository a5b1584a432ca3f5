import { createHash } from "node:crypto";
import {
  type EncodedRow,
  type ExtractionSettings,
  encodeLogitFile,
  type LogitWriterOptions,
  openLogitFile,
} from "@logitpack/codec";
import { type Checkpoint, DEFAULT_CACHE_DIR, LocalCache, locationId, serializeIndexSet } from "./cache.js";
import { type DatasetCardOptions, writeDatasetCard } from "./card.js";
import { rowsDatasetNbytes } from "./dataset-size.js";
import { HubStreamError } from "./errors.js";
import { EventChannel, type WriterEvent, type WriterProgress } from "./events.js";
import type { FsLayer } from "./fs.js";
import { IndexSet } from "./index-set.js";
import type { LockOptions } from "./lock.js";
import { type ShardSpec, shardFileName } from "./names.js";
import { type BackupShard, type PendingFile, type ResumeState, resumeState } from "./resume.js";
import { configHash, effectiveSettings } from "./settings.js";
import type { Sink } from "./sink.js";

/** Default shard size in rows when neither threshold is given (the Python tool's `--upload-every` default). */
export const DEFAULT_UPLOAD_EVERY = 500;

export interface StreamingWriterOptions {
  sink: Sink;
  /** Local cache folder (default `.logit_extraction_cache`). */
  cacheDir?: string;
  /** File operations of the cache (default node:fs); tests inject failures. */
  fs?: FsLayer;
  /** Row layout (default "nucleus"). */
  layout?: "nucleus" | "importance";
  /** Extraction settings, recorded in every shard and compared on resume. */
  settings?: ExtractionSettings;
  /** This writer's part of a split run (`--shard i/N`), carried by shard names (default 0/1). */
  shard?: ShardSpec;
  /** Cut a shard every N rows (`--upload-every`). Default 500 unless `uploadSizeMb` is given. */
  uploadEvery?: number;
  /** Cut a shard when the buffered rows reach X MB (`--upload-size-mb`), estimated from their column bytes. */
  uploadSizeMb?: number;
  /** Upload in the background while rows keep coming (default true); false waits for each upload. */
  asyncUpload?: boolean;
  /**
   * Go on from earlier progress (default true). With false, a writer that finds earlier progress refuses to start
   * instead of producing rows twice.
   */
  resume?: boolean;
  /** Ignore earlier progress (`--force-restart`): see `resumeState`. */
  forceRestart?: boolean;
  /** Parquet options of the shards (compression, row group size). */
  encode?: Pick<LogitWriterOptions, "compression" | "compressionLevel" | "rowGroupBytes" | "rowGroupRows">;
  /** Dataset card written on close (default: written, without a model name); false to skip. */
  card?: false | Omit<DatasetCardOptions, "layout" | "settings">;
  /** Lease of the cache lock (a lock elsewhere not refreshed for `leaseMs` is taken over). */
  lock?: LockOptions;
  /** Sink files read at once during resume (default 8). */
  scanConcurrency?: number;
  /** Told about every event (progress, shards, retries, failures). */
  onEvent?: (event: WriterEvent) => void;
}

/** What a writer did, returned by `close()` and `stop()`. */
export interface WriterSummary {
  progress: WriterProgress;
  /** Shards uploaded by this run. */
  shards: string[];
  /** Shards kept in backup_* files: they are uploaded by the next run. */
  backups: string[];
  /** File the unflushed rows were saved to by `stop()`. */
  pendingFile?: string;
  /** Problems that did not stop the run (card upload failed...). */
  warnings: string[];
}

function rowBytes(row: EncodedRow): number {
  let bytes = 8;
  for (const key in row.columns) {
    bytes += (row.columns[key] as ArrayBufferView).byteLength;
  }
  return bytes;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/**
 * Buffers encoded rows, cuts them into Parquet shards (every `uploadEvery` rows or `uploadSizeMb` MB) and stores
 * each in the sink in the background, one upload in flight at a time, while the caller keeps producing rows.
 * Crash-safe: the checkpoint, pending rows and backups are written atomically, and shard names are deterministic,
 * so a run killed at any point resumes without losing or duplicating a row.
 *
 * ```ts
 * const writer = await StreamingWriter.open({ sink, settings, uploadEvery: 500 });
 * for (const example of examples) {
 *   if (writer.isDone(example.index)) continue;
 *   await writer.write(encodeNucleusSample(await extract(example)));
 * }
 * await writer.close();
 * ```
 */
export class StreamingWriter {
  /** What the earlier runs left (indices done, pending rows merged, backups). */
  readonly resume: ResumeState;
  readonly settings: ExtractionSettings;
  readonly layout: "nucleus" | "importance";
  readonly shard: ShardSpec;
  private readonly cache: LocalCache;
  private readonly sink: Sink;
  /** Created by the first `events()` call: nothing is queued for nobody. */
  private channel: EventChannel<WriterEvent> | undefined;
  private readonly effective: ExtractionSettings;
  /** Indices that must not be written again. */
  private readonly done: IndexSet;
  /** Indices stored durably: in the sink or in a backup file. */
  private readonly durable: IndexSet;
  /** Indices in the sink's shards (for the checkpoint). */
  private readonly inSink: IndexSet;
  private readonly sinkShards: Set<string>;
  private pendingFiles: PendingFile[];
  private buffer: EncodedRow[] = [];
  private bufferedBytes = 0;
  private inflight: Promise<void> = Promise.resolve();
  private serial: Promise<unknown> = Promise.resolve();
  private fatal: HubStreamError | undefined;
  private state: "open" | "closing" | "closed" = "open";
  private readonly uploadedShards: string[] = [];
  private readonly backupShards: string[] = [];
  /** `datasets` bytes of the shards this run cut, by path (the card's `dataset_size` without reading them back). */
  private readonly shardNbytes = new Map<string, number>();
  private readonly warnings: string[] = [];
  private readonly stats: WriterProgress = {
    rowsWritten: 0,
    rowsBuffered: 0,
    bufferedBytes: 0,
    shardsUploaded: 0,
    rowsUploaded: 0,
    bytesUploaded: 0,
    uploadInFlight: false,
    backups: 0,
    done: 0,
  };

  private constructor(
    private readonly options: StreamingWriterOptions,
    cache: LocalCache,
    resume: ResumeState,
  ) {
    this.sink = options.sink;
    this.cache = cache;
    this.resume = resume;
    this.layout = options.layout ?? "nucleus";
    this.settings = options.settings ?? {};
    this.effective = effectiveSettings(this.layout, this.settings);
    this.shard = options.shard ?? { index: 0, count: 1 };
    this.done = new IndexSet();
    this.done.union(resume.done);
    this.inSink = new IndexSet();
    this.inSink.union(resume.inSink);
    this.durable = new IndexSet();
    this.durable.union(resume.inSink);
    for (const b of resume.backups) {
      this.durable.addAll(b.indices);
    }
    this.sinkShards = new Set([...resume.sinkFiles, ...resume.ignoredFiles].map((f) => f.path));
    this.pendingFiles = resume.pendingFiles;
    this.stats.done = this.done.size;
  }

  /**
   * Prepare the sink (create the folder or repo, check write access), collect the resume state, upload backups of
   * earlier failed uploads, merge pending rows into the buffer, and write the checkpoint.
   */
  static async open(options: StreamingWriterOptions): Promise<StreamingWriter> {
    validate(options);
    const cache = new LocalCache(options.cacheDir ?? DEFAULT_CACHE_DIR, options.fs);
    await cache.init();
    const takenOver = await cache.lock(options.lock);
    try {
      return await StreamingWriter.openLocked(options, cache, takenOver);
    } catch (error) {
      await cache.unlock();
      throw error;
    }
  }

  private static async openLocked(
    options: StreamingWriterOptions,
    cache: LocalCache,
    takenOver: string | undefined,
  ): Promise<StreamingWriter> {
    await cleanTemporaryFiles(cache);
    await options.sink.prepare();
    const layout = options.layout ?? "nucleus";
    const resume = await resumeState({
      sink: options.sink,
      cache,
      settings: effectiveSettings(layout, options.settings ?? {}),
      forceRestart: options.forceRestart,
      concurrency: options.scanConcurrency,
    });
    const earlier =
      resume.sinkFiles.length + resume.backups.length + resume.pendingFiles.length > 0 ||
      resume.checkpoint !== undefined;
    if (options.resume === false && earlier && !options.forceRestart) {
      throw new HubStreamError(
        "INVALID_STATE",
        `earlier progress exists (${resume.done.size} examples done in ${options.sink.location} and ${cache.dir}): resume it, or restart with --force-restart`,
      );
    }
    const writer = new StreamingWriter(options, cache, resume);
    if (takenOver !== undefined) {
      writer.warn(takenOver);
    }
    writer.emit({
      type: "resumed",
      done: resume.done.size,
      scannedFiles: resume.scannedFiles,
      knownFiles: resume.knownFiles,
      pendingRows: resume.pendingRows.length,
      backups: resume.backups.length,
      quarantined: resume.quarantined.length,
      ms: resume.ms,
    });
    for (const message of resume.warnings) {
      writer.warn(message);
    }
    for (const q of resume.quarantined) {
      writer.emit({ type: "quarantined", file: q });
      writer.warn(
        `moved ${q.path} aside (${q.message}) into ${q.movedInto === "cache" ? "the cache's " : ""}${q.movedTo}: its rows are extracted again`,
      );
    }
    await writer.writeCheckpoint();
    for (const backup of resume.backups) {
      await writer.uploadBackup(backup);
    }
    for (const row of resume.pendingRows) {
      writer.buffer.push(row);
      writer.bufferedBytes += rowBytes(row);
      writer.stats.rowsWritten++;
    }
    writer.updateBufferStats();
    return writer;
  }

  /** Whether an example is already done (earlier runs, pending rows, this run): skip it. */
  isDone(index: number): boolean {
    return this.done.has(index);
  }

  /**
   * Of `expected` (the indices this run was to produce, rows skipped on purpose left out), those not stored durably:
   * neither in a shard of the sink nor in a backup. Call it after `close()`: a non-empty answer means the dataset is
   * not complete, and the caller must say so instead of "done".
   */
  missing(expected: ArrayLike<number>): number[] {
    const out: number[] = [];
    for (let k = 0; k < expected.length; k++) {
      const i = expected[k] as number;
      if (!this.durable.has(i)) {
        out.push(i);
      }
    }
    return out;
  }

  /** A copy of the current progress. */
  get progress(): WriterProgress {
    return { ...this.stats };
  }

  /**
   * Events from now on as an async iterable (ends when the writer is closed or stopped). Progress snapshots are
   * coalesced while the consumer is busy; other events queue up.
   */
  events(): AsyncIterable<WriterEvent> {
    if (!this.channel) {
      this.channel = new EventChannel<WriterEvent>();
      if (this.state === "closed") {
        this.channel.end();
      }
    }
    return this.channel;
  }

  /**
   * Add a row. Returns false (and writes nothing) if its index is already done. Cuts a shard when a threshold is
   * reached; waits only if the previous upload is still running then.
   */
  async write(row: EncodedRow): Promise<boolean> {
    this.checkOpen();
    if (row.layout !== this.layout) {
      throw new HubStreamError("INVALID_STATE", `a ${row.layout} row cannot go into a ${this.layout} dataset`);
    }
    if (!this.done.add(row.index)) {
      return false;
    }
    this.buffer.push(row);
    this.bufferedBytes += rowBytes(row);
    this.stats.rowsWritten++;
    this.stats.done = this.done.size;
    this.updateBufferStats();
    if (this.thresholdReached()) {
      await this.exclusive(() => this.cutShard());
    }
    return true;
  }

  /** Cut a shard of the buffered rows now (no-op when empty). */
  async flush(): Promise<void> {
    this.checkOpen();
    await this.exclusive(() => this.cutShard());
  }

  /**
   * Normal end: the last shard is cut and uploaded (waited for), failed uploads of this run are tried once more,
   * the dataset card is written and the checkpoint updated. Throws if rows could not be stored anywhere.
   */
  async close(): Promise<WriterSummary> {
    this.checkOpen();
    this.state = "closing";
    return this.exclusive(async () => {
      try {
        await this.cutShard();
        await this.inflight;
        this.throwIfFatal();
        await this.retryBackups();
        if (this.options.card !== false) {
          try {
            await writeDatasetCard(this.sink, {
              ...(this.options.card ?? {}),
              layout: this.layout,
              settings: this.settings,
              shardNbytes: this.shardNbytes,
            });
          } catch (error) {
            this.warn(`the dataset card could not be written: ${(error as Error).message}`);
          }
        }
        await this.writeCheckpoint();
        return this.summary();
      } finally {
        await this.finish();
      }
    });
  }

  /**
   * Interrupted end (Ctrl+C, SIGTERM, max runtime): buffered rows are saved to `pending/` (merged into the next
   * run's first shard), the running upload is waited for, the checkpoint updated. Nothing is lost; nothing is
   * uploaded twice.
   */
  async stop(reason = "stop"): Promise<WriterSummary> {
    if (this.state === "closed") {
      return this.summary();
    }
    this.state = "closing";
    this.emit({ type: "stopping", reason });
    return this.exclusive(async () => {
      try {
        let pendingFile: string | undefined;
        if (this.buffer.length > 0) {
          const rows = this.buffer;
          const bytes = await this.encode(rows);
          const { first, last } = range(rows);
          const name = `pending-${first}-${last}-${sha256(bytes).slice(0, 16)}.parquet`;
          pendingFile = await this.cache.savePending(name, bytes);
          // Every older pending row is in the new file or in the sink now.
          for (const pf of this.pendingFiles) {
            if (pf.file !== pendingFile) {
              await this.cache.remove(pf.file);
            }
          }
          this.pendingFiles = [{ file: pendingFile, indices: Int32Array.from(rows, (r) => r.index) }];
          this.buffer = [];
          this.bufferedBytes = 0;
          this.updateBufferStats();
          this.emit({ type: "pending-saved", path: pendingFile, rows: rows.length });
        }
        await this.inflight;
        await this.writeCheckpoint();
        this.throwIfFatal();
        return { ...this.summary(), pendingFile };
      } finally {
        await this.finish();
      }
    });
  }

  private async finish(): Promise<void> {
    await this.cache.unlock().catch(() => undefined);
    this.state = "closed";
    this.emit({ type: "closed", progress: this.progress });
    this.channel?.end();
  }

  private summary(): WriterSummary {
    return {
      progress: this.progress,
      shards: [...this.uploadedShards],
      backups: [...this.backupShards],
      warnings: [...this.warnings],
    };
  }

  private checkOpen(): void {
    if (this.state !== "open") {
      throw new HubStreamError("INVALID_STATE", "the writer is closed or stopping");
    }
    this.throwIfFatal();
  }

  private throwIfFatal(): void {
    if (this.fatal) {
      throw this.fatal;
    }
  }

  private thresholdReached(): boolean {
    const { uploadEvery, uploadSizeMb } = this.options;
    const rows = uploadEvery ?? (uploadSizeMb === undefined ? DEFAULT_UPLOAD_EVERY : undefined);
    if (rows !== undefined && this.buffer.length >= rows) {
      return true;
    }
    return uploadSizeMb !== undefined && this.bufferedBytes >= uploadSizeMb * 1024 * 1024;
  }

  /** Run `fn` after every earlier exclusive operation (cuts, close, stop never interleave). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serial.then(fn, fn);
    this.serial = run.catch(() => undefined);
    return run;
  }

  private encode(rows: EncodedRow[]): Promise<Uint8Array> {
    return encodeLogitFile(rows, { ...(this.options.encode ?? {}), layout: this.layout, settings: this.settings });
  }

  /** Encode the buffer into a shard, wait for the previous upload, start this one. */
  private async cutShard(): Promise<void> {
    if (this.buffer.length === 0) {
      return;
    }
    const rows = this.buffer;
    this.buffer = [];
    this.bufferedBytes = 0;
    this.updateBufferStats();
    const bytes = await this.encode(rows);
    const { first, last } = range(rows);
    const path = shardFileName(this.shard, first, last, sha256(bytes));
    this.shardNbytes.set(path, rowsDatasetNbytes(this.layout, rows));
    const indices = Int32Array.from(rows, (r) => r.index);
    await this.inflight;
    this.throwIfFatal();
    const task = this.upload(path, bytes, indices);
    this.inflight = task;
    if (this.options.asyncUpload === false) {
      await task;
      this.throwIfFatal();
    }
  }

  /** Store one shard; on failure keep it as a backup. Never rejects: errors that lose data become `fatal`. */
  private async upload(path: string, bytes: Uint8Array, indices: Int32Array): Promise<void> {
    this.stats.uploadInFlight = true;
    this.emit({ type: "shard-start", path, rows: indices.length, bytes: bytes.length });
    this.emitProgress();
    const t0 = performance.now();
    try {
      let written: boolean;
      try {
        written = (await this.sink.put(path, bytes, `Add ${path} (${indices.length} rows)`)).written;
      } catch (error) {
        const err = asError(error);
        try {
          const backup = await this.cache.saveBackup(path, bytes);
          this.durable.addAll(indices);
          this.stats.backups++;
          this.backupShards.push(path);
          this.emit({ type: "upload-failed", path, backup, error: err });
          await this.cleanPending();
        } catch (backupError) {
          this.fatal = new HubStreamError(
            "SHARD_LOST",
            `the shard ${path} could not be uploaded (${err.message}) nor kept as a backup (${(backupError as Error).message}); its ${indices.length} rows are not stored and will be produced again on resume`,
            { path },
            { cause: backupError },
          );
        }
        return;
      }
      this.recordStored(path, indices, bytes.length);
      this.emit({
        type: "shard-uploaded",
        path,
        rows: indices.length,
        bytes: bytes.length,
        ms: performance.now() - t0,
        written,
      });
      await this.writeCheckpoint();
      await this.cleanPending();
    } catch (error) {
      this.fatal ??= asError(error);
    } finally {
      this.stats.uploadInFlight = false;
      this.emitProgress();
    }
  }

  private recordStored(path: string, indices: Int32Array, bytes: number): void {
    this.inSink.addAll(indices);
    this.durable.addAll(indices);
    this.sinkShards.add(path);
    this.uploadedShards.push(path);
    this.stats.shardsUploaded++;
    this.stats.rowsUploaded += indices.length;
    this.stats.bytesUploaded += bytes;
  }

  /** Upload a backup file left by an earlier run (at open) or this one (at close); keep it on failure. */
  private async uploadBackup(backup: BackupShard): Promise<boolean> {
    const bytes = await this.cache.read(backup.file);
    try {
      await this.sink.put(
        backup.sinkPath,
        bytes,
        `Add ${backup.sinkPath} (${backup.indices.length} rows, from a backup)`,
      );
    } catch (error) {
      this.warn(`the backup ${backup.file} could not be uploaded yet (${(error as Error).message}); it is kept`);
      if (!this.backupShards.includes(backup.sinkPath)) {
        this.backupShards.push(backup.sinkPath);
        this.stats.backups++;
      }
      return false;
    }
    this.recordStored(backup.sinkPath, backup.indices, bytes.length);
    await this.writeCheckpoint();
    await this.cache.remove(backup.file);
    this.emit({ type: "backup-uploaded", path: backup.sinkPath, backup: backup.file });
    return true;
  }

  private async retryBackups(): Promise<void> {
    if (this.backupShards.length === 0) {
      return;
    }
    const backups = await this.cache.listBackups();
    for (const b of backups) {
      if (!this.backupShards.includes(b.sinkPath)) {
        continue;
      }
      const lf = await openLogitFile(await this.cache.read(b.file), { name: b.file });
      const ok = await this.uploadBackup({ ...b, indices: await lf.readIndices() });
      if (ok) {
        this.backupShards.splice(this.backupShards.indexOf(b.sinkPath), 1);
        this.stats.backups--;
      }
    }
  }

  /** Remove pending files whose rows are all stored durably now. */
  private async cleanPending(): Promise<void> {
    const keep: PendingFile[] = [];
    for (const pf of this.pendingFiles) {
      if (pf.indices.every((i) => this.durable.has(i))) {
        await this.cache.remove(pf.file);
      } else {
        keep.push(pf);
      }
    }
    this.pendingFiles = keep;
  }

  private async writeCheckpoint(): Promise<void> {
    const cp: Checkpoint = {
      version: 1,
      configHash: configHash(this.effective),
      settings: this.effective,
      shard: this.shard,
      location: locationId(this.sink),
      shards: [...this.sinkShards].sort(),
      done: serializeIndexSet(this.inSink),
      rows: this.inSink.size,
      updatedAt: new Date().toISOString(),
    };
    await this.cache.writeCheckpoint(cp);
  }

  private updateBufferStats(): void {
    this.stats.rowsBuffered = this.buffer.length;
    this.stats.bufferedBytes = this.bufferedBytes;
    this.stats.done = this.done.size;
    this.emitProgress();
  }

  private emitProgress(): void {
    this.emit({ type: "progress", progress: this.progress });
  }

  private warn(message: string): void {
    this.warnings.push(message);
    this.emit({ type: "warning", message });
  }

  private emit(event: WriterEvent): void {
    this.channel?.push(event);
    this.options.onEvent?.(event);
  }
}

function range(rows: readonly EncodedRow[]): { first: number; last: number } {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const r of rows) {
    first = Math.min(first, r.index);
    last = Math.max(last, r.index);
  }
  return { first, last };
}

function asError(error: unknown): HubStreamError {
  return error instanceof HubStreamError
    ? error
    : new HubStreamError("HTTP", (error as Error)?.message ?? String(error), {}, { cause: error });
}

function validate(o: StreamingWriterOptions): void {
  const positive = (v: number | undefined, name: string) => {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) {
      throw new HubStreamError("INVALID_ARGUMENT", `${name} must be a positive number, got ${v}`);
    }
  };
  positive(o.uploadEvery, "uploadEvery");
  positive(o.uploadSizeMb, "uploadSizeMb");
  if (o.uploadEvery !== undefined && !Number.isInteger(o.uploadEvery)) {
    throw new HubStreamError("INVALID_ARGUMENT", `uploadEvery must be an integer, got ${o.uploadEvery}`);
  }
  const s = o.shard;
  if (
    s &&
    !(Number.isInteger(s.index) && Number.isInteger(s.count) && s.count >= 1 && s.index >= 0 && s.index < s.count)
  ) {
    throw new HubStreamError("INVALID_ARGUMENT", `shard ${s.index}/${s.count} must satisfy 0 <= i < N`);
  }
}

/** Remove temporary files a killed run left in the cache (never read: names end in .tmp). */
async function cleanTemporaryFiles(cache: LocalCache): Promise<void> {
  for (const dir of [cache.dir, cache.pendingDir]) {
    let names: string[] = [];
    try {
      names = await cache.fs.readdir(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      if (n.endsWith(".tmp")) {
        await cache.fs.rm(`${dir}/${n}`);
      }
    }
  }
}
