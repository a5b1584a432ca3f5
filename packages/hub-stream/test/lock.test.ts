import { spawn, spawnSync } from "node:child_process";
import { readFile, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FolderSink, type HubStreamError, LocalCache, StreamingWriter, type WriterEvent } from "../src/index.js";
import { bootId, processStartTime } from "../src/lock.js";
import { LOCK_CHILD, spawnProcess } from "./child.js";
import { SETTINGS, tempDir } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    await c();
  }
});

async function dirs() {
  const dir = await tempDir("hub-stream-lock-");
  cleanups.push(dir.cleanup);
  return { sink: new FolderSink(join(dir.path, "out")), cacheDir: join(dir.path, "cache") };
}

/** Whether `unshare -fp --mount-proc` works here (root, or user namespaces allowed). */
const unshareWorks = (() => {
  const r = spawnSync("unshare", ["-fp", "--mount-proc", "--kill-child", "sh", "-c", "echo $$"], { encoding: "utf8" });
  const ok = r.status === 0 && r.stdout.trim() === "1";
  if (!ok) {
    console.warn(
      `lock test in a fresh PID namespace not run: unshare -fp --mount-proc does not work here (${r.error?.message ?? r.stderr.trim()})`,
    );
  }
  return ok;
})();

describe("cache lock", () => {
  it.runIf(unshareWorks)(
    "a run killed as PID 1 of a PID namespace and restarted as PID 1 again takes its lock over",
    async () => {
      const { cacheDir } = await dirs();
      const args = ["-fp", "--mount-proc", "--kill-child", process.execPath, LOCK_CHILD, cacheDir];
      const first = spawnProcess("unshare", args);
      cleanups.push(() => void first.proc.kill("SIGKILL"));
      await first.waitFor("locked");
      expect(first.events[0]?.pid).toBe(1);
      const lock = JSON.parse(await readFile(join(cacheDir, "lock"), "utf8"));
      expect(lock.pid).toBe(1);
      first.proc.kill("SIGKILL"); // --kill-child: PID 1 of the namespace dies with it, the lock file stays
      await first.exited;
      await new Promise((r) => setTimeout(r, 200));
      const second = spawnProcess("unshare", args);
      cleanups.push(() => void second.proc.kill("SIGKILL"));
      await Promise.race([second.waitFor("locked"), second.waitFor("refused")]);
      expect(second.events[0]).toMatchObject({ event: "locked", pid: 1 });
      expect(String(second.events[0]?.takenOver)).toMatch(/took over the lock .* from pid 1 on .*no longer running/);
      second.proc.kill("SIGKILL");
      await second.exited;
    },
  );

  it("a lock naming a live pid that started at another time (a reused pid) is taken over, with a warning event", async () => {
    const { sink, cacheDir } = await dirs();
    const sleeper = spawn("sleep", ["60"], { stdio: "ignore" });
    cleanups.push(() => void sleeper.kill("SIGKILL"));
    const pid = sleeper.pid as number;
    const start = processStartTime(pid);
    expect(start).toBeTypeOf("number");
    await new LocalCache(cacheDir).init();
    await writeFile(
      join(cacheDir, "lock"),
      JSON.stringify({ pid, start: (start as number) - 1000, boot: bootId(), host: hostname(), run: "earlier" }),
    );
    const events: WriterEvent[] = [];
    const w = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, onEvent: (e) => events.push(e) });
    const warnings = events.filter((e) => e.type === "warning").map((e) => (e as { message: string }).message);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`from pid ${pid} on ${hostname()}: that writer is no longer running`);
    expect(warnings[0]?.split("\n")).toHaveLength(1);
    const lock = JSON.parse(await readFile(join(cacheDir, "lock"), "utf8"));
    expect(lock).toMatchObject({ pid: process.pid, start: processStartTime(process.pid), host: hostname() });
    await w.close();
  });

  it("a truly live writer in another process is refused, with advice that is right", async () => {
    const { sink, cacheDir } = await dirs();
    const holder = spawnProcess(process.execPath, [LOCK_CHILD, cacheDir]);
    cleanups.push(() => void holder.proc.kill("SIGKILL"));
    await holder.waitFor("locked");
    const e = (await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS }).catch(
      (x: unknown) => x,
    )) as HubStreamError;
    expect(e.code).toBe("INVALID_STATE");
    expect(e.message).toContain(`is in use by a running writer (pid ${holder.proc.pid} on ${hostname()})`);
    expect(e.message).toContain("--cache-dir");
    holder.proc.kill("SIGKILL");
    await holder.exited;
    // gone now: taken over
    const w = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS });
    await w.close();
  });

  it("a lock from another machine is refused while its lease is fresh and taken over once it is stale", async () => {
    const { sink, cacheDir } = await dirs();
    await new LocalCache(cacheDir).init();
    const path = join(cacheDir, "lock");
    await writeFile(path, JSON.stringify({ pid: 4242, start: 1, boot: "other-boot", host: "elsewhere", run: "x" }));
    const e = (await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, lock: { leaseMs: 60_000 } }).catch(
      (x: unknown) => x,
    )) as HubStreamError;
    expect(e.code).toBe("INVALID_STATE");
    expect(e.message).toContain("locked by a writer on another machine or container (pid 4242 on elsewhere)");
    const old = new Date(Date.now() - 120_000);
    await utimes(path, old, old);
    const events: WriterEvent[] = [];
    const w = await StreamingWriter.open({
      sink,
      cacheDir,
      settings: SETTINGS,
      lock: { leaseMs: 60_000 },
      onEvent: (ev) => events.push(ev),
    });
    expect(events.some((ev) => ev.type === "warning" && /not refreshed for 1[12]\d s/.test(ev.message))).toBe(true);
    await w.close();
  });

  it("the holder refreshes its lease while it runs", async () => {
    const { cacheDir } = await dirs();
    const cache = new LocalCache(cacheDir);
    await cache.init();
    await cache.lock({ leaseMs: 4000, refreshMs: 1000 });
    const path = join(cacheDir, "lock");
    const old = new Date(Date.now() - 60_000);
    await utimes(path, old, old);
    await new Promise((r) => setTimeout(r, 1500));
    const { stat } = await import("node:fs/promises");
    expect(Date.now() - (await stat(path)).mtimeMs).toBeLessThan(1500);
    await cache.unlock();
  });
});
