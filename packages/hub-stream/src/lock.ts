import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { open, readFile, rm, stat, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import { HubStreamError } from "./errors.js";

/**
 * What identifies a running process instance: a pid alone does not (PID 1 of a restarted container, a pid reused on
 * a host). The start time of the pid (jiffies since boot, `/proc/<pid>/stat` field 22) and the boot id make the
 * pair unique on one machine; the run id tells two writers of one process apart.
 */
export interface ProcessIdentity {
  pid: number;
  /** Start time of `pid` since boot (clock ticks), when /proc can tell. */
  start?: number;
  /** `/proc/sys/kernel/random/boot_id`, when /proc can tell. */
  boot?: string;
  host: string;
  /** Random per lock holder. */
  run: string;
}

/** The start time of a pid (field 22 of /proc/<pid>/stat), undefined where /proc cannot tell (no such pid, not Linux). */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name (field 2) is in parentheses and may hold spaces or parentheses: split after the last ')'
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const start = Number(rest[19]);
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

let bootIdCache: string | null | undefined;
/** This machine's boot id (a new one at every boot), undefined where /proc has none. */
export function bootId(): string | undefined {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || null;
    } catch {
      bootIdCache = null;
    }
  }
  return bootIdCache ?? undefined;
}

/** This process's identity, with a fresh run id. */
export function currentIdentity(): ProcessIdentity {
  const start = processStartTime(process.pid);
  const boot = bootId();
  return {
    pid: process.pid,
    ...(start !== undefined ? { start } : {}),
    ...(boot !== undefined ? { boot } : {}),
    host: hostname(),
    run: randomBytes(8).toString("hex"),
  };
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether a lock owner is alive, dead, or cannot be told from here (another machine or container). */
export type OwnerState = "alive" | "dead" | "unknown";

/**
 * Is the process instance that wrote `owner` still running? Decided on this machine only: same boot id and host
 * (or, for locks written before boot ids were recorded, same host). A pid that runs but started at another time is a
 * reused pid: dead. Elsewhere: unknown (the lease decides).
 */
export function ownerState(owner: Partial<ProcessIdentity>): OwnerState {
  if (typeof owner.pid !== "number" || !Number.isInteger(owner.pid) || owner.pid <= 0) {
    return "dead";
  }
  const me = { host: hostname(), boot: bootId() };
  const sameMachine =
    owner.host === me.host && (owner.boot === undefined || me.boot === undefined || owner.boot === me.boot);
  if (!sameMachine) {
    // another host, or a reboot (same host, other boot id): every process of that boot is gone
    return owner.host === me.host && owner.boot !== undefined && me.boot !== undefined ? "dead" : "unknown";
  }
  if (!pidExists(owner.pid)) {
    return "dead";
  }
  if (owner.start !== undefined) {
    const start = processStartTime(owner.pid);
    if (start !== undefined && start !== owner.start) {
      return "dead"; // the pid was reused (a restarted container's PID 1, a recycled pid)
    }
  }
  return "alive";
}

export interface LockOptions {
  /** A lock not refreshed for this long, whose owner cannot be checked from here, is stale (default 120 s). */
  leaseMs?: number;
  /** How often the holder refreshes the lock (default leaseMs / 4). */
  refreshMs?: number;
}

/** A held lock: refreshed in the background until released. */
export interface HeldLock {
  readonly path: string;
  readonly identity: ProcessIdentity;
  /** Set when an earlier holder's lock was taken over: one line saying why. */
  readonly takenOver?: string;
  release(): Promise<void>;
}

function describe(owner: Partial<ProcessIdentity>): string {
  return `pid ${owner.pid ?? "?"}${owner.host ? ` on ${owner.host}` : ""}`;
}

/**
 * Take the lock file at `path` for this process instance. An owner that is not the same live instance (a dead pid, a
 * reused pid, an earlier boot, an unreadable lock, a lease not refreshed for `leaseMs`) is taken over, and
 * `takenOver` says so. A live owner on this machine, or one elsewhere whose lease is fresh, is an INVALID_STATE error
 * (`what` names the folder in the message).
 */
export async function acquireLock(path: string, what: string, options: LockOptions = {}): Promise<HeldLock> {
  const leaseMs = options.leaseMs ?? 120_000;
  const refreshMs = options.refreshMs ?? Math.max(1000, Math.floor(leaseMs / 4));
  const me = currentIdentity();
  let takenOver: string | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, "wx");
      try {
        await fh.writeFile(JSON.stringify(me));
        await fh.sync();
      } finally {
        await fh.close();
      }
      return held(path, me, takenOver, refreshMs);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw error;
      }
    }
    let owner: Partial<ProcessIdentity> = {};
    let text = "";
    let ageMs = 0;
    try {
      text = await readFile(path, "utf8");
      ageMs = Date.now() - (await stat(path)).mtimeMs;
      owner = JSON.parse(text) as Partial<ProcessIdentity>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        continue; // released meanwhile
      }
      // unparsable: a half-written lock of a killed process
    }
    const state = text === "" && ageMs < 2000 ? "alive" : ownerState(owner);
    if (state === "alive") {
      const self = owner.pid === me.pid && owner.start === me.start;
      throw new HubStreamError(
        "INVALID_STATE",
        self
          ? `${what} is in use by another writer in this process (pid ${me.pid}); give each writer its own cache folder`
          : `${what} is in use by a running writer (${describe(owner)}); wait for it to finish, stop it, or give each writer its own cache folder (--cache-dir)`,
        { path },
      );
    }
    if (state === "unknown" && ageMs < leaseMs) {
      throw new HubStreamError(
        "INVALID_STATE",
        `${what} is locked by a writer on another machine or container (${describe(owner)}), last active ${Math.round(ageMs / 1000)} s ago; the lock is taken over once it has not been refreshed for ${Math.round(leaseMs / 1000)} s (or remove ${path} if that writer is gone)`,
        { path },
      );
    }
    takenOver =
      state === "unknown"
        ? `took over the lock of ${what} from ${describe(owner)}: not refreshed for ${Math.round(ageMs / 1000)} s`
        : `took over the lock of ${what} from ${owner.pid === undefined ? "an unreadable lock" : describe(owner)}: that writer is no longer running`;
    await rm(path, { force: true });
  }
  throw new HubStreamError("INVALID_STATE", `cannot lock ${what}: the lock file keeps changing`, { path });
}

function held(path: string, identity: ProcessIdentity, takenOver: string | undefined, refreshMs: number): HeldLock {
  let released = false;
  const timer = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, refreshMs);
  timer.unref?.();
  return {
    path,
    identity,
    ...(takenOver !== undefined ? { takenOver } : {}),
    async release() {
      if (released) {
        return;
      }
      released = true;
      clearInterval(timer);
      // only our own lock: a lock taken over by another run (after a long pause of ours) stays
      try {
        const owner = JSON.parse(await readFile(path, "utf8")) as Partial<ProcessIdentity>;
        if (owner.run !== identity.run) {
          return;
        }
      } catch {
        return;
      }
      await rm(path, { force: true });
    },
  };
}

/**
 * The owner tag of temporary files (`{pid}-{start}-{boot id, 8 hex}`): a later run tells the temporary file of a
 * killed writer (removed) from one a live writer is still writing (kept).
 */
export function temporaryOwnerTag(): string {
  return `${process.pid}-${processStartTime(process.pid) ?? 0}-${(bootId() ?? "nobootid").replace(/-/g, "").slice(0, 8)}`;
}

/**
 * Whether the writer of a temporary file named with `temporaryOwnerTag` may still be writing it: alive on this
 * machine, or (no tag, another machine) modified less than `graceMs` ago.
 */
export function temporaryOwnerAlive(name: string, ageMs: number, graceMs = 3_600_000): boolean {
  const m = /\.(\d+)-(\d+)-([0-9a-z]{8})-[0-9a-f]+\.tmp$/.exec(name);
  const boot = (bootId() ?? "nobootid").replace(/-/g, "").slice(0, 8);
  if (!m || m[3] !== boot) {
    return ageMs < graceMs;
  }
  const pid = Number(m[1]);
  if (pid === process.pid) {
    return true;
  }
  if (!pidExists(pid)) {
    return false;
  }
  const start = processStartTime(pid);
  return start === undefined || Number(m[2]) === 0 || start === Number(m[2]);
}
