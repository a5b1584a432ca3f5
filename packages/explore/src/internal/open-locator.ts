import { type LogitFile, openLogitFile, urlSource } from "@logitpack/codec";
import { openLogitFileAt } from "@logitpack/codec/node";
import type { ShardLocator } from "../dataset.js";

/** Opens a shard from its locator (in a worker thread, or anywhere). */
export async function openLocator(locator: ShardLocator): Promise<LogitFile> {
  if (locator.kind === "file") {
    return openLogitFileAt(locator.path);
  }
  const options: { headers?: Record<string, string>; byteLength?: number } = {};
  if (locator.headers) {
    options.headers = locator.headers;
  }
  if (locator.byteLength !== undefined) {
    options.byteLength = locator.byteLength;
  }
  return openLogitFile(await urlSource(locator.url, options), { name: locator.url });
}
