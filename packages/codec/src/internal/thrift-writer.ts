import type { ByteWriter } from "./byte-writer.js";

/** Thrift compact protocol type ids. */
export const T = {
  TRUE: 1,
  FALSE: 2,
  BYTE: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  STRUCT: 12,
} as const;

const encoder = new TextEncoder();

/**
 * A minimal Thrift compact-protocol writer for Parquet's footer and page headers. Fields must be written in
 * increasing id order inside each struct (as the Parquet spec's structs are declared).
 */
export class CompactWriter {
  private readonly lastField: number[] = [0];

  constructor(readonly out: ByteWriter) {}

  private header(id: number, type: number): void {
    const depth = this.lastField.length - 1;
    const delta = id - (this.lastField[depth] as number);
    if (delta > 0 && delta <= 15) {
      this.out.u8((delta << 4) | type);
    } else {
      this.out.u8(type);
      this.out.zigzag(id);
    }
    this.lastField[depth] = id;
  }

  i32(id: number, v: number): void {
    this.header(id, T.I32);
    this.out.zigzag(v);
  }

  i64(id: number, v: number): void {
    this.header(id, T.I64);
    this.out.zigzag(v);
  }

  i8(id: number, v: number): void {
    this.header(id, T.BYTE);
    this.out.u8(v & 0xff);
  }

  bool(id: number, v: boolean): void {
    this.header(id, v ? T.TRUE : T.FALSE);
  }

  binary(id: number, bytes: Uint8Array): void {
    this.header(id, T.BINARY);
    this.out.varint(bytes.length);
    this.out.write(bytes);
  }

  string(id: number, s: string): void {
    this.binary(id, encoder.encode(s));
  }

  /** Open a struct field; close it with `end()`. */
  struct(id: number): void {
    this.header(id, T.STRUCT);
    this.lastField.push(0);
  }

  /** Close a struct (field or list element) or the top-level message. */
  end(): void {
    this.out.u8(0);
    this.lastField.pop();
    if (this.lastField.length === 0) {
      this.lastField.push(0);
    }
  }

  /** Open a list field of `n` elements of `elemType`. Struct elements follow as `element()` ... `end()`. */
  list(id: number, elemType: number, n: number): void {
    this.header(id, T.LIST);
    if (n < 15) {
      this.out.u8((n << 4) | elemType);
    } else {
      this.out.u8(0xf0 | elemType);
      this.out.varint(n);
    }
  }

  /** Begin a struct element of a list. */
  element(): void {
    this.lastField.push(0);
  }

  /** A bare i32 element of a list. */
  listI32(v: number): void {
    this.out.zigzag(v);
  }

  /** A bare string element of a list. */
  listString(s: string): void {
    const b = encoder.encode(s);
    this.out.varint(b.length);
    this.out.write(b);
  }
}
