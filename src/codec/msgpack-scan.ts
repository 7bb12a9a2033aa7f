// Structural pre-scan of an untrusted MessagePack body, run before msgpackr decodes it.
//
// Why: msgpackr's Unpackr, even with useRecords false, mapsAsObjects true and structuredClone
// false, still decodes record definitions (ext 0x72) embedded in the data, RegExp (0x78), Error
// (0x65), Set (0x73), Date (timestamp, ext -1), BigInt (0x42), `undefined` (0), ArrayBuffer and
// DataView (0x74 codes 16/17) and the reserved byte 0xc1 (as a marker object); it renames a
// `__proto__` key to `__proto_` instead of refusing it; and a 200 kB run of 0x91 overflows its
// recursive reader's stack (all measured, msgpackr 2.1.3). Its extension table is also
// process-global (any addExtension call anywhere changes it). So this scan decides what is
// acceptable and msgpackr only ever sees bodies that passed it.
//
// Accepted: exactly one value, a map, with nothing after it; map keys are UTF-8 strings other
// than __proto__, constructor and prototype; strings are valid UTF-8; nesting, array lengths, map
// sizes, string bytes and the total number of values within the caps. `bin` and msgpackr
// typed-array extensions (ext 0x74, codes 0-10: Int8 .. BigUint64Array, a whole number of
// elements) only as the direct value of `data` in an element of the top-level `inputs` array,
// i.e. where a tensor's data is expected; every other extension type anywhere is refused.
//
// Perf: one pass, iterative (an explicit stack of maxDepth levels, shared by all scans, so no
// recursion), no allocation per value; a typed-array or bin payload is skipped in O(1). Inside arrays, runs of
// fixed-size scalars (numbers, nil, booleans: all of a plain tensor's data) are skipped by a
// tight loop over a 256-entry size table, about 1 ns per element (15 ns through the general
// path; measured on 150,528 float 64s). Error paths (JSON-pointer style, e.g. /inputs/0/data)
// are built only when refusing.

import { isUtf8 } from 'node:buffer';
import { SluiceError, type ErrorCode } from '../errors.js';

export interface MsgpackLimits {
  /** Deepest nesting of maps/arrays; the top-level map is depth 1. */
  maxDepth: number;
  /** Longest array (elements). */
  maxArrayLength: number;
  /** Largest map (entries). */
  maxMapSize: number;
  /** Longest string (bytes). */
  maxStringBytes: number;
  /** Most values in the whole body (keys, scalars, containers; a typed array counts 1). */
  maxValues: number;
}

// Roles of a value, so bin/typed arrays are allowed only where tensor data is expected.
const OTHER = 0;
const ROOT = 1;
const INPUTS = 2; // the top-level `inputs` array
const INPUT = 3; // an element of it
const DATA = 4; // an input's `data`

/** msgpackr typed-array codes (ext 0x74 payload byte 0) → element bytes; codes 16/17 are ArrayBuffer/DataView. */
const TYPED_ELEMENT_BYTES = [1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8];

const EXT_NAMES: Record<number, string> = {
  0x00: 'undefined (ext 0)',
  0x42: 'BigInt (ext 0x42)',
  0x62: 'bundled strings (ext 0x62)',
  0x65: 'Error (ext 0x65)',
  0x69: 'structured-clone id, a cyclic or shared reference (ext 0x69)',
  0x70: 'structured-clone pointer, a cyclic or shared reference (ext 0x70)',
  0x72: 'record definition (ext 0x72)',
  0x73: 'Set (ext 0x73)',
  0x74: 'typed array (ext 0x74)',
  0x78: 'RegExp (ext 0x78)',
  0xff: 'timestamp / Date (ext -1)',
};

/** Byte size of each fixed-size scalar by its first byte (ints, floats, nil, booleans); 0 otherwise. */
const SCALAR_BYTES = new Uint8Array(256);
for (let t = 0x00; t <= 0x7f; t++) SCALAR_BYTES[t] = 1;
for (let t = 0xe0; t <= 0xff; t++) SCALAR_BYTES[t] = 1;
for (const [t, n] of [[0xc0, 1], [0xc2, 1], [0xc3, 1], [0xca, 5], [0xcb, 9], [0xcc, 2], [0xcd, 3], [0xce, 5], [0xcf, 9], [0xd0, 2], [0xd1, 3], [0xd2, 5], [0xd3, 9]] as const) {
  SCALAR_BYTES[t] = n;
}

const KEY_INPUTS = [0x69, 0x6e, 0x70, 0x75, 0x74, 0x73]; // "inputs"
const KEY_DATA = [0x64, 0x61, 0x74, 0x61]; // "data"
const FORBIDDEN = ['__proto__', 'constructor', 'prototype'].map((k) => Array.from(Buffer.from(k)));

/**
 * The per-level arrays of a scan. One set is shared by every scan: a scan is synchronous and
 * never nests, and `push` writes every field of a level before anything reads it, so nothing
 * is reset between scans. Why: allocating them per scan (six typed arrays, two of them past V8's
 * on-heap size, i.e. malloc'd backing stores the GC must reclaim) cost far more than the scan of
 * a small WebSocket frame itself: 4-8 µs per scan of a 300-byte digits request, under 1 µs
 * with the shared set (measured in a loop, Node 20).
 */
interface Levels {
  remain: Float64Array;
  size: Float64Array;
  isMap: Uint8Array;
  role: Uint8Array;
  keyStart: Int32Array;
  keyEnd: Int32Array;
}

let shared: Levels | undefined;

function levelsFor(n: number): Levels {
  if (shared === undefined || shared.remain.length < n) {
    shared = {
      remain: new Float64Array(n),
      size: new Float64Array(n),
      isMap: new Uint8Array(n),
      role: new Uint8Array(n),
      keyStart: new Int32Array(n),
      keyEnd: new Int32Array(n),
    };
  }
  return shared;
}

class Scan {
  private p = 0;
  private depth = 0;
  private values = 0;
  /** Per level: items still to read (a map of n entries holds 2n items: keys and values). */
  private readonly remain: Float64Array;
  private readonly size: Float64Array;
  private readonly isMap: Uint8Array;
  private readonly role: Uint8Array;
  /** Per map level: byte range of the last key read (for error paths and roles). */
  private readonly keyStart: Int32Array;
  private readonly keyEnd: Int32Array;

  constructor(private readonly b: Uint8Array, private readonly lim: MsgpackLimits) {
    const levels = levelsFor(lim.maxDepth + 1);
    this.remain = levels.remain;
    this.size = levels.size;
    this.isMap = levels.isMap;
    this.role = levels.role;
    this.keyStart = levels.keyStart;
    this.keyEnd = levels.keyEnd;
  }

  run(): void {
    const { b } = this;
    const end = b.length;
    if (end === 0) throw this.fail('SLUICE_ERR_MSGPACK_MALFORMED', 'empty body');
    let valueRole = ROOT;
    for (;;) {
      if (this.p >= end) throw this.truncated();
      const top = this.depth - 1;
      if (top >= 0 && this.isMap[top] === 1 && ((this.remain[top] as number) & 1) === 0) {
        valueRole = this.key(top);
        continue; // a key is always followed by its value
      }
      if (top >= 0 && this.isMap[top] === 0 && this.scalarRun(top)) {
        while (this.depth > 0 && this.remain[this.depth - 1] === 0) this.depth--;
        if (this.depth === 0) break;
        continue;
      }
      if (top >= 0) {
        this.remain[top]!--;
        if (this.isMap[top] === 0) valueRole = this.role[top] === INPUTS ? INPUT : OTHER;
      }
      if (++this.values > this.lim.maxValues) throw this.fail('SLUICE_ERR_MSGPACK_OVER_LIMIT', `more than ${this.lim.maxValues} values`);
      this.value(valueRole);
      while (this.depth > 0 && this.remain[this.depth - 1] === 0) this.depth--;
      if (this.depth === 0) break;
    }
    if (this.p !== end) {
      throw this.fail('SLUICE_ERR_MSGPACK_MALFORMED', `${end - this.p} trailing bytes after the first value`);
    }
    const t0 = b[0] as number;
    if (!((t0 >= 0x80 && t0 <= 0x8f) || t0 === 0xde || t0 === 0xdf)) {
      throw this.fail('SLUICE_ERR_MSGPACK_MALFORMED', 'body must be a MessagePack map at top level');
    }
  }

  /**
   * Skips the fixed-size scalars that come next in the array at level `top`. Returns true when
   * it consumed at least one (the caller then re-examines the stack), false when the next element
   * needs the general path.
   */
  private scalarRun(top: number): boolean {
    const { b } = this;
    const end = b.length;
    let p = this.p;
    let r = this.remain[top] as number;
    const r0 = r;
    while (r > 0 && p < end) {
      const n = SCALAR_BYTES[b[p] as number] as number;
      if (n === 0) break;
      p += n;
      r--;
    }
    if (r === r0) return false;
    this.remain[top] = r;
    this.values += r0 - r;
    if (p > end) {
      this.p = end;
      throw this.truncated();
    }
    this.p = p;
    if (this.values > this.lim.maxValues) throw this.fail('SLUICE_ERR_MSGPACK_OVER_LIMIT', `more than ${this.lim.maxValues} values`);
    return true;
  }

  /** Reads the key of the map at level `top`; returns the role of the value that follows. */
  private key(top: number): number {
    const { b } = this;
    const t = b[this.p] as number;
    let len: number;
    let hdr: number;
    if (t >= 0xa0 && t <= 0xbf) [len, hdr] = [t - 0xa0, 1];
    else if (t === 0xd9) [len, hdr] = [this.uint(1), 2];
    else if (t === 0xda) [len, hdr] = [this.uint(2), 3];
    else if (t === 0xdb) [len, hdr] = [this.uint(4), 5];
    else throw this.fail('SLUICE_ERR_MSGPACK_UNSUPPORTED_TYPE', `map key is not a string (byte 0x${t.toString(16)})`);
    const s = this.p + hdr;
    this.str(len, s);
    this.keyStart[top] = s;
    this.keyEnd[top] = s + len;
    this.remain[top]!--;
    if (++this.values > this.lim.maxValues) throw this.fail('SLUICE_ERR_MSGPACK_OVER_LIMIT', `more than ${this.lim.maxValues} values`);
    for (const f of FORBIDDEN) {
      if (this.keyIs(s, len, f)) {
        throw this.fail('SLUICE_ERR_MSGPACK_FORBIDDEN_KEY', 'forbidden key in body (__proto__, constructor or prototype)', true);
      }
    }
    this.p = s + len;
    const role = this.role[top];
    if (role === ROOT && this.keyIs(s, len, KEY_INPUTS)) return INPUTS;
    if (role === INPUT && this.keyIs(s, len, KEY_DATA)) return DATA;
    return OTHER;
  }

  private value(role: number): void {
    const { b } = this;
    const t = b[this.p] as number;
    if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) {
      this.p += 1;
      return;
    }
    if (t <= 0x8f) return this.push(true, t - 0x80, 1, role);
    if (t <= 0x9f) return this.push(false, t - 0x90, 1, role);
    if (t <= 0xbf) return this.str(t - 0xa0, this.p + 1);
    switch (t) {
      case 0xc1: throw this.fail('SLUICE_ERR_MSGPACK_MALFORMED', 'reserved byte 0xc1');
      case 0xc4: return this.bin(this.uint(1), 2, role);
      case 0xc5: return this.bin(this.uint(2), 3, role);
      case 0xc6: return this.bin(this.uint(4), 5, role);
      case 0xc7: return this.ext(this.uint(1), 2, role);
      case 0xc8: return this.ext(this.uint(2), 3, role);
      case 0xc9: return this.ext(this.uint(4), 5, role);
      case 0xca: case 0xce: case 0xd2: return this.skip(5);
      case 0xcb: case 0xcf: case 0xd3: return this.skip(9);
      case 0xcc: case 0xd0: return this.skip(2);
      case 0xcd: case 0xd1: return this.skip(3);
      case 0xd4: return this.ext(1, 1, role);
      case 0xd5: return this.ext(2, 1, role);
      case 0xd6: return this.ext(4, 1, role);
      case 0xd7: return this.ext(8, 1, role);
      case 0xd8: return this.ext(16, 1, role);
      case 0xd9: return this.str(this.uint(1), this.p + 2);
      case 0xda: return this.str(this.uint(2), this.p + 3);
      case 0xdb: return this.str(this.uint(4), this.p + 5);
      case 0xdc: return this.push(false, this.uint(2), 3, role);
      case 0xdd: return this.push(false, this.uint(4), 5, role);
      case 0xde: return this.push(true, this.uint(2), 3, role);
      default: return this.push(true, this.uint(4), 5, role); // 0xdf
    }
  }

  private push(isMap: boolean, n: number, hdr: number, role: number): void {
    const cap = isMap ? this.lim.maxMapSize : this.lim.maxArrayLength;
    if (n > cap) throw this.fail('SLUICE_ERR_MSGPACK_OVER_LIMIT', `${isMap ? 'map' : 'array'} of ${n} ${isMap ? 'entries' : 'elements'} (cap ${cap})`);
    const items = isMap ? 2 * n : n;
    this.skip(hdr);
    // Every item takes at least one byte: a declared length the body cannot hold is refused here,
    // before anything is allocated for it.
    if (items > this.b.length - this.p) throw this.truncated();
    if (this.depth >= this.lim.maxDepth) throw this.fail('SLUICE_ERR_MSGPACK_TOO_DEEP', `nesting deeper than ${this.lim.maxDepth}`);
    const d = this.depth++;
    this.remain[d] = items;
    this.size[d] = items;
    this.isMap[d] = isMap ? 1 : 0;
    this.role[d] = role;
    this.keyStart[d] = this.keyEnd[d] = 0;
  }

  /** A string of `len` bytes starting at byte `s`. */
  private str(len: number, s: number): void {
    if (len > this.lim.maxStringBytes) throw this.fail('SLUICE_ERR_MSGPACK_OVER_LIMIT', `string of ${len} bytes (cap ${this.lim.maxStringBytes})`);
    const e = s + len;
    if (e > this.b.length) throw this.truncated();
    const { b } = this;
    for (let i = s; i < e; i++) {
      if ((b[i] as number) >= 0x80) {
        if (!isUtf8(b.subarray(s, e))) throw this.fail('SLUICE_ERR_MSGPACK_MALFORMED', 'string is not valid UTF-8');
        break;
      }
    }
    this.p = e;
  }

  private bin(len: number, hdr: number, role: number): void {
    if (role !== DATA) throw this.fail('SLUICE_ERR_MSGPACK_UNSUPPORTED_TYPE', 'binary (bin) value outside an input\'s data');
    this.skip(hdr + len);
  }

  /** An extension with a payload of `len` bytes; its type byte follows the `hdr` header bytes. */
  private ext(len: number, hdr: number, role: number): void {
    const typeAt = this.p + hdr;
    if (typeAt + 1 + len > this.b.length) throw this.truncated();
    const type = this.b[typeAt] as number;
    if (type !== 0x74) {
      throw this.fail('SLUICE_ERR_MSGPACK_UNSUPPORTED_TYPE', `extension type not accepted: ${EXT_NAMES[type] ?? `ext ${type > 127 ? type - 256 : type}`}`);
    }
    if (role !== DATA) throw this.fail('SLUICE_ERR_MSGPACK_UNSUPPORTED_TYPE', 'typed array (ext 0x74) outside an input\'s data');
    const code = len > 0 ? (this.b[typeAt + 1] as number) : -1;
    const size = TYPED_ELEMENT_BYTES[code];
    if (size === undefined) throw this.fail('SLUICE_ERR_MSGPACK_UNSUPPORTED_TYPE', `typed-array code ${code} (only Int8Array .. BigUint64Array, codes 0-10)`);
    if ((len - 1) % size !== 0) throw this.fail('SLUICE_ERR_MSGPACK_MALFORMED', `typed array of ${len - 1} bytes is not a whole number of ${size}-byte elements`);
    this.p = typeAt + 1 + len;
  }

  private skip(n: number): void {
    this.p += n;
    if (this.p > this.b.length) throw this.truncated();
  }

  /** Big-endian unsigned integer of `n` bytes right after the type byte. */
  private uint(n: number): number {
    const { b } = this;
    const at = this.p + 1;
    if (at + n > b.length) throw this.truncated();
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + (b[at + i] as number);
    return v;
  }

  private keyIs(s: number, len: number, want: readonly number[]): boolean {
    if (len !== want.length) return false;
    for (let i = 0; i < len; i++) if (this.b[s + i] !== want[i]) return false;
    return true;
  }

  private truncated(): SluiceError {
    return this.fail('SLUICE_ERR_MSGPACK_MALFORMED', 'body ends inside a value (truncated)');
  }

  /** The refusal, with the path of the value being read and its byte offset. */
  private fail(code: ErrorCode, message: string, atKey = false): SluiceError {
    let path = '';
    for (let d = 0; d < this.depth; d++) {
      if (this.isMap[d] === 1) {
        const s = this.keyStart[d] as number;
        const e = this.keyEnd[d] as number;
        if (e > s || (d === this.depth - 1 && atKey)) path += `/${segment(Buffer.from(this.b.buffer, this.b.byteOffset + s, e - s).toString('utf8'))}`;
      } else {
        path += `/${(this.size[d] as number) - (this.remain[d] as number) - 1}`;
      }
    }
    return new SluiceError(code, `invalid MessagePack body: ${message}`, {
      details: [`${path === '' ? '(root)' : path} (byte ${Math.min(this.p, this.b.length)}): ${message}`],
    });
  }
}

/** RFC 6901 escaping, truncated so a huge key cannot bloat the error body. */
function segment(key: string): string {
  const short = key.length > 64 ? `${key.slice(0, 64)}…` : key;
  return short.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Throws a SluiceError (SLUICE_ERR_MSGPACK_*) unless `b` is acceptable; see the file comment. */
export function scanMsgpack(b: Uint8Array, lim: MsgpackLimits): void {
  new Scan(b, lim).run();
}
