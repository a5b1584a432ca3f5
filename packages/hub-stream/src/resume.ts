import { createHash } from "node:crypto";
import { basename, relative } from "node:path";
import {
  type EncodedRow,
  type ExtractionSettings,
  encodeSample,
  type LogitBatch,
  type LogitFile,
  META_KEYS,
  openLogitFile,
  sampleAt,
} from "@logitpack/codec";
import { type Checkpoint, deserializeIndexSet, type LocalCache, locationId } from "./cache.js";
import { HubStreamError } from "./errors.js";
import { IndexSet } from "./index-set.js";
import {
  checkBatch,
  checkShard,
  contentMatchesName,
  isDataError,
  oneLine,
  type ShardProblem,
  type ShardProblemKind,
  vocabularyWidth,
} from "./integrity.js";
import { parseShardFileName } from "./names.js";
import { mapLimit, openSinkFile } from "./scan.js";
import { describeSettingChange, diffSettings, type SettingDifference } from "./settings.js";
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

/** A file moved out of the dataset (or out of the cache's pending/backups) because it could not be trusted. */
export interface QuarantinedFile {
  /** Sink path (`data/...`) or cache-relative path (`pending/...`, `backup_...`) of the file. */
  path: string;
  /** Where the file was: in the sink, or in the local cache (pending rows, a backup). */
  from: "sink" | "cache";
  kind: ShardProblemKind;
  /** One line: what was wrong. */
  message: string;
  /** Where it is now: relative to the sink (a folder's `quarantine/`) or to the cache folder (`quarantine/...`). */
  movedTo: string;
  /** In the sink or in the local cache. */
  movedInto: "sink" | "cache";
  /** Rows it held, when they could be read. */
  rows?: number;
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
  /** Broken or duplicate files moved aside (their rows are produced again). */
  quarantined: QuarantinedFile[];
  /** Notes worth showing (a stale checkpoint...). */
  warnings: string[];
  /** Time taken, ms. */
  ms: number;
}

function mismatch(where: string, diffs: SettingDifference[]): HubStreamError {
  const d = diffs[0] as SettingDifference;
  const more =
    diffs.length > 1
      ? ` (and ${diffs.length - 1} more: ${diffs
          .slice(1, 4)
          .map((x) => x.setting)
          .join(", ")}${diffs.length > 4 ? ", ..." : ""})`
      : "";
  return new HubStreamError(
    "SETTINGS_MISMATCH",
    `cannot resume: ${describeSettingChange(d)} since ${where}${more}. Use the same inputs and settings, another output, or --force-restart to ignore earlier progress`,
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
    quarantined: [],
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
  const concurrency = options.concurrency ?? 8;
  const moveAside = async (file: SinkFile, problem: ShardProblem, rows?: number) => {
    state.quarantined.push(await quarantineSinkFile(sink, cache, file, problem, rows));
  };

  // 1. Content: every shard named by a writer carries the sha256 prefix of its bytes (a Hub listing gives the sha256;
  // a folder's files are hashed). Bytes changed after writing (truncated, flipped) are not trusted, whoever listed them.
  const matches = await mapLimit(sinkFiles, concurrency, (f) => contentMatchesName(sink, f));
  const broken = new Map<string, ShardProblem>();
  sinkFiles.forEach((f, k) => {
    if (matches[k] === false) {
      broken.set(f.path, {
        path: f.path,
        kind: "content",
        message: "its bytes do not match the sha256 in its name (changed after it was written)",
      });
    }
  });

  const checkpoint = await cache.readCheckpoint();
  let known = new Set<string>();
  if (checkpoint) {
    state.checkpoint = checkpoint;
    const diffs = diffSettings(checkpoint.settings, settings);
    if (diffs.length > 0) {
      throw mismatch("the checkpoint", diffs);
    }
    const inSink = new Set(sinkFiles.map((f) => f.path));
    const missing = checkpoint.shards.filter((p) => !inSink.has(p));
    const damaged = checkpoint.shards.filter((p) => broken.has(p));
    if (checkpoint.location !== sink.location && checkpoint.location !== locationId(sink)) {
      warnings.push(`the checkpoint was written for another output, not ${sink.location}: reading every shard`);
    } else if (missing.length > 0) {
      warnings.push(
        `${missing.length} shard(s) of the checkpoint are not in ${sink.location} (e.g. ${missing[0]}): reading every shard`,
      );
    } else if (damaged.length > 0) {
      warnings.push(
        `${damaged.length} shard(s) of the checkpoint are damaged (e.g. ${damaged[0]}): reading every shard`,
      );
    } else {
      known = new Set(checkpoint.shards);
      state.done.union(deserializeIndexSet(checkpoint.done));
      state.inSink.union(state.done);
    }
  }

  // 2. The index column of every intact shard the checkpoint does not vouch for; shards whose name carries no hash
  // (another tool, a renamed copy) are decoded completely.
  const toScan = sinkFiles.filter((f) => !known.has(f.path) && !broken.has(f.path));
  state.knownFiles = sinkFiles.length - toScan.length - [...broken.keys()].filter((p) => !known.has(p)).length;
  const scanned = await mapLimit(toScan, concurrency, (file) => inspectForResume(sink, file));
  state.scannedFiles = scanned.length;
  for (const [path, problem] of broken) {
    await moveAside(sinkFiles.find((f) => f.path === path) as SinkFile, problem);
  }
  const intact: ScannedFile[] = [];
  for (const s of scanned) {
    if (s.problem) {
      await moveAside(s.file, s.problem, s.indices?.length);
    } else {
      intact.push(s);
    }
  }
  for (const s of intact) {
    if (!s.recorded) {
      throw new HubStreamError(
        "SETTINGS_MISMATCH",
        `cannot resume: the shard ${s.file.path} in ${sink.location} records no extraction settings (not written by logitpack), so its rows cannot be checked against this run. Use another output, or --force-restart to ignore earlier progress`,
        { setting: "settings", path: s.file.path },
      );
    }
    const diffs = diffSettings(s.settings, settings);
    if (diffs.length > 0) {
      throw mismatch(`the shard ${s.file.path}`, diffs);
    }
  }

  // 3. Duplicates: a shard whose every row is also elsewhere is a copy: moved aside. Partial overlaps are refused.
  for (const s of findCopies(state.inSink, intact)) {
    await moveAside(
      s.file,
      { path: s.file.path, kind: "duplicate", message: "every row of it is in other shards too (a copy)" },
      s.indices.length,
    );
    intact.splice(intact.indexOf(s), 1);
  }
  for (const s of intact) {
    const idx = s.indices;
    for (let k = 0; k < idx.length; k++) {
      if (!state.inSink.add(idx[k] as number)) {
        state.duplicateRowsInSink++;
      }
    }
  }
  if (state.duplicateRowsInSink > 0) {
    throw await overlapError(
      intact,
      sinkFiles.filter((f) => known.has(f.path)),
      sink,
    );
  }
  state.sinkFiles = sinkFiles.filter((f) => !state.quarantined.some((q) => q.from === "sink" && q.path === f.path));
  state.done.union(state.inSink);

  // Backups: drop those that landed after all (same deterministic name in the sink), keep the rest.
  const sinkPaths = new Set(state.sinkFiles.map((f) => f.path));
  for (const b of await cache.listBackups()) {
    if (sinkPaths.has(b.sinkPath)) {
      await cache.remove(b.file);
      continue;
    }
    const name = parseShardFileName(b.sinkPath);
    const read = await readLocal(cache, b.file, name?.hash);
    if ("problem" in read) {
      state.quarantined.push(await quarantineCacheFile(cache, b.file, read.problem));
      continue;
    }
    const diffs = diffSettings(read.lf.info.settings, settings);
    if (diffs.length > 0) {
      throw mismatch(`the backup ${basename(b.file)}`, diffs);
    }
    state.backups.push({ file: b.file, sinkPath: b.sinkPath, indices: read.indices });
    state.done.addAll(read.indices);
  }

  // Pending rows: every row not done elsewhere, once.
  for (const file of await cache.listPending()) {
    const hash = /-([0-9a-f]{16})\.parquet$/.exec(file)?.[1];
    const read = await readLocal(cache, file, hash);
    if ("problem" in read) {
      state.quarantined.push(await quarantineCacheFile(cache, file, read.problem));
      continue;
    }
    const diffs = diffSettings(read.lf.info.settings, settings);
    if (diffs.length > 0) {
      throw mismatch(`the pending file ${basename(file)}`, diffs);
    }
    for (const batch of read.batches) {
      for (let r = 0; r < batch.numRows; r++) {
        if (state.done.add(batch.index[r] as number)) {
          state.pendingRows.push(encodeSample(sampleAt(batch, r)));
        }
      }
    }
    state.pendingFiles.push({ file, indices: read.indices });
  }
  state.ms = performance.now() - t0;
  return state;
}

type LocalRead =
  | { lf: LogitFile; indices: Int32Array; batches: LogitBatch[] }
  | { problem: { kind: ShardProblemKind; message: string } };

/** Read a cache file (backup, pending) completely; a broken one is a problem, not an error. */
async function readLocal(cache: LocalCache, file: string, hash: string | undefined): Promise<LocalRead> {
  const bytes = await cache.read(file);
  if (hash !== undefined && !createHash("sha256").update(bytes).digest("hex").startsWith(hash)) {
    return {
      problem: {
        kind: "content",
        message: "its bytes do not match the sha256 in its name (changed after it was written)",
      },
    };
  }
  try {
    const lf = await openLogitFile(bytes, { name: basename(file) });
    const vocab = vocabularyWidth(lf.info.settings);
    const batches: LogitBatch[] = [];
    const indices = new Int32Array(lf.numRows);
    for await (const batch of lf.batches()) {
      const bad = checkBatch(batch, vocab);
      if (bad) {
        return { problem: bad };
      }
      indices.set(batch.index, batch.firstRow);
      batches.push(batch);
    }
    return { lf, indices, batches };
  } catch (error) {
    if (!isDataError(error)) {
      throw error;
    }
    return { problem: { kind: "decode", message: oneLine(error) } };
  }
}

async function quarantineCacheFile(
  cache: LocalCache,
  file: string,
  problem: { kind: ShardProblemKind; message: string },
): Promise<QuarantinedFile> {
  const movedTo = await cache.quarantine(basename(file), file);
  return {
    path: relative(cache.dir, file),
    from: "cache",
    kind: problem.kind,
    message: problem.message,
    movedTo,
    movedInto: "cache",
  };
}

/**
 * Move a sink file aside: the sink's own `moveAside` (a folder: `quarantine/` beside `data/`), else (the Hub) a copy
 * in the cache's `quarantine/` and then a commit removing it from the repo.
 */
async function quarantineSinkFile(
  sink: Sink,
  cache: LocalCache,
  file: SinkFile,
  problem: ShardProblem,
  rows: number | undefined,
): Promise<QuarantinedFile> {
  const base = { path: file.path, from: "sink" as const, kind: problem.kind, message: problem.message };
  const withRows = rows !== undefined ? { rows } : {};
  if (sink.moveAside) {
    return { ...base, movedTo: await sink.moveAside(file.path), movedInto: "sink", ...withRows };
  }
  const src = await sink.source(file);
  const bytes = new Uint8Array(await src.slice(0, src.byteLength));
  const movedTo = await cache.quarantine(basename(file.path), bytes);
  await sink.remove([file.path], `Move ${file.path} aside (${problem.kind}: a copy is kept in the writer's cache)`);
  return { ...base, movedTo, movedInto: "cache", ...withRows };
}

/** What resume learnt about one shard it had to read. */
interface ScannedFile {
  file: SinkFile;
  indices: Int32Array;
  settings: ExtractionSettings;
  recorded: boolean;
  problem?: ShardProblem;
}

/**
 * A shard resume does not know: its index column (range reads) when its content matched its name, every row when
 * its name carries no hash. Broken bytes become a `problem`; network failures are thrown.
 */
async function inspectForResume(sink: Sink, file: SinkFile): Promise<ScannedFile> {
  const name = parseShardFileName(file.path);
  if (!name) {
    const c = await checkShard(sink, file, { hash: false });
    return {
      file,
      indices: c.indices ?? new Int32Array(0),
      settings: c.settings,
      recorded: c.recorded,
      ...(c.problems.length > 0 ? { problem: c.problems[0] as ShardProblem } : {}),
    };
  }
  try {
    const lf = await openSinkFile(sink, file);
    const indices = await lf.readIndices();
    const recorded = META_KEYS.settings in lf.info.keyValueMetadata;
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k] as number;
      if (i < 0 || i < name.first || i > name.last) {
        const message = `row ${k}: index ${i} is outside ${name.first}..${name.last} (the range in its name)`;
        return {
          file,
          indices,
          settings: lf.info.settings,
          recorded,
          problem: { path: file.path, kind: "index", message },
        };
      }
    }
    return { file, indices, settings: lf.info.settings, recorded };
  } catch (error) {
    if (!isDataError(error)) {
      throw error;
    }
    return {
      file,
      indices: new Int32Array(0),
      settings: {},
      recorded: false,
      problem: { path: file.path, kind: "decode", message: oneLine(error) },
    };
  }
}

/**
 * Shards that are copies: every row of them is also in `trusted` or another shard. Shards with a hashed name are
 * kept over others, earlier paths over later ones.
 */
function findCopies(trusted: IndexSet, files: ScannedFile[]): ScannedFile[] {
  const seen = new IndexSet();
  seen.union(trusted);
  const extra = new Map<number, number>();
  for (const s of files) {
    const idx = s.indices;
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k] as number;
      if (!seen.add(i)) {
        extra.set(i, (extra.get(i) ?? 0) + 1);
      }
    }
  }
  if (extra.size === 0) {
    return [];
  }
  const order = [...files].sort((a, b) => {
    const ha = parseShardFileName(a.file.path) ? 1 : 0;
    const hb = parseShardFileName(b.file.path) ? 1 : 0;
    return ha - hb || (a.file.path < b.file.path ? 1 : a.file.path > b.file.path ? -1 : 0);
  });
  const copies: ScannedFile[] = [];
  for (const s of order) {
    const idx = s.indices;
    if (idx.length === 0 || !idx.every((i) => (extra.get(i) ?? 0) > 0)) {
      continue;
    }
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k] as number;
      const n = (extra.get(i) as number) - 1;
      if (n === 0) {
        extra.delete(i);
      } else {
        extra.set(i, n);
      }
    }
    copies.push(s);
    if (extra.size === 0) {
      break;
    }
  }
  return copies;
}

/**
 * Rows stored twice in shards that are not copies of each other: refuse, naming two shards holding one index (a
 * shard the checkpoint vouches for is found through the index range in its name).
 */
async function overlapError(files: ScannedFile[], known: SinkFile[], sink: Sink): Promise<HubStreamError> {
  const refuse = (i: number, a: string, b: string) =>
    new HubStreamError(
      "DUPLICATE_ROWS",
      `cannot resume: index ${i} is stored in both ${a} and ${b} of ${sink.location}, and neither shard is a copy of the others; move one of them away`,
      { path: b },
    );
  const where = new Map<number, string>();
  for (const s of files) {
    const idx = s.indices;
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k] as number;
      const other = where.get(i);
      if (other !== undefined) {
        return refuse(i, other, s.file.path);
      }
      where.set(i, s.file.path);
    }
  }
  // the other holder is a shard the checkpoint vouches for
  const [i, path] = [...where].sort(([x], [y]) => x - y).find(([, p]) => p !== undefined) ?? [0, ""];
  for (const f of known) {
    const name = parseShardFileName(f.path);
    if (name && name.first <= i && i <= name.last) {
      const indices = await (await openSinkFile(sink, f)).readIndices();
      if (indices.includes(i)) {
        return refuse(i, f.path, path);
      }
    }
  }
  return new HubStreamError(
    "DUPLICATE_ROWS",
    `cannot resume: ${path} of ${sink.location} stores rows stored elsewhere too; move it away`,
    {
      path,
    },
  );
}
