import { basename } from "node:path";
import { type EncodedRow, type ExtractionSettings, encodeSample, openLogitFile, sampleAt } from "@logitpack/codec";
import { type Checkpoint, deserializeIndexSet, type LocalCache } from "./cache.js";
import { HubStreamError } from "./errors.js";
import { IndexSet } from "./index-set.js";
import { scanIndices } from "./scan.js";
import { diffSettings, type SettingDifference } from "./settings.js";
import type { Sink, SinkFile } from "./sink.js";

export interface ResumeOptions {
  sink: Sink;
  cache: LocalCache;
  /** Settings of this run as shards record them (see `effectiveSettings`). */
  settings: ExtractionSettings;
  /** Ignore earlier progress: the checkpoint goes, pending rows and backups move to `discarded/`. */
  forceRestart?: boolean;
  /** Files read at once during the sink scan (default 8). */
  concurrency?: number;
}

/** A backup shard to upload before anything else. */
export interface BackupShard {
  file: string;
  sinkPath: string;
  indices: Int32Array;
}

/** A pending file whose rows were merged into this run's buffer. */
export interface PendingFile {
  file: string;
  indices: Int32Array;
}

export interface ResumeState {
  /** Every dataset index that must not be produced again: in the sink, in a backup or merged from pending/. */
  done: IndexSet;
  /** Indices found in the sink. */
  inSink: IndexSet;
  /** Shards in the sink. */
  sinkFiles: SinkFile[];
  /** Rows found more than once in the sink (0 unless something else wrote there). */
  duplicateRowsInSink: number;
  /** Files read (index column only) and files whose indices came from the checkpoint. */
  scannedFiles: number;
  knownFiles: number;
  /** Rows saved by an earlier stop, not yet in any shard: they go first into the next shard. */
  pendingRows: EncodedRow[];
  pendingFiles: PendingFile[];
  /** Shards whose upload failed in an earlier run. */
  backups: BackupShard[];
  /** Sink files ignored because of forceRestart. */
  ignoredFiles: SinkFile[];
  /** Local files moved to `discarded/` by forceRestart. */
  discarded: string[];
  checkpoint?: Checkpoint;
  /** Notes worth showing (a stale checkpoint...). */
  warnings: string[];
  /** Time taken, ms. */
  ms: number;
}

function mismatch(where: string, diffs: SettingDifference[]): HubStreamError {
  const d = diffs[0] as SettingDifference;
  const show = (v: unknown) => (v === undefined ? "not set" : JSON.stringify(v));
  const more =
    diffs.length > 1
      ? ` (and ${diffs
          .slice(1)
          .map((x) => x.setting)
          .join(", ")})`
      : "";
  return new HubStreamError(
    "SETTINGS_MISMATCH",
    `cannot resume: setting "${d.setting}" differs from ${where}: ${show(d.before)} there, ${show(d.now)} now${more}. Use the same settings, another output, or --force-restart to ignore earlier progress`,
    { setting: d.setting },
  );
}

/**
 * What an earlier run left: the union of the local checkpoint and what the sink holds (only the `index` column of
 * shards the checkpoint does not know is read, by range reads), backups of failed uploads, and pending rows
 * (deduplicated against everything else). Refuses (SETTINGS_MISMATCH, naming the setting) when the earlier run
 * used other settings, unless `forceRestart`.
 */
export async function resumeState(options: ResumeOptions): Promise<ResumeState> {
  const t0 = performance.now();
  const { sink, cache, settings } = options;
  const warnings: string[] = [];
  const state: ResumeState = {
    done: new IndexSet(),
    inSink: new IndexSet(),
    sinkFiles: [],
    duplicateRowsInSink: 0,
    scannedFiles: 0,
    knownFiles: 0,
    pendingRows: [],
    pendingFiles: [],
    backups: [],
    ignoredFiles: [],
    discarded: [],
    warnings,
    ms: 0,
  };
  const sinkFiles = await sink.list();
  if (options.forceRestart) {
    state.discarded = await cache.discard();
    state.ignoredFiles = sinkFiles;
    state.ms = performance.now() - t0;
    return state;
  }
  state.sinkFiles = sinkFiles;

  const checkpoint = await cache.readCheckpoint();
  let known = new Set<string>();
  if (checkpoint) {
    state.checkpoint = checkpoint;
    const diffs = diffSettings(checkpoint.settings, settings);
    if (diffs.length > 0) {
      throw mismatch(`the checkpoint ${cache.checkpointPath}`, diffs);
    }
    const inSink = new Set(sinkFiles.map((f) => f.path));
    const missing = checkpoint.shards.filter((p) => !inSink.has(p));
    if (checkpoint.location !== sink.location) {
      warnings.push(`the checkpoint was written for ${checkpoint.location}, not ${sink.location}: reading every shard`);
    } else if (missing.length > 0) {
      warnings.push(
        `${missing.length} shard(s) of the checkpoint are not in ${sink.location} (e.g. ${missing[0]}): reading every shard`,
      );
    } else {
      known = new Set(checkpoint.shards);
      state.done.union(deserializeIndexSet(checkpoint.done));
      state.inSink.union(state.done);
    }
  }

  // The sink: index column of every shard the checkpoint does not vouch for.
  const toScan = sinkFiles.filter((f) => !known.has(f.path));
  state.knownFiles = sinkFiles.length - toScan.length;
  const scanned = await scanIndices(sink, toScan, options.concurrency ?? 8);
  state.scannedFiles = scanned.length;
  for (const s of scanned) {
    if (!s.recorded) {
      throw new HubStreamError(
        "SETTINGS_MISMATCH",
        `cannot resume: the shard ${s.file.path} in ${sink.location} records no extraction settings (not written by logitpack), so its rows cannot be checked against this run. Use another output, or --force-restart to ignore earlier progress`,
        { setting: "settings", path: s.file.path },
      );
    }
    const diffs = diffSettings(s.settings, settings);
    if (diffs.length > 0) {
      throw mismatch(`the shard ${s.file.path} in ${sink.location}`, diffs);
    }
    const idx = s.indices;
    for (let k = 0; k < idx.length; k++) {
      if (!state.inSink.add(idx[k] as number)) {
        state.duplicateRowsInSink++;
      }
    }
  }
  state.done.union(state.inSink);

  // Backups: drop those that landed after all (same deterministic name in the sink), keep the rest.
  const sinkPaths = new Set(sinkFiles.map((f) => f.path));
  for (const b of await cache.listBackups()) {
    if (sinkPaths.has(b.sinkPath)) {
      await cache.remove(b.file);
      continue;
    }
    const lf = await openLocal(cache, b.file);
    const diffs = diffSettings(lf.info.settings, settings);
    if (diffs.length > 0) {
      throw mismatch(`the backup ${b.file}`, diffs);
    }
    const indices = await lf.readIndices();
    state.backups.push({ file: b.file, sinkPath: b.sinkPath, indices });
    state.done.addAll(indices);
  }

  // Pending rows: every row not done elsewhere, once.
  for (const file of await cache.listPending()) {
    const lf = await openLocal(cache, file);
    const diffs = diffSettings(lf.info.settings, settings);
    if (diffs.length > 0) {
      throw mismatch(`the pending file ${file}`, diffs);
    }
    const indices: number[] = [];
    for await (const batch of lf.batches()) {
      for (let r = 0; r < batch.numRows; r++) {
        const index = batch.index[r] as number;
        indices.push(index);
        if (state.done.add(index)) {
          state.pendingRows.push(encodeSample(sampleAt(batch, r)));
        }
      }
    }
    state.pendingFiles.push({ file, indices: Int32Array.from(indices) });
  }
  state.ms = performance.now() - t0;
  return state;
}

async function openLocal(cache: LocalCache, file: string) {
  try {
    return await openLogitFile(await cache.read(file), { name: basename(file) });
  } catch (error) {
    throw new HubStreamError(
      "CACHE_CORRUPT",
      `cannot read ${file}: ${(error as Error).message}. Move it away to go on without it`,
      { path: file },
      { cause: error },
    );
  }
}
