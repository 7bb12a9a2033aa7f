// The few protocol-buffers wire encodings the ONNX writer needs: varints (wire type 0),
// length-delimited bytes, strings and embedded messages (type 2) and fixed32 floats
// (type 5). Write-only; no schema, no reflection. Fields are emitted in call order, so a
// caller that writes them in ascending field number gets canonical, reproducible bytes.

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

const UTF8 = new TextEncoder();

export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  /** The bytes written so far (a copy; the writer may be reused). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  /** int32, int64, uint64 or enum field. Negative values take ten bytes (two's complement). */
  varintField(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value);
    return this;
  }

  /** float field (IEEE 754 single, little-endian). */
  floatField(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    this.reserve(4);
    new DataView(this.buf.buffer, this.buf.byteOffset).setFloat32(this.len, value, true);
    this.len += 4;
    return this;
  }

  /** bytes field, or an embedded message already encoded. */
  bytesField(field: number, bytes: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.rawVarint(bytes.length);
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }

  /** string field, UTF-8. */
  stringField(field: number, value: string): this {
    return this.bytesField(field, UTF8.encode(value));
  }

  /** Embedded message field: `encode` writes the child's fields into a fresh writer. */
  messageField(field: number, encode: (child: ProtoWriter) => void): this {
    const child = new ProtoWriter();
    encode(child);
    return this.bytesField(field, child.finish());
  }

  private tag(field: number, wireType: number): void {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) {
      throw new Error(`invalid protobuf field number ${field}`);
    }
    this.rawVarint(field * 8 + wireType);
  }

  private rawVarint(value: number | bigint): void {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new Error(`varint value ${value} is not a safe integer`);
    }
    let v = BigInt.asUintN(64, BigInt(value));
    this.reserve(10);
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }

  private reserve(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
}
