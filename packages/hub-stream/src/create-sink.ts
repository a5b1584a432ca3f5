import { FolderSink } from "./folder-sink.js";
import type { FsLayer } from "./fs.js";
import { HubSink, type HubSinkOptions } from "./hub-sink.js";
import type { Sink } from "./sink.js";

/** Where shards go: a local folder (the default), or a Hub dataset repo. */
export type SinkSpec = { folder: string; fs?: FsLayer } | ({ hub: true } & HubSinkOptions);

/**
 * Build a sink. `{ folder }` writes `data/*.parquet` and `README.md` into a local folder; `{ hub: true, repo }`
 * commits them to a Hub dataset repo (created if missing) with the token from the options or `HF_TOKEN` and the
 * endpoint from the options or `HF_ENDPOINT`.
 */
export async function createSink(spec: SinkSpec): Promise<Sink> {
  if ("folder" in spec) {
    return new FolderSink(spec.folder, spec.fs);
  }
  return HubSink.create(spec);
}
