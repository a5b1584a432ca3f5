import { CodecError } from "../errors.js";
import type { ByteWriter } from "./byte-writer.js";
import { type Cursor, readVarint, readZigzag } from "./levels.js";

const BLOCK = 128;
const MINIBLOCKS = 4;
const MINI = BLOCK / MINIBLOCKS;

const deltas = new Int32Array(BLOCK);
const packed = new Uint32Array(BLOCK);

/**
 * DELTA_BINARY_PACKED for INT32 values (block 128, 4 miniblocks of 32), as the Parquet spec defines it.
 * Deltas wrap in 32 bits like the spec's int32 arithmetic.
 */
export function writeDeltaBinaryPacked(out: ByteWriter, values: ArrayLike<number>, start: number, end: number): void {
  const n = end - start;
  out.varint(BLOCK);
  out.varint(MINIBLOCKS);
  out.varint(n);
  out.zigzag(n > 0 ? (values[start] as number) | 0 : 0);
  let prev = n > 0 ? (values[start] as number) | 0 : 0;
  let i = start + 1;
  while (i < end) {
    const count = Math.min(BLOCK, end - i);
    let minDelta = 0x7fffffff;
    for (let k = 0; k < count; k++) {
      const v = (values[i + k] as number) | 0;
      const d = (v - prev) | 0;
      prev = v;
      deltas[k] = d;
      if (d < minDelta) {
        minDelta = d;
      }
    }
    out.zigzag(minDelta);
    const widthAt = out.offset;
    out.ensure(MINIBLOCKS + BLOCK * 4);
    out.offset += MINIBLOCKS;
    for (let m = 0; m < MINIBLOCKS; m++) {
      const m0 = m * MINI;
      if (m0 >= count) {
        out.bytes[widthAt + m] = 0;
        continue;
      }
      const m1 = Math.min(m0 + MINI, count);
      let or = 0;
      for (let k = m0; k < m1; k++) {
        const u = ((deltas[k] as number) - minDelta) >>> 0;
        packed[k] = u;
        or |= u;
      }
      for (let k = m1; k < m0 + MINI; k++) {
        packed[k] = 0;
      }
      const width = or === 0 ? 0 : 32 - Math.clz32(or);
      out.bytes[widthAt + m] = width;
      packMiniblock(out, m0, width);
    }
    i += count;
  }
}

function packMiniblock(out: ByteWriter, m0: number, width: number): void {
  if (width === 0) {
    return;
  }
  const bytes = out.bytes;
  let o = out.offset;
  if (width <= 24) {
    let buf = 0;
    let bits = 0;
    for (let k = 0; k < MINI; k++) {
      buf |= (packed[m0 + k] as number) << bits;
      bits += width;
      while (bits >= 8) {
        bytes[o++] = buf & 0xff;
        buf >>>= 8;
        bits -= 8;
      }
    }
  } else {
    let acc = 0;
    let bits = 0;
    for (let k = 0; k < MINI; k++) {
      acc += (packed[m0 + k] as number) * 2 ** bits;
      bits += width;
      while (bits >= 8) {
        bytes[o++] = acc % 256;
        acc = Math.floor(acc / 256);
        bits -= 8;
      }
    }
  }
  out.offset = o;
}

type IntTarget = Int32Array | Uint16Array | Uint8Array | Uint32Array;

/**
 * Decode a DELTA_BINARY_PACKED stream into `out[outOffset...]`, at most `count` values. Returns the bitwise OR
 * of every decoded value, so that callers can check a range (e.g. `(or >>> 16) !== 0` for uint16) without a pass.
 */
export function readDeltaBinaryPacked(c: Cursor, out: IntTarget, outOffset: number, count: number): number {
  const blockSize = readVarint(c);
  const miniblocks = readVarint(c);
  const total = readVarint(c);
  let value = readZigzag(c) | 0;
  if (blockSize === 0 || blockSize % 128 !== 0 || miniblocks === 0 || (blockSize / miniblocks) % 32 !== 0) {
    throw new CodecError(
      "CORRUPT_FILE",
      `bad DELTA_BINARY_PACKED header (block ${blockSize}, ${miniblocks} miniblocks)`,
    );
  }
  if (total < count) {
    throw new CodecError("CORRUPT_FILE", `DELTA_BINARY_PACKED page holds ${total} values, ${count} expected`);
  }
  const perMini = blockSize / miniblocks;
  const bytes = c.bytes;
  let or = 0;
  let o = outOffset;
  const oEnd = outOffset + count;
  if (count > 0) {
    out[o++] = value;
    or |= value;
  }
  while (o < oEnd) {
    const minDelta = readZigzag(c) | 0;
    const widthAt = c.pos;
    c.pos += miniblocks;
    if (c.pos > c.end) {
      throw new CodecError("CORRUPT_FILE", "DELTA_BINARY_PACKED block header past the end of its page");
    }
    for (let m = 0; m < miniblocks && o < oEnd; m++) {
      const width = bytes[widthAt + m] as number;
      if (width > 32) {
        throw new CodecError("CORRUPT_FILE", `DELTA_BINARY_PACKED bit width ${width} > 32`);
      }
      const byteLen = (perMini * width) >>> 3;
      const n = Math.min(perMini, oEnd - o);
      if (c.pos + ((n * width + 7) >>> 3) > c.end) {
        throw new CodecError("CORRUPT_FILE", "DELTA_BINARY_PACKED miniblock past the end of its page");
      }
      let p = c.pos;
      if (width === 0) {
        for (let k = 0; k < n; k++) {
          value = (value + minDelta) | 0;
          out[o++] = value;
          or |= value;
        }
      } else if (width <= 24) {
        const mask = (1 << width) - 1;
        let buf = 0;
        let bits = 0;
        for (let k = 0; k < n; k++) {
          while (bits < width) {
            buf |= (bytes[p++] as number) << bits;
            bits += 8;
          }
          value = (value + minDelta + (buf & mask)) | 0;
          buf >>>= width;
          bits -= width;
          out[o++] = value;
          or |= value;
        }
      } else {
        for (let k = 0; k < n; k++) {
          let bit = k * width;
          let acc = 0;
          let mul = 1;
          let remaining = width;
          while (remaining > 0) {
            const byte = bytes[p + (bit >>> 3)] as number;
            const shift = bit & 7;
            const take = Math.min(8 - shift, remaining);
            acc += ((byte >>> shift) & ((1 << take) - 1)) * mul;
            mul *= 2 ** take;
            bit += take;
            remaining -= take;
          }
          value = (value + minDelta + acc) | 0;
          out[o++] = value;
          or |= value;
        }
      }
      c.pos += byteLen;
    }
  }
  // Skip whatever remains of the stream (values beyond `count`): the caller knows the page end.
  return or;
}
