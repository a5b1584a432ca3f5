/** A growable little-endian byte buffer: doubles on demand, hands out `subarray` views. */
export class ByteWriter {
  bytes: Uint8Array;
  view: DataView;
  offset = 0;

  constructor(initial = 1 << 16) {
    this.bytes = new Uint8Array(initial);
    this.view = new DataView(this.bytes.buffer);
  }

  ensure(extra: number): void {
    const need = this.offset + extra;
    if (need <= this.bytes.length) {
      return;
    }
    let size = this.bytes.length * 2;
    while (size < need) {
      size *= 2;
    }
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.offset));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  reset(): void {
    this.offset = 0;
  }

  u8(v: number): void {
    this.ensure(1);
    this.bytes[this.offset++] = v;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.offset, v, true);
    this.offset += 4;
  }

  i32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.offset, v, true);
    this.offset += 4;
  }

  f32(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.offset, v, true);
    this.offset += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.offset, v, true);
    this.offset += 8;
  }

  /** Unsigned LEB128 of a non-negative integer below 2^53. */
  varint(v: number): void {
    this.ensure(10);
    while (v > 0x7f) {
      this.bytes[this.offset++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.bytes[this.offset++] = v;
  }

  /** Zigzag + LEB128 of a signed integer of magnitude below 2^52. */
  zigzag(v: number): void {
    this.varint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  write(src: Uint8Array): void {
    this.ensure(src.length);
    this.bytes.set(src, this.offset);
    this.offset += src.length;
  }

  /** A view of what was written (valid until the next write that grows the buffer). */
  view0(): Uint8Array {
    return this.bytes.subarray(0, this.offset);
  }

  /** A copy of what was written. */
  copy(): Uint8Array {
    return this.bytes.slice(0, this.offset);
  }
}
