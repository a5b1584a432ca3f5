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

const words = new Uint32Array(34);

/**
 * One straight-line function per bit width (1..32) that unpacks a full miniblock of 32 deltas from `4 * width`
 * bytes, applies them and stores 32 values: the shifts are constants and nothing is read twice (the technique of
 * parquet-cpp's unpack32). Generated once at module load from this template; the state (running value, OR of
 * all values) travels in `state`.
 */
type Unpack32 = (bytes: Uint8Array, p: number, out: Int32Array, o: number, minDelta: number, state: Int32Array) => void;

function makeUnpack32(width: number): Unpack32 {
  const lines: string[] = [];
  for (let k = 0; k < width; k++) {
    const b = `p + ${4 * k}`;
    lines.push(
      `const w${k} = bytes[${b}] | (bytes[${b} + 1] << 8) | (bytes[${b} + 2] << 16) | (bytes[${b} + 3] << 24);`,
    );
  }
  lines.push("let value = state[0] | 0;", "let or = state[1] | 0;");
  const mask = width === 32 ? "" : ` & ${(2 ** width - 1) >>> 0}`;
  for (let i = 0; i < 32; i++) {
    const bit = i * width;
    const wi = bit >>> 5;
    const sh = bit & 31;
    let v = sh === 0 ? `w${wi}` : `(w${wi} >>> ${sh})`;
    if (sh + width > 32) {
      v = `(${v} | (w${wi + 1} << ${32 - sh}))`;
    }
    lines.push(`value = (value + minDelta + (${v}${mask})) | 0; out[o + ${i}] = value; or |= value;`);
  }
  lines.push("state[0] = value;", "state[1] = or;");
  return new Function("bytes", "p", "out", "o", "minDelta", "state", lines.join("\n")) as Unpack32;
}

const UNPACK32: Unpack32[] = Array.from({ length: 33 }, (_, w) => (w === 0 ? () => undefined : makeUnpack32(w)));
const unpackState = new Int32Array(2);

let scratch = new Int32Array(1 << 16);

type IntTarget = Int32Array | Uint16Array | Uint8Array | Uint32Array;

/**
 * Decode a DELTA_BINARY_PACKED stream into `out[outOffset...]`, at most `count` values. Returns the bitwise OR
 * of every decoded value, so that callers can check a range (e.g. `(or >>> 16) !== 0` for uint16) without a pass.
 * Narrower targets are filled from an int32 scratch with one native copy (keeps the hot loop monomorphic).
 */
export function readDeltaBinaryPacked(c: Cursor, out: IntTarget, outOffset: number, count: number): number {
  if (out instanceof Int32Array) {
    return decodeInto(c, out, outOffset, count);
  }
  if (scratch.length < count) {
    scratch = new Int32Array(Math.max(count, scratch.length * 2));
  }
  const or = decodeInto(c, scratch, 0, count);
  out.set(scratch.subarray(0, count), outOffset);
  return or;
}

function decodeInto(c: Cursor, out: Int32Array, outOffset: number, count: number): number {
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
      const n = Math.min(perMini, oEnd - o);
      if (c.pos + ((n * width + 7) >>> 3) > c.end) {
        throw new CodecError("CORRUPT_FILE", "DELTA_BINARY_PACKED miniblock past the end of its page");
      }
      if (width === 0) {
        for (let k = 0; k < n; k++) {
          value = (value + minDelta) | 0;
          out[o++] = value;
          or |= value;
        }
      } else {
        let p = c.pos;
        let done = 0;
        // full groups of 32 whose bytes lie inside the page: the generated straight-line unpacker
        if (c.pos + (perMini * width) / 8 <= c.end) {
          const unpack = UNPACK32[width] as Unpack32;
          unpackState[0] = value;
          unpackState[1] = or;
          for (; done + 32 <= n; done += 32, p += 4 * width, o += 32) {
            unpack(bytes, p, out, o, minDelta, unpackState);
          }
          value = unpackState[0] as number;
          or = unpackState[1] as number;
        }
        // the rest (a last partial group, or a short final miniblock): load 4*width bytes as width little-endian
        // words (bytes past the page read as 0 and only feed values beyond n), cut each value out of one or two.
        const mask = width === 32 ? -1 : (1 << width) - 1;
        let bit = 0;
        for (; done < n; done += 32) {
          for (let k = 0; k < width; k++, p += 4) {
            words[k] =
              (bytes[p] as number) |
              ((bytes[p + 1] as number) << 8) |
              ((bytes[p + 2] as number) << 16) |
              ((bytes[p + 3] as number) << 24);
          }
          words[width] = 0;
          bit = 0;
          const end = Math.min(32, n - done);
          for (let k = 0; k < end; k++) {
            const wi = bit >>> 5;
            const sh = bit & 31;
            // (w << 1) << (31 - sh) is w << (32 - sh), and 0 when sh is 0: no branch per value
            const v = ((words[wi] as number) >>> sh) | (((words[wi + 1] as number) << 1) << (31 - sh));
            value = (value + minDelta + (v & mask)) | 0;
            out[o++] = value;
            or |= value;
            bit += width;
          }
        }
      }
      c.pos += (perMini * width) >>> 3;
    }
  }
  return or;
}
