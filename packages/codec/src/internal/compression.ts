import * as zlib from "node:zlib";
import { CodecError } from "../errors.js";
import { snappyDecompress, snappyMaxOutput } from "./snappy.js";
import { zstdCompress, zstdDecompress } from "./zstd.js";

/** Parquet CompressionCodec ids. */
export const Codec = {
  UNCOMPRESSED: 0,
  SNAPPY: 1,
  GZIP: 2,
  LZO: 3,
  BROTLI: 4,
  LZ4: 5,
  ZSTD: 6,
  LZ4_RAW: 7,
} as const;

export const CODEC_NAMES = ["UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"] as const;
export type CodecName = (typeof CODEC_NAMES)[number];

/** A user-supplied decompressor: `(input, uncompressedSize) => output`. */
export type Decompressor = (input: Uint8Array, outputLength: number) => Uint8Array;

let snappyOut = new Uint8Array(1 << 16);

/**
 * Decompress one page. The result may be a view into a reused buffer: the caller consumes it before the next call.
 */
export function decompress(
  codec: number,
  input: Uint8Array,
  size: number,
  custom?: Partial<Record<CodecName, Decompressor>>,
): Uint8Array {
  const name = CODEC_NAMES[codec];
  const user = name ? custom?.[name] : undefined;
  if (user) {
    return user(input, size);
  }
  switch (codec) {
    case Codec.UNCOMPRESSED:
      return input;
    case Codec.ZSTD:
      return zstdDecompress(input, size);
    case Codec.SNAPPY: {
      if (size > snappyMaxOutput(input.length)) {
        throw new CodecError("CORRUPT_FILE", `snappy: ${input.length} bytes cannot hold the ${size} bytes declared`);
      }
      if (snappyOut.length < size) {
        snappyOut = new Uint8Array(Math.max(size, snappyOut.length * 2));
      }
      const out = snappyOut.subarray(0, size);
      snappyDecompress(input, out);
      return out;
    }
    case Codec.GZIP:
      return wrapZlib(() => zlib.gunzipSync(input, { maxOutputLength: Math.max(size, 1) }), "gzip");
    case Codec.BROTLI:
      return wrapZlib(() => zlib.brotliDecompressSync(input, { maxOutputLength: Math.max(size, 1) }), "brotli");
    default:
      throw new CodecError(
        "UNSUPPORTED",
        `compression ${name ?? codec} is not supported; pass a decompressor for it in the \`decompressors\` option`,
      );
  }
}

function wrapZlib(run: () => Buffer, what: string): Uint8Array {
  try {
    const out = run();
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  } catch (error) {
    throw new CodecError("CORRUPT_FILE", `${what}: ${(error as Error).message}`, {}, { cause: error });
  }
}

/** Compression the writer offers. */
export type WriteCompression = "zstd" | "none";

export function compress(kind: WriteCompression, input: Uint8Array, level: number): Uint8Array {
  return kind === "zstd" ? zstdCompress(input, level) : input;
}

export function codecId(kind: WriteCompression): number {
  return kind === "zstd" ? Codec.ZSTD : Codec.UNCOMPRESSED;
}
