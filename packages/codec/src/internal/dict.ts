import { CodecError } from "../errors.js";
import type { Cursor } from "./levels.js";

/**
 * Dictionary pages as other writers (pyarrow, DuckDB, arrow-rs) produce them: the RLE/bit-packed hybrid indices
 * are decoded into one reused Int32Array by a loop that only ever sees that type, then gathered into the output by
 * one loop per (dictionary type, output type). V8 keeps each loop monomorphic; a single generic loop over
 * `DecodedValues` is megamorphic and an order of magnitude slower.
 */

let scratch = new Int32Array(1 << 16);

/**
 * Decode `n` dictionary indices (bit width `width` <= 32) from `c` into a reused array (valid until the next call).
 * Every index is checked against `dictSize` (one unsigned compare of the OR/max, not a branch per value).
 */
export function readDictIndices(c: Cursor, width: number, n: number, dictSize: number): Int32Array {
  if (scratch.length < n) {
    scratch = new Int32Array(Math.max(n, scratch.length * 2));
  }
  const out = scratch;
  const bytes = c.bytes;
  const end = c.end;
  const valueBytes = (width + 7) >>> 3;
  const mask = width >= 32 ? -1 : (1 << width) - 1;
  let i = 0;
  let max = 0;
  // indices of `width` bits cannot reach a dictionary of 2^width or more entries: no per-value check then
  const check = width >= 31 || dictSize < 2 ** width;
  while (i < n) {
    if (c.pos >= end) {
      throw new CodecError("CORRUPT_FILE", `dictionary indices end after ${i} of ${n}`);
    }
    // varint run header
    let header = 0;
    let mul = 1;
    for (let k = 0; ; k++) {
      if (c.pos >= end || k >= 5) {
        throw new CodecError("CORRUPT_FILE", "run header past the end of its page");
      }
      const b = bytes[c.pos++] as number;
      header += (b & 0x7f) * mul;
      if (b < 0x80) {
        break;
      }
      mul *= 128;
    }
    if ((header & 1) === 0) {
      const run = header / 2;
      if (c.pos + valueBytes > end) {
        throw new CodecError("CORRUPT_FILE", "RLE run value past the end of its page");
      }
      let value = 0;
      for (let b = 0; b < valueBytes; b++) {
        value |= (bytes[c.pos++] as number) << (8 * b);
      }
      const m = Math.min(run, n - i);
      out.fill(value, i, i + m);
      if (m > 0 && value >>> 0 > max) {
        max = value >>> 0;
      }
      i += m;
      continue;
    }
    const groups = (header - 1) / 2;
    const byteLen = groups * width;
    if (c.pos + byteLen > end) {
      throw new CodecError("CORRUPT_FILE", "bit-packed run past the end of its page");
    }
    const m = Math.min(groups * 8, n - i);
    const base = c.pos;
    if (width === 0) {
      out.fill(0, i, i + m);
    } else if (width === 8) {
      for (let k = 0; k < m; k++) {
        out[i + k] = bytes[base + k] as number;
      }
    } else if (width === 16) {
      for (let k = 0; k < m; k++) {
        out[i + k] = (bytes[base + 2 * k] as number) | ((bytes[base + 2 * k + 1] as number) << 8);
      }
    } else if (width <= 24) {
      // a 32-bit little-endian window at the value's first byte holds all of its bits (shift <= 7, width <= 24);
      // the last 3 bytes of the run are read one at a time so the window never passes the run's end
      let k = 0;
      const safe = byteLen >= 4 ? Math.min(m, Math.floor(((byteLen - 4) * 8) / width) + 1) : 0;
      for (; k < safe; k++) {
        const bit = k * width;
        const p = base + (bit >>> 3);
        const w =
          (bytes[p] as number) |
          ((bytes[p + 1] as number) << 8) |
          ((bytes[p + 2] as number) << 16) |
          ((bytes[p + 3] as number) << 24);
        out[i + k] = (w >>> (bit & 7)) & mask;
      }
      for (; k < m; k++) {
        out[i + k] = readBits(bytes, base, k * width, width);
      }
    } else {
      for (let k = 0; k < m; k++) {
        out[i + k] = readBits(bytes, base, k * width, width);
      }
    }
    if (check) {
      for (let k = 0; k < m; k++) {
        const v = (out[i + k] as number) >>> 0;
        if (v > max) {
          max = v;
        }
      }
    }
    c.pos += byteLen;
    i += m;
  }
  if (n > 0 && max >= dictSize) {
    throw new CodecError("CORRUPT_FILE", `dictionary index ${max} >= dictionary size ${dictSize}`);
  }
  return out;
}

/** `width` (<= 32) bits at bit `bitOffset` after `base`, little-endian, unsigned (may exceed 2^31 - 1 as a number). */
function readBits(bytes: Uint8Array, base: number, bitOffset: number, width: number): number {
  let value = 0;
  let mul = 1;
  let bit = bitOffset;
  let remaining = width;
  while (remaining > 0) {
    const byte = bytes[base + (bit >>> 3)] as number;
    const shift = bit & 7;
    const take = Math.min(8 - shift, remaining);
    value += ((byte >>> shift) & ((1 << take) - 1)) * mul;
    mul *= 2 ** take;
    bit += take;
    remaining -= take;
  }
  return value | 0;
}

// One gather loop per output type. Each returns the OR of the values (for the uint8/uint16 range check).

export function gatherI32(dict: Int32Array, idx: Int32Array, n: number, out: Int32Array, offset: number): number {
  let or = 0;
  for (let i = 0; i < n; i++) {
    const v = dict[idx[i] as number] as number;
    out[offset + i] = v;
    or |= v;
  }
  return or;
}

export function gatherU16(dict: Int32Array, idx: Int32Array, n: number, out: Uint16Array, offset: number): number {
  let or = 0;
  for (let i = 0; i < n; i++) {
    const v = dict[idx[i] as number] as number;
    out[offset + i] = v;
    or |= v;
  }
  return or;
}

export function gatherU8(dict: Int32Array, idx: Int32Array, n: number, out: Uint8Array, offset: number): number {
  let or = 0;
  for (let i = 0; i < n; i++) {
    const v = dict[idx[i] as number] as number;
    out[offset + i] = v;
    or |= v;
  }
  return or;
}

export function gatherF32(dict: Float32Array, idx: Int32Array, n: number, out: Float32Array, offset: number): void {
  for (let i = 0; i < n; i++) {
    out[offset + i] = dict[idx[i] as number] as number;
  }
}

export function gatherF64(dict: Float64Array, idx: Int32Array, n: number, out: Float64Array, offset: number): void {
  for (let i = 0; i < n; i++) {
    out[offset + i] = dict[idx[i] as number] as number;
  }
}
