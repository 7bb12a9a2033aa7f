// Decoding of untrusted MessagePack request bodies (`application/msgpack`,
// `application/x-msgpack`; WebSocket binary frames).
//
// Contract: decodeMsgpackBody returns a plain object tree with the guarantees parseJsonBody gives
// (no __proto__/constructor/prototype key at any depth, bounded depth), holding only JSON types
// plus, as an input's `data` only, a typed array (msgpackr typed-array extension) or a Uint8Array
// (msgpack `bin`: the raw little-endian tensor bytes). A `bin` value is a view into `buf`; the
// request validator copies it into an owned array, so `buf` may be reused once the validator ran.
// 64-bit integers decode as JS numbers (int64AsType 'number'): beyond ±(2^53 - 1) they round, and
// the validator refuses such values in INT64 data exactly as it does for JSON; full-range INT64
// data travels as a BigInt64Array or as bin bytes. Everything else is in msgpack-scan.ts.
//
// Perf: the scan is one pass with no allocation per value; msgpackr then decodes (its typed-array
// extension makes one aligned copy of each typed array; bin is not copied).

import { Unpackr } from 'msgpackr';
import { SluiceError } from '../errors.js';
import { scanMsgpack, type MsgpackLimits } from './msgpack-scan.js';

export type DecodeMsgpackOptions = Partial<MsgpackLimits>;

export const MSGPACK_DEFAULT_LIMITS: Readonly<MsgpackLimits> = Object.freeze({
  maxDepth: 16, // as DEFAULT_MAX_JSON_DEPTH
  maxArrayLength: 1 << 24,
  maxMapSize: 4096,
  maxStringBytes: 1 << 20,
  maxValues: 1 << 24,
});

// Options that keep msgpackr to JSON types. The scan has already refused what these cannot
// (records, RegExp, Error, Set, Date, BigInt, undefined, 0xc1); they are the second fence.
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  structuredClone: false,
  moreTypes: false,
  int64AsType: 'number',
  copyBuffers: false,
});

/**
 * Decodes one MessagePack map. Throws SluiceError: SLUICE_ERR_MSGPACK_MALFORMED,
 * _MSGPACK_FORBIDDEN_KEY, _MSGPACK_TOO_DEEP, _MSGPACK_OVER_LIMIT, _MSGPACK_UNSUPPORTED_TYPE.
 */
export function decodeMsgpackBody(buf: Uint8Array, opts?: DecodeMsgpackOptions): Record<string, unknown> {
  scanMsgpack(buf, opts === undefined ? MSGPACK_DEFAULT_LIMITS : { ...MSGPACK_DEFAULT_LIMITS, ...opts });
  try {
    return unpackr.unpack(buf) as Record<string, unknown>;
  } catch (err) {
    // Not expected after the scan; kept so a msgpackr surprise is a 400, not a 500.
    const why = err instanceof Error ? err.message.slice(0, 200) : 'decode error';
    throw new SluiceError('SLUICE_ERR_MSGPACK_MALFORMED', 'body is not valid MessagePack', { details: [why], cause: err });
  }
}
