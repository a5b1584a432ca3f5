import { CodecError } from "../errors.js";

const fail = (what: string): never => {
  throw new CodecError("CORRUPT_FILE", `snappy: ${what}`);
};

/**
 * Decompress a raw snappy block into `out` (exactly `out.length` bytes, the page's declared size). Every element is
 * checked against both buffers before it is copied, so corrupt input fails within one pass over at most
 * `out.length` bytes: no element writes past the declared size, and the block must fill it exactly.
 */
export function snappyDecompress(input: Uint8Array, out: Uint8Array): void {
  const inLen = input.length;
  const outLen = out.length;
  let pos = 0;
  // preamble: the uncompressed length as a varint; it must be the declared size
  let declared = 0;
  let mul = 1;
  for (let k = 0; ; k++) {
    if (pos >= inLen || k >= 5) {
      fail("unreadable length preamble");
    }
    const b = input[pos++] as number;
    declared += (b & 0x7f) * mul;
    if (b < 0x80) {
      break;
    }
    mul *= 128;
  }
  if (declared !== outLen) {
    fail(`block holds ${declared} bytes, the page declares ${outLen}`);
  }
  let o = 0;
  while (pos < inLen) {
    const tag = input[pos++] as number;
    const type = tag & 3;
    if (type === 0) {
      let len = (tag >>> 2) + 1;
      if (len > 60) {
        const extra = len - 60;
        if (pos + extra > inLen) {
          fail("literal length past the end of the block");
        }
        len = 0;
        for (let k = 0; k < extra; k++) {
          len += (input[pos + k] as number) * 2 ** (8 * k);
        }
        len += 1;
        pos += extra;
      }
      if (pos + len > inLen || o + len > outLen) {
        fail("literal past the end of its block");
      }
      if (len > 32) {
        out.set(input.subarray(pos, pos + len), o);
      } else {
        for (let k = 0; k < len; k++) {
          out[o + k] = input[pos + k] as number;
        }
      }
      pos += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (type === 1) {
      if (pos >= inLen) {
        fail("copy past the end of the block");
      }
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | (input[pos++] as number);
    } else if (type === 2) {
      if (pos + 2 > inLen) {
        fail("copy past the end of the block");
      }
      len = (tag >>> 2) + 1;
      offset = (input[pos] as number) | ((input[pos + 1] as number) << 8);
      pos += 2;
    } else {
      if (pos + 4 > inLen) {
        fail("copy past the end of the block");
      }
      len = (tag >>> 2) + 1;
      offset =
        ((input[pos] as number) |
          ((input[pos + 1] as number) << 8) |
          ((input[pos + 2] as number) << 16) |
          ((input[pos + 3] as number) << 24)) >>>
        0;
      pos += 4;
    }
    if (offset === 0 || offset > o || o + len > outLen) {
      fail(`copy of ${len} bytes from ${offset} back at ${o} of ${outLen}`);
    }
    let from = o - offset;
    if (offset >= len && len > 16) {
      out.copyWithin(o, from, from + len);
      o += len;
    } else {
      const stop = o + len;
      while (o < stop) {
        out[o++] = out[from++] as number;
      }
    }
  }
  if (o !== outLen) {
    fail(`block ends after ${o} of ${outLen} bytes`);
  }
}

/** Largest output a snappy block of `n` bytes can hold (a 3-byte copy element yields 64 bytes). */
export function snappyMaxOutput(n: number): number {
  return Math.ceil(n / 3) * 64 + 64;
}
