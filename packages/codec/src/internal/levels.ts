import { CodecError } from "../errors.js";
import type { ByteWriter } from "./byte-writer.js";

/**
 * Run-length / bit-packed hybrid encoding (Parquet's "RLE" encoding), used for repetition and definition levels
 * and dictionary indices. The writer emits RLE runs only: levels of our files are long runs.
 */
export function writeRleRun(out: ByteWriter, value: number, count: number, bitWidth: number): void {
  if (count <= 0) {
    return;
  }
  out.varint(count * 2);
  const bytes = (bitWidth + 7) >>> 3;
  for (let b = 0; b < bytes; b++) {
    out.u8((value >>> (8 * b)) & 0xff);
  }
}

/** Incremental run builder: merges consecutive equal values into one RLE run. */
export class RunWriter {
  private value = -1;
  private count = 0;

  constructor(
    private readonly out: ByteWriter,
    private readonly bitWidth: number,
  ) {}

  push(value: number, count: number): void {
    if (count <= 0) {
      return;
    }
    if (value === this.value) {
      this.count += count;
      return;
    }
    writeRleRun(this.out, this.value, this.count, this.bitWidth);
    this.value = value;
    this.count = count;
  }

  flush(): void {
    writeRleRun(this.out, this.value, this.count, this.bitWidth);
    this.value = -1;
    this.count = 0;
  }
}

/** A cursor over a byte array. */
export interface Cursor {
  bytes: Uint8Array;
  pos: number;
  end: number;
}

export function readVarint(c: Cursor): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (c.pos >= c.end) {
      throw new CodecError("CORRUPT_FILE", "varint runs past the end of its page");
    }
    const b = c.bytes[c.pos++] as number;
    result += (b & 0x7f) * mul;
    if (b < 0x80) {
      return result;
    }
    mul *= 128;
  }
  throw new CodecError("CORRUPT_FILE", "varint longer than 10 bytes");
}

export function readZigzag(c: Cursor): number {
  const v = readVarint(c);
  return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
}

type IntOut = Uint8Array | Uint16Array | Int32Array | Uint32Array;

/**
 * Decode `count` values of RLE/bit-packed hybrid data of `bitWidth` from `c` into `out[outOffset...]`.
 * Stops at `c.end`; returns the number of values decoded (less than `count` when the data ends early).
 */
export function readRleHybrid(c: Cursor, bitWidth: number, out: IntOut, outOffset: number, count: number): number {
  const { bytes } = c;
  const valueBytes = (bitWidth + 7) >>> 3;
  const mask = bitWidth >= 32 ? 0xffffffff : (1 << bitWidth) - 1;
  let i = 0;
  while (i < count && c.pos < c.end) {
    const header = readVarint(c);
    if ((header & 1) === 0) {
      const run = header / 2;
      if (c.pos + valueBytes > c.end) {
        throw new CodecError("CORRUPT_FILE", "RLE run value past the end of its page");
      }
      let value = 0;
      for (let b = 0; b < valueBytes; b++) {
        value |= (bytes[c.pos++] as number) << (8 * b);
      }
      const n = Math.min(run, count - i);
      out.fill(value, outOffset + i, outOffset + i + n);
      i += n;
    } else {
      const groups = (header - 1) / 2;
      const byteLen = groups * bitWidth;
      if (c.pos + byteLen > c.end) {
        throw new CodecError("CORRUPT_FILE", "bit-packed run past the end of its page");
      }
      const n = Math.min(groups * 8, count - i);
      let p = c.pos;
      if (bitWidth <= 24) {
        let buf = 0;
        let bits = 0;
        for (let k = 0; k < n; k++) {
          while (bits < bitWidth) {
            buf |= (bytes[p++] as number) << bits;
            bits += 8;
          }
          out[outOffset + i + k] = buf & mask;
          buf >>>= bitWidth;
          bits -= bitWidth;
        }
      } else {
        for (let k = 0; k < n; k++) {
          out[outOffset + i + k] = readBitsWide(bytes, c.pos, k * bitWidth, bitWidth);
        }
      }
      c.pos += byteLen;
      i += n;
    }
  }
  return i;
}

/** Read `width` (<= 32) bits starting at bit `bitOffset` after `base`, little-endian, as an unsigned number. */
export function readBitsWide(bytes: Uint8Array, base: number, bitOffset: number, width: number): number {
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
  return value;
}

/**
 * Repetition levels of a list column (bit width 1) straight to row starts: every level 0 starts a row. Writes the
 * level index of each row start to `rowStarts[rowCount...]` and returns the new row count. Avoids materializing
 * the levels, which are almost all long runs of 1.
 */
export function repLevelsToRowStarts(
  c: Cursor,
  numLevels: number,
  levelBase: number,
  rowStarts: Int32Array,
  rowCount: number,
): number {
  const { bytes } = c;
  let i = 0;
  while (i < numLevels) {
    if (c.pos >= c.end) {
      throw new CodecError("CORRUPT_FILE", `repetition levels end after ${i} of ${numLevels} values`);
    }
    const header = readVarint(c);
    if ((header & 1) === 0) {
      const run = Math.min(header / 2, numLevels - i);
      if (c.pos >= c.end) {
        throw new CodecError("CORRUPT_FILE", "RLE run value past the end of its page");
      }
      const value = (bytes[c.pos++] as number) & 1;
      if (value === 0) {
        if (rowCount + run > rowStarts.length) {
          throw new CodecError("CORRUPT_FILE", "more rows in a column chunk than its row group declares");
        }
        for (let k = 0; k < run; k++) {
          rowStarts[rowCount++] = levelBase + i + k;
        }
      }
      i += run;
    } else {
      const groups = (header - 1) / 2;
      if (c.pos + groups > c.end) {
        throw new CodecError("CORRUPT_FILE", "bit-packed run past the end of its page");
      }
      const n = Math.min(groups * 8, numLevels - i);
      for (let k = 0; k < n; k++) {
        if ((((bytes[c.pos + (k >>> 3)] as number) >>> (k & 7)) & 1) === 0) {
          if (rowCount >= rowStarts.length) {
            throw new CodecError("CORRUPT_FILE", "more rows in a column chunk than its row group declares");
          }
          rowStarts[rowCount++] = levelBase + i + k;
        }
      }
      c.pos += groups;
      i += n;
    }
  }
  return rowCount;
}
