import { CodecError } from "../errors.js";
import { type Cursor, readBitsWide } from "./levels.js";

/**
 * Dictionary-encoded data pages as other writers (pyarrow, DuckDB, arrow-rs) produce them. The RLE/bit-packed
 * hybrid runs of indices are parsed by one shared function; each output type has its own gather function (V8 keeps
 * each loop monomorphic; one generic loop over all typed-array types is megamorphic and an order of magnitude
 * slower). 16-bit and 8-bit indices (a uint16 column's dictionary of up to 65,536 values) are gathered straight from
 * the page bytes; other widths are unpacked into a reused Int32Array first.
 */

/** The run `nextRun` parsed: RLE (`count` copies of `value`) or bit-packed (`count` values at byte `base`). */
const run = { packed: false, value: 0, count: 0, base: 0 };

let scratch = new Int32Array(4096);

function varint(c: Cursor): number {
  let header = 0;
  let mul = 1;
  for (let k = 0; ; k++) {
    if (c.pos >= c.end || k >= 5) {
      throw new CodecError("CORRUPT_FILE", "dictionary index run header past the end of its page");
    }
    const b = c.bytes[c.pos++] as number;
    header += (b & 0x7f) * mul;
    if (b < 0x80) {
      return header;
    }
    mul *= 128;
  }
}

/** Parse the next run (at most `left` values of it are used); checks it lies inside the page. */
function nextRun(c: Cursor, width: number, left: number): void {
  const header = varint(c);
  if ((header & 1) === 0) {
    const valueBytes = (width + 7) >>> 3;
    if (c.pos + valueBytes > c.end) {
      throw new CodecError("CORRUPT_FILE", "RLE run value past the end of its page");
    }
    let value = 0;
    for (let b = 0; b < valueBytes; b++) {
      value += (c.bytes[c.pos++] as number) * 2 ** (8 * b);
    }
    run.packed = false;
    run.value = value;
    run.count = Math.min(header / 2, left);
    return;
  }
  const groups = (header - 1) / 2;
  const byteLen = groups * width;
  if (c.pos + byteLen > c.end) {
    throw new CodecError("CORRUPT_FILE", "bit-packed run past the end of its page");
  }
  run.packed = true;
  run.base = c.pos;
  run.count = Math.min(groups * 8, left);
  c.pos += byteLen;
}

/** Unpack `m` indices of `width` bits (not 8 or 16) at `base` into `scratch`; returns their maximum. */
function unpack(bytes: Uint8Array, base: number, width: number, m: number): number {
  if (scratch.length < m) {
    scratch = new Int32Array(Math.max(m, scratch.length * 2));
  }
  const out = scratch;
  let max = 0;
  if (width === 0) {
    out.fill(0, 0, m);
    return 0;
  }
  if (width <= 24) {
    const mask = (1 << width) - 1;
    const byteLen = Math.ceil((m * width) / 8);
    // a 32-bit window at the value's first byte holds all its bits (shift <= 7, width <= 24); near the end of the
    // run, bytes are read one at a time so the window never passes it
    const safe = byteLen >= 4 ? Math.min(m, Math.floor(((byteLen - 4) * 8) / width) + 1) : 0;
    let k = 0;
    for (; k < safe; k++) {
      const bit = k * width;
      const p = base + (bit >>> 3);
      const w =
        (bytes[p] as number) |
        ((bytes[p + 1] as number) << 8) |
        ((bytes[p + 2] as number) << 16) |
        ((bytes[p + 3] as number) << 24);
      const v = (w >>> (bit & 7)) & mask;
      out[k] = v;
      max = Math.max(v, max);
    }
    for (; k < m; k++) {
      const v = readBitsWide(bytes, base, k * width, width);
      out[k] = v;
      max = Math.max(v, max);
    }
    return max;
  }
  for (let k = 0; k < m; k++) {
    const v = readBitsWide(bytes, base, k * width, width);
    out[k] = v;
    max = Math.max(v, max);
  }
  return max;
}

function badIndex(index: number, size: number): never {
  throw new CodecError("CORRUPT_FILE", `dictionary index ${index} >= dictionary size ${size}`);
}

function ended(i: number, n: number): never {
  throw new CodecError("CORRUPT_FILE", `dictionary indices end after ${i} of ${n}`);
}

// One function per output type; each returns the OR of the values written (integer outputs: for the uint8/uint16
// range check). A run's indices are checked against the dictionary size once per run (16- and 8-bit runs need no
// check when the dictionary has 2^16 / 2^8 entries; else their maximum is taken).

export function dictI32(c: Cursor, width: number, n: number, dict: Int32Array, out: Int32Array, o: number): number {
  const size = dict.length;
  const bytes = c.bytes;
  let or = 0;
  let i = 0;
  while (i < n) {
    if (c.pos >= c.end) {
      ended(i, n);
    }
    nextRun(c, width, n - i);
    const m = run.count;
    const at = o + i;
    if (!run.packed) {
      if (run.value >= size) {
        badIndex(run.value, size);
      }
      const v = dict[run.value] as number;
      out.fill(v, at, at + m);
      or |= m > 0 ? v : 0;
    } else if (width === 16 && size >= 65536) {
      const b = run.base;
      for (let k = 0; k < m; k++) {
        const v = dict[(bytes[b + 2 * k] as number) | ((bytes[b + 2 * k + 1] as number) << 8)] as number;
        out[at + k] = v;
        or |= v;
      }
    } else {
      const max = unpackAny(bytes, run.base, width, m);
      if (m > 0 && max >= size) {
        badIndex(max, size);
      }
      const idx = scratch;
      for (let k = 0; k < m; k++) {
        const v = dict[idx[k] as number] as number;
        out[at + k] = v;
        or |= v;
      }
    }
    i += m;
  }
  return or;
}

export function dictU16(c: Cursor, width: number, n: number, dict: Int32Array, out: Uint16Array, o: number): number {
  const size = dict.length;
  const bytes = c.bytes;
  let or = 0;
  let i = 0;
  while (i < n) {
    if (c.pos >= c.end) {
      ended(i, n);
    }
    nextRun(c, width, n - i);
    const m = run.count;
    const at = o + i;
    if (!run.packed) {
      if (run.value >= size) {
        badIndex(run.value, size);
      }
      const v = dict[run.value] as number;
      out.fill(v, at, at + m);
      or |= m > 0 ? v : 0;
    } else if (width === 16 && size >= 65536) {
      const b = run.base;
      for (let k = 0; k < m; k++) {
        const v = dict[(bytes[b + 2 * k] as number) | ((bytes[b + 2 * k + 1] as number) << 8)] as number;
        out[at + k] = v;
        or |= v;
      }
    } else {
      const max = unpackAny(bytes, run.base, width, m);
      if (m > 0 && max >= size) {
        badIndex(max, size);
      }
      const idx = scratch;
      for (let k = 0; k < m; k++) {
        const v = dict[idx[k] as number] as number;
        out[at + k] = v;
        or |= v;
      }
    }
    i += m;
  }
  return or;
}

export function dictU8(c: Cursor, width: number, n: number, dict: Int32Array, out: Uint8Array, o: number): number {
  const size = dict.length;
  const bytes = c.bytes;
  let or = 0;
  let i = 0;
  while (i < n) {
    if (c.pos >= c.end) {
      ended(i, n);
    }
    nextRun(c, width, n - i);
    const m = run.count;
    const at = o + i;
    if (!run.packed) {
      if (run.value >= size) {
        badIndex(run.value, size);
      }
      const v = dict[run.value] as number;
      out.fill(v, at, at + m);
      or |= m > 0 ? v : 0;
    } else {
      const max = unpackAny(bytes, run.base, width, m);
      if (m > 0 && max >= size) {
        badIndex(max, size);
      }
      const idx = scratch;
      for (let k = 0; k < m; k++) {
        const v = dict[idx[k] as number] as number;
        out[at + k] = v;
        or |= v;
      }
    }
    i += m;
  }
  return or;
}

export function dictF32(c: Cursor, width: number, n: number, dict: Float32Array, out: Float32Array, o: number): void {
  const size = dict.length;
  let i = 0;
  while (i < n) {
    if (c.pos >= c.end) {
      ended(i, n);
    }
    nextRun(c, width, n - i);
    const m = run.count;
    const at = o + i;
    if (!run.packed) {
      if (run.value >= size) {
        badIndex(run.value, size);
      }
      out.fill(dict[run.value] as number, at, at + m);
    } else {
      const max = unpackAny(c.bytes, run.base, width, m);
      if (m > 0 && max >= size) {
        badIndex(max, size);
      }
      const idx = scratch;
      for (let k = 0; k < m; k++) {
        out[at + k] = dict[idx[k] as number] as number;
      }
    }
    i += m;
  }
}

export function dictF64(c: Cursor, width: number, n: number, dict: Float64Array, out: Float64Array, o: number): void {
  const size = dict.length;
  let i = 0;
  while (i < n) {
    if (c.pos >= c.end) {
      ended(i, n);
    }
    nextRun(c, width, n - i);
    const m = run.count;
    const at = o + i;
    if (!run.packed) {
      if (run.value >= size) {
        badIndex(run.value, size);
      }
      out.fill(dict[run.value] as number, at, at + m);
    } else {
      const max = unpackAny(c.bytes, run.base, width, m);
      if (m > 0 && max >= size) {
        badIndex(max, size);
      }
      const idx = scratch;
      for (let k = 0; k < m; k++) {
        out[at + k] = dict[idx[k] as number] as number;
      }
    }
    i += m;
  }
}

/** Unpack `m` indices of any width into `scratch`; returns their maximum. */
function unpackAny(bytes: Uint8Array, base: number, width: number, m: number): number {
  if (width === 8 || width === 16) {
    if (scratch.length < m) {
      scratch = new Int32Array(Math.max(m, scratch.length * 2));
    }
    const out = scratch;
    let max = 0;
    if (width === 8) {
      for (let k = 0; k < m; k++) {
        const v = bytes[base + k] as number;
        out[k] = v;
        max = Math.max(v, max);
      }
    } else {
      for (let k = 0; k < m; k++) {
        const v = (bytes[base + 2 * k] as number) | ((bytes[base + 2 * k + 1] as number) << 8);
        out[k] = v;
        max = Math.max(v, max);
      }
    }
    return max;
  }
  return unpack(bytes, base, width, m);
}
