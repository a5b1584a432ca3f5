/**
 * A download above 4 GiB (a generated file the local Hub server streams, never whole in memory nor on its disk)
 * lands in the cache with the client's peak RSS under 300 MB, resuming after a connection dropped past 2^31 bytes.
 * Not in the default run (about a minute and 4.5 GB of disk): `pnpm --filter @logitpack/hub-stream test:large`.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, stat, statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatedFile, generatedSha256, startHubServer } from "@logitpack/hub-server";
import { expect, it } from "vitest";

const SIZE = 4.5 * 2 ** 30;
const DROP_AT = 2 ** 31 + 12345;

it("downloads a 4.5 GiB file with bounded memory and resumes past 2 GiB", async () => {
  const dir = await mkdtemp(join(tmpdir(), "hub-large-"));
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  // Guard, not a skip: the test needs the space, so say so plainly.
  expect(free, `this test needs ${SIZE + 2 ** 30} bytes free in ${tmpdir()}`).toBeGreaterThan(SIZE + 2 ** 30);
  const hub = await startHubServer();
  try {
    const gen = generatedFile(SIZE, 11);
    const sha = await generatedSha256(gen);
    await hub.seed("me/huge", { "onnx/model.onnx_data": { ...gen, fill: gen.fill, sha256: sha } });
    hub.faults = [{ routes: ["resolve"], method: "GET", action: { dropAfterBytes: DROP_AT }, times: 1 }];
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(import.meta.dirname, "download-child.ts"),
        JSON.stringify({ repo: "me/huge", path: "onnx/model.onnx_data", hubUrl: hub.url, cacheDir: dir }),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code, err).toBe(0);
    const result = JSON.parse(out.trim()) as {
      path: string;
      peakRssBytes: number;
      reports: number;
      lastBytes: number;
      bytesPerSecond: number;
      seconds: number;
    };
    process.stdout.write(`${JSON.stringify({ ...result, path: undefined, size: SIZE, dropAt: DROP_AT })}\n`);
    expect(result.peakRssBytes).toBeLessThan(300e6);
    expect(result.lastBytes).toBe(SIZE);
    expect((await stat(result.path)).size).toBe(SIZE);
    // The client checked the bytes against the LFS sha256 (the server's, computed from the generator): it would
    // have failed with CACHE_CORRUPT otherwise. The server saw one dropped GET and one range GET for the rest.
    const gets = hub.log.filter((r) => r.route === "resolve" && r.method === "GET");
    expect(gets.map((r) => r.status)).toEqual([200, 206]);
    expect(gets[1]?.bytes).toBeLessThan(SIZE - 2 ** 31);
    expect((gets[0]?.bytes ?? 0) + (gets[1]?.bytes ?? 0)).toBeGreaterThanOrEqual(SIZE);
  } finally {
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  }
}, 900_000);
