// Per-datatype element codecs: the tight fill loop that converts and checks JSON scalars into a
// typed array, and the slow-path description of an element the loop refused.
//
// Perf: each fill loop is monomorphic in its typed array and allocates nothing per element: a
// typeof plus one or two comparisons, then the store. INT64 is written as two 32-bit words through
// a Uint32Array view of the BigInt64Array (little-endian hosts), which avoids one heap BigInt per
// element (about 4x faster than BigInt(v) per element, measured on 64x64). The loops never build
// strings; describe() runs only for refused elements.

import type { ErrorCode } from '../errors.js';
import type { DataType, TensorData } from '../types.js';

/** Stores src[from..] at out[at + i]; returns the first index it refused, or -1 when all were stored. */
export type Fill<T extends TensorData> = (src: readonly unknown[], from: number, out: T, at: number) => number;

export interface Problem {
  code: ErrorCode;
  text: string;
}

export interface DtypeCodec<T extends TensorData = TensorData> {
  alloc(n: number): T;
  fill: Fill<T>;
  /** For an element `fill` refused: stores it when valid after all (a bigint for INT64), else says why. */
  slow(out: T, k: number, v: unknown): Problem | undefined;
}

/** Smallest double that rounds to +Infinity when stored in a float32 (2^128 - 2^103, exact). */
const F32_OVERFLOW = 2 ** 128 - 2 ** 103;
const TWO_32 = 4294967296;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const fillF32: Fill<Float32Array> = (src, from, out, at) => {
  for (let i = from; i < src.length; i++) {
    const v = src[i];
    // One range test rejects NaN, ±Infinity and finite values that would overflow to Infinity.
    if (typeof v !== 'number' || !(v > -F32_OVERFLOW && v < F32_OVERFLOW)) return i;
    out[at + i] = v;
  }
  return -1;
};

const fillF64: Fill<Float64Array> = (src, from, out, at) => {
  for (let i = from; i < src.length; i++) {
    const v = src[i];
    if (typeof v !== 'number' || v - v !== 0) return i; // v - v is NaN for NaN and ±Infinity
    out[at + i] = v;
  }
  return -1;
};

// For the small integer types the shift/mask round trip is exact iff v is an integer in range
// (NaN, ±Infinity and fractions all fail it).
const fillI32: Fill<Int32Array> = (src, from, out, at) => {
  for (let i = from; i < src.length; i++) {
    const v = src[i];
    if (typeof v !== 'number' || (v | 0) !== v) return i;
    out[at + i] = v;
  }
  return -1;
};

const fillI16: Fill<Int16Array> = (src, from, out, at) => {
  for (let i = from; i < src.length; i++) {
    const v = src[i];
    if (typeof v !== 'number' || (v << 16) >> 16 !== v) return i;
    out[at + i] = v;
  }
  return -1;
};

const fillI8: Fill<Int8Array> = (src, from, out, at) => {
  for (let i = from; i < src.length; i++) {
    const v = src[i];
    if (typeof v !== 'number' || (v << 24) >> 24 !== v) return i;
    out[at + i] = v;
  }
  return -1;
};

const fillU8: Fill<Uint8Array> = (src, from, out, at) => {
  for (let i = from; i < src.length; i++) {
    const v = src[i];
    if (typeof v !== 'number' || (v & 0xff) !== v) return i;
    out[at + i] = v;
  }
  return -1;
};

const fillBool: Fill<Uint8Array> = (src, from, out, at) => {
  for (let i = from; i < src.length; i++) {
    const v = src[i];
    if (v === true) out[at + i] = 1;
    else if (v !== false) return i; // false: the zero-filled array already holds 0
  }
  return -1;
};

const fillI64: Fill<BigInt64Array> = (src, from, out, at) => {
  if (!LITTLE_ENDIAN) {
    for (let i = from; i < src.length; i++) {
      const v = src[i];
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return i;
      out[at + i] = BigInt(v);
    }
    return -1;
  }
  const words = new Uint32Array(out.buffer, out.byteOffset, out.length * 2);
  for (let i = from; i < src.length; i++) {
    const v = src[i];
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) return i;
    const hi = Math.floor(v / TWO_32); // exact for safe integers; |hi| < 2^21
    const w = (at + i) * 2;
    words[w] = v - hi * TWO_32; // low word, in [0, 2^32)
    words[w + 1] = hi; // ToUint32 gives the two's-complement high word
  }
  return -1;
};

const RANGES: Partial<Record<DataType, readonly [number, number]>> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  UINT8: [0, 255],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

export function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Describes an element the fill loop refused. Every refused non-bigint value is a problem. */
function describe(dt: DataType, v: unknown): Problem {
  if (dt === 'BOOL') {
    return { code: 'SLUICE_ERR_INPUT_DATA_TYPE', text: `expected true or false, got ${jsonType(v)}` };
  }
  if (v === null) return { code: 'SLUICE_ERR_INPUT_NON_FINITE', text: 'expected a finite number, got null' };
  if (typeof v !== 'number') {
    return { code: 'SLUICE_ERR_INPUT_DATA_TYPE', text: `expected a number, got ${jsonType(v)}` };
  }
  if (!Number.isFinite(v)) {
    return { code: 'SLUICE_ERR_INPUT_NON_FINITE', text: `expected a finite number, got ${v}` };
  }
  if (dt === 'FP32') return { code: 'SLUICE_ERR_INPUT_OUT_OF_RANGE', text: `${v} overflows FP32` };
  if (!Number.isInteger(v)) {
    return { code: 'SLUICE_ERR_INPUT_OUT_OF_RANGE', text: `expected an integer for ${dt}, got ${v}` };
  }
  const [lo, hi] = RANGES[dt] ?? [0, 0];
  const what = dt === 'INT64' ? 'a safe integer (JSON numbers)' : 'an integer';
  return { code: 'SLUICE_ERR_INPUT_OUT_OF_RANGE', text: `expected ${what} in [${lo}, ${hi}] for ${dt}, got ${v}` };
}

/** Erases T: each fill only ever receives the array its own alloc made. */
function codec<T extends TensorData>(dt: DataType, alloc: (n: number) => T, fill: Fill<T>): DtypeCodec {
  return { alloc, fill: fill as unknown as Fill<TensorData>, slow: (_out, _k, v) => describe(dt, v) };
}

export const CODECS: Record<DataType, DtypeCodec> = {
  FP32: codec('FP32', (n) => new Float32Array(n), fillF32),
  FP64: codec('FP64', (n) => new Float64Array(n), fillF64),
  INT8: codec('INT8', (n) => new Int8Array(n), fillI8),
  INT16: codec('INT16', (n) => new Int16Array(n), fillI16),
  INT32: codec('INT32', (n) => new Int32Array(n), fillI32),
  UINT8: codec('UINT8', (n) => new Uint8Array(n), fillU8),
  BOOL: codec('BOOL', (n) => new Uint8Array(n), fillBool),
  INT64: {
    alloc: (n) => new BigInt64Array(n),
    fill: fillI64 as unknown as Fill<TensorData>,
    // Decoders of binary formats (msgpack) may hand INT64 elements over as bigints.
    slow(out, k, v) {
      if (typeof v === 'bigint') {
        if (v >= INT64_MIN && v <= INT64_MAX) {
          (out as BigInt64Array)[k] = v;
          return undefined;
        }
        return { code: 'SLUICE_ERR_INPUT_OUT_OF_RANGE', text: `${v} is outside INT64` };
      }
      return describe('INT64', v);
    },
  },
};

export const SUPPORTED_DATATYPES: readonly DataType[] = Object.keys(CODECS) as DataType[];
