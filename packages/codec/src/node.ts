/**
 * Node-only helpers: files as byte sources and sinks. `@logitpack/codec/node`.
 */
import { randomBytes } from "node:crypto";
import { open, rename, rm, stat } from "node:fs/promises";
import type { EncodedRow } from "./encode.js";
import { CodecError } from "./errors.js";
import type { ByteSource } from "./internal/parquet-reader.js";
import { type LogitFile, type OpenOptions, openLogitFile } from "./read.js";
import { type ByteSink, LogitWriter, type LogitWriterOptions } from "./write.js";

/** A local file as a byte source: each slice is one positioned read (no file handle is held open). */
export async function fileSource(path: string): Promise<ByteSource> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    throw new CodecError(
      "OUT_OF_RANGE",
      `cannot read: ${(error as NodeJS.ErrnoException).code ?? error}`,
      { file: path },
      {
        cause: error,
      },
    );
  }
  return {
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const fh = await open(path, "r");
      try {
        const buf = new Uint8Array(end - start);
        let done = 0;
        while (done < buf.length) {
          const { bytesRead } = await fh.read(buf, done, buf.length - done, start + done);
          if (bytesRead === 0) {
            break;
          }
          done += bytesRead;
        }
        return (done === buf.length ? buf.buffer : buf.buffer.slice(0, done)) as ArrayBuffer;
      } finally {
        await fh.close();
      }
    },
  };
}

/** Open a local logit file. */
export async function openLogitFileAt(path: string, options: OpenOptions = {}): Promise<LogitFile> {
  return openLogitFile(await fileSource(path), { name: path, ...options });
}

/**
 * A file sink that writes to a temporary file beside `path` and, on close, fsyncs and renames it into place: a
 * reader never sees a half-written file, and a crash leaves the old file (if any) untouched.
 */
export async function fileSink(path: string): Promise<ByteSink & { abort(): Promise<void> }> {
  const tmp = `${path}.${randomBytes(4).toString("hex")}.partial`;
  const fh = await open(tmp, "w");
  let closed = false;
  return {
    async write(chunk: Uint8Array) {
      let done = 0;
      while (done < chunk.length) {
        const { bytesWritten } = await fh.write(chunk, done, chunk.length - done);
        done += bytesWritten;
      }
    },
    async close() {
      if (closed) {
        return;
      }
      closed = true;
      await fh.sync();
      await fh.close();
      await rename(tmp, path);
    },
    async abort() {
      if (!closed) {
        closed = true;
        await fh.close();
      }
      await rm(tmp, { force: true });
    },
  };
}

/** Write rows to a local Parquet file atomically. */
export async function writeLogitFileAt(
  path: string,
  rows: Iterable<EncodedRow> | AsyncIterable<EncodedRow>,
  options: LogitWriterOptions = {},
): Promise<{ rows: number; bytes: number }> {
  const sink = await fileSink(path);
  try {
    const writer = await LogitWriter.create(sink, options);
    for await (const row of rows) {
      await writer.write(row);
    }
    return await writer.close();
  } catch (error) {
    await sink.abort();
    throw error;
  }
}

export { type ReadShardsOptions, readShards, type ShardBatch } from "./shards.js";
