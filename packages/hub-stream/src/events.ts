import type { HubStreamError } from "./errors.js";
import type { QuarantinedFile } from "./resume.js";
import type { RetryInfo } from "./retry.js";

/** A snapshot of a writer's progress, for a progress bar. */
export interface WriterProgress {
  /** Rows accepted by this run (pending rows merged from an earlier run included). */
  rowsWritten: number;
  /** Rows waiting for the next shard. */
  rowsBuffered: number;
  /** Estimated bytes of the buffered rows. */
  bufferedBytes: number;
  /** Shards stored in the sink by this run. */
  shardsUploaded: number;
  /** Rows and bytes in those shards. */
  rowsUploaded: number;
  bytesUploaded: number;
  /** Whether an upload is running now (the ⬆ of the Python tool's progress bar). */
  uploadInFlight: boolean;
  /** Shards of this run kept in backup_* because their upload failed. */
  backups: number;
  /** Dataset indices that are done (earlier runs and this one, uploaded or not). */
  done: number;
}

export type WriterEvent =
  | { type: "progress"; progress: WriterProgress }
  | {
      type: "resumed";
      /** Indices already done before this run. */
      done: number;
      /** Sink files read (index column only) and files known from the checkpoint. */
      scannedFiles: number;
      knownFiles: number;
      pendingRows: number;
      backups: number;
      /** Broken or duplicate files moved aside (each also has its own `quarantined` event). */
      quarantined: number;
      /** Time spent collecting the state, ms. */
      ms: number;
    }
  | { type: "shard-start"; path: string; rows: number; bytes: number }
  | { type: "shard-uploaded"; path: string; rows: number; bytes: number; ms: number; written: boolean }
  | { type: "upload-failed"; path: string; backup: string; error: HubStreamError }
  | { type: "backup-uploaded"; path: string; backup: string }
  | { type: "retry"; info: RetryInfo }
  | { type: "pending-saved"; path: string; rows: number }
  | { type: "stopping"; reason: string }
  | {
      type: "quarantined";
      /** A broken or duplicate shard (or cache file) moved aside at resume; its rows are produced again. */
      file: QuarantinedFile;
    }
  | { type: "warning"; message: string }
  | { type: "closed"; progress: WriterProgress };

/**
 * Events as an async iterable: a queue that a consumer drains at its own pace. Progress snapshots are coalesced
 * (only the newest waits in the queue), so a slow consumer never makes the queue grow with the row count.
 */
export class EventChannel<E extends { type: string }> implements AsyncIterable<E> {
  private queue: E[] = [];
  private waiting: ((r: IteratorResult<E>) => void) | undefined;
  private ended = false;

  push(event: E): void {
    if (this.ended) {
      return;
    }
    const wake = this.waiting;
    if (wake) {
      this.waiting = undefined;
      wake({ value: event, done: false });
      return;
    }
    const last = this.queue[this.queue.length - 1];
    if (event.type === "progress" && last?.type === "progress") {
      this.queue[this.queue.length - 1] = event;
    } else {
      this.queue.push(event);
    }
  }

  end(): void {
    this.ended = true;
    const wake = this.waiting;
    this.waiting = undefined;
    wake?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<E> {
    return {
      next: () => {
        const e = this.queue.shift();
        if (e) {
          return Promise.resolve({ value: e, done: false });
        }
        if (this.ended) {
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise((resolve) => {
          this.waiting = resolve;
        });
      },
    };
  }
}
