/**
 * Holds the cache lock of a folder until killed, printing one JSON line when it has it (or why not). Built by
 * test/global-setup.ts; the lock tests run it as PID 1 of a fresh PID namespace and as a plain live writer.
 */
import { LocalCache } from "../../src/index.js";

const cache = new LocalCache(process.argv[2] as string);
await cache.init();
try {
  const takenOver = await cache.lock();
  process.stdout.write(`${JSON.stringify({ event: "locked", pid: process.pid, takenOver: takenOver ?? null })}\n`);
  setInterval(() => undefined, 1000);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ event: "refused", message: (error as Error).message })}\n`);
  process.exit(3);
}
