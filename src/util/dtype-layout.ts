// Memory layout of each served datatype: its typed array, element size, and the conversion of
// raw little-endian bytes (the binary tensor extension, msgpack `bin` data) into an owned,
// aligned typed array.
//
// Contract: every array this module returns owns its ArrayBuffer exactly (byteOffset 0,
// byteLength = buffer.byteLength), so a batcher may transfer it to a worker without copying and
// without detaching anyone else's memory; except viewsOf's, which are views of a scratch buffer
// its caller owns.

import type { DataType, TensorData } from '../types.js';

type TypedCtor = new (n: number) => TensorData;

export interface DtypeLayout {
  /** The typed array that holds this datatype (BOOL is a Uint8Array of 0/1). */
  ctor: TypedCtor;
  /** Bytes per element on the wire and in memory. */
  bytes: number;
}

export const LAYOUT: Record<DataType, DtypeLayout> = {
  BOOL: { ctor: Uint8Array, bytes: 1 },
  UINT8: { ctor: Uint8Array, bytes: 1 },
  INT8: { ctor: Int8Array, bytes: 1 },
  INT16: { ctor: Int16Array, bytes: 2 },
  INT32: { ctor: Int32Array, bytes: 4 },
  INT64: { ctor: BigInt64Array, bytes: 8 },
  FP32: { ctor: Float32Array, bytes: 4 },
  FP64: { ctor: Float64Array, bytes: 8 },
};

/** One typed view of all of `buffer` per datatype (BOOL and UINT8 alike): to read or write a scratch or shared buffer in any datatype. */
export function viewsOf(buffer: ArrayBufferLike): Record<DataType, TensorData> {
  const out = {} as Record<DataType, TensorData>;
  for (const dt of Object.keys(LAYOUT) as DataType[]) out[dt] = new (LAYOUT[dt].ctor as unknown as new (b: ArrayBufferLike) => TensorData)(buffer);
  return out;
}

export function isDataType(s: unknown): s is DataType {
  return typeof s === 'string' && Object.hasOwn(LAYOUT, s);
}

export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** True when `a` can be handed over as is: it spans its whole, non-shared ArrayBuffer. */
export function ownsBuffer(a: ArrayBufferView): boolean {
  return a.byteOffset === 0 && a.buffer instanceof ArrayBuffer && a.byteLength === a.buffer.byteLength;
}

/**
 * Copies `bytes` (raw little-endian elements; byteLength must be a multiple of the element size,
 * which callers check first) into a fresh typed array of the datatype. One memcpy on
 * little-endian hosts; a DataView loop on big-endian ones.
 */
export function fromLittleEndian(dt: DataType, bytes: Uint8Array): TensorData {
  const { ctor, bytes: size } = LAYOUT[dt];
  const out = new ctor(bytes.byteLength / size);
  if (LITTLE_ENDIAN || size === 1) {
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) {
    const at = i * size;
    switch (dt) {
      case 'INT16': (out as Int16Array)[i] = view.getInt16(at, true); break;
      case 'INT32': (out as Int32Array)[i] = view.getInt32(at, true); break;
      case 'INT64': (out as BigInt64Array)[i] = view.getBigInt64(at, true); break;
      case 'FP32': (out as Float32Array)[i] = view.getFloat32(at, true); break;
      default: (out as Float64Array)[i] = view.getFloat64(at, true);
    }
  }
  return out;
}

/** The raw little-endian bytes of `data` (a view, not a copy, on little-endian hosts). */
export function toLittleEndian(dt: DataType, data: TensorData): Uint8Array {
  const size = LAYOUT[dt].bytes;
  if (LITTLE_ENDIAN || size === 1) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    const at = i * size;
    const v = data[i] as number & bigint;
    switch (dt) {
      case 'INT16': view.setInt16(at, v, true); break;
      case 'INT32': view.setInt32(at, v, true); break;
      case 'INT64': view.setBigInt64(at, v, true); break;
      case 'FP32': view.setFloat32(at, v, true); break;
      default: view.setFloat64(at, v, true);
    }
  }
  return out;
}
