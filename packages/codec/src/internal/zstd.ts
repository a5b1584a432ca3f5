import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as zlib from "node:zlib";
import { CodecError } from "../errors.js";

/**
 * zstd for Parquet pages. Node >= 22.15 has zstd in `node:zlib` (native, fastest); elsewhere the WebAssembly build
 * of `@bokuweb/zstd-wasm` is used through its emscripten module, with one reusable heap buffer (the package's own
 * helpers allocate per call and guess the output size).
 */
interface ZstdModule {
  init(wasm: Uint8Array): void;
  HEAPU8: Uint8Array;
  _malloc(n: number): number;
  _free(p: number): void;
  _ZSTD_decompress(dst: number, dstCap: number, src: number, srcLen: number): number;
  _ZSTD_compress(dst: number, dstCap: number, src: number, srcLen: number, level: number): number;
  _ZSTD_compressBound(n: number): number;
  _ZSTD_isError(code: number): number;
}

interface NativeZstd {
  zstdDecompressSync(buf: Uint8Array, opts?: object): Buffer;
  zstdCompressSync(buf: Uint8Array, opts?: object): Buffer;
  constants: Record<string, number>;
}

const native = (zlib as unknown as Partial<NativeZstd>).zstdDecompressSync ? (zlib as unknown as NativeZstd) : null;

let wasm: ZstdModule | null = null;
let loading: Promise<void> | null = null;
let forceWasm = false;

/** Which zstd implementation is active ("native" or "wasm"). */
export function zstdBackend(): "native" | "wasm" {
  return native && !forceWasm ? "native" : "wasm";
}

/** Benchmarks and tests: use the wasm build even where node:zlib has zstd. */
export function preferWasmZstd(on: boolean): void {
  forceWasm = on;
}

/** Load the wasm module if it will be needed. Idempotent; every async reader/writer entry point awaits it. */
export function ensureZstd(): Promise<void> {
  if (wasm || (native && !forceWasm)) {
    return Promise.resolve();
  }
  loading ??= (async () => {
    // The package exports only its root; its emscripten module and .wasm sit beside the root entry.
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve("@bokuweb/zstd-wasm"));
    const mod = require(join(dir, "module.js")) as { Module: ZstdModule; waitInitialized(): Promise<void> };
    const { readFile } = await import("node:fs/promises");
    mod.Module.init(await readFile(join(dir, "zstd.wasm")));
    await mod.waitInitialized();
    wasm = mod.Module;
  })();
  return loading;
}

// One growing region of the wasm heap for input and output.
let heapPtr = 0;
let heapSize = 0;

function heap(size: number, m: ZstdModule): number {
  if (size > heapSize) {
    if (heapPtr) {
      m._free(heapPtr);
    }
    heapSize = Math.max(size, heapSize * 2, 1 << 20);
    heapPtr = m._malloc(heapSize);
    if (!heapPtr) {
      heapSize = 0;
      throw new RangeError(`zstd: cannot allocate ${size} bytes of wasm memory`);
    }
  }
  return heapPtr;
}

function loaded(): ZstdModule {
  if (!wasm) {
    throw new Error("zstd wasm not loaded: call ensureZstd() first");
  }
  return wasm;
}

/**
 * Decompress a zstd frame whose decompressed size is `size`. The result may be a view into a buffer that the next
 * call reuses: consume or copy it before decompressing again.
 */
export function zstdDecompress(src: Uint8Array, size: number): Uint8Array {
  if (native && !forceWasm) {
    try {
      return native.zstdDecompressSync(src, { maxOutputLength: Math.max(size, 1) });
    } catch (error) {
      throw new CodecError("CORRUPT_FILE", `zstd: ${(error as Error).message}`, {}, { cause: error });
    }
  }
  const m = loaded();
  const base = heap(src.length + size, m);
  m.HEAPU8.set(src, base);
  const dst = base + src.length;
  const n = m._ZSTD_decompress(dst, size, base, src.length);
  if (m._ZSTD_isError(n) || n !== size) {
    throw new CodecError(
      "CORRUPT_FILE",
      m._ZSTD_isError(n) ? "zstd: corrupt compressed page" : `zstd: page decompressed to ${n} bytes, ${size} declared`,
    );
  }
  return m.HEAPU8.subarray(dst, dst + n);
}

/** Compress with zstd at `level`; returns a fresh array. */
export function zstdCompress(src: Uint8Array, level: number): Uint8Array {
  if (native && !forceWasm) {
    const out = native.zstdCompressSync(src, {
      params: { [native.constants.ZSTD_c_compressionLevel as number]: level },
    });
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }
  const m = loaded();
  const bound = m._ZSTD_compressBound(src.length);
  const base = heap(src.length + bound, m);
  m.HEAPU8.set(src, base);
  const dst = base + src.length;
  const n = m._ZSTD_compress(dst, bound, base, src.length, level);
  if (m._ZSTD_isError(n)) {
    throw new Error(`zstd: compression failed (code ${n})`);
  }
  return m.HEAPU8.slice(dst, dst + n);
}
