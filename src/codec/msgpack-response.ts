// MessagePack encoding of Open Inference Protocol inference responses and error bodies.
//
// Shape: the JSON response's, as a msgpack map: {model_name, model_version (a string), id,
// parameters?, outputs: [{name, datatype, shape, data}]}, outputs in the model's declared order.
// `data` (tensorData option):
//  - 'typed' (default): a msgpackr typed-array extension, ext type 0x74 whose payload is one code
//    byte (INT8 0, UINT8 1, INT16 3, INT32 5, FP32 7, FP64 8, INT64 9: Int8Array .. BigInt64Array)
//    followed by the raw little-endian elements. msgpackr's unpack returns the typed array itself
//    (aligned); any other msgpack library returns ext(116, bytes) that it can view as the array
//    (e.g. numpy.frombuffer(data[1:], '<f4')). NaN and ±Infinity travel as their bits.
//  - 'array': a plain msgpack array, for clients that want no extension at all: FP32 as float 32,
//    FP64 as float 64, integers (INT64 included, full range) in their smallest msgpack int form.
// BOOL is always an array of true/false, as in JSON.
//
// Perf (STYLE habit 8): every byte that depends only on the model version (map headers, keys,
// model name and version, each output's name and datatype) is encoded once by the factory; per
// response the encoder writes the id, shapes and data and makes one Buffer.concat, i.e. one copy
// of each output's bytes.

import { Packr } from 'msgpackr';
import type { SluiceError } from '../errors.js';
import type { DataType, Tensor, TensorData, TensorSpec } from '../types.js';
import { toLittleEndian } from '../util/dtype-layout.js';
import { sentOutput } from './response-parts.js';

export type MsgpackResponseEncoder = (
  id: string,
  outputs: Tensor[],
  requested?: readonly string[],
  parameters?: Record<string, unknown>,
) => Buffer;

export interface MsgpackResponseOptions {
  /** How tensor data is written; see the file comment. Default 'typed'. */
  tensorData?: 'typed' | 'array';
}

/** msgpackr typed-array codes (index in its typedArrays table). */
const TYPED_CODE: Record<Exclude<DataType, 'BOOL'>, number> = { INT8: 0, UINT8: 1, INT16: 3, INT32: 5, FP32: 7, FP64: 8, INT64: 9 };

// For parameters (arbitrary server-built objects): plain maps, no records, no extensions.
const packr = new Packr({ useRecords: false, moreTypes: false, structuredClone: false });

interface Fragment {
  name: string;
  datatype: DataType;
  /** map header(4) + "name" + name + "datatype" + datatype + "shape" */
  open: Buffer;
}

/**
 * Builds the encoder of one model version. The encoder throws SLUICE_ERR_SERVER_INTERNAL when a
 * tensor is missing or disagrees with its declaration; `requested` and `parameters` are as for
 * the JSON encoder.
 */
export function createMsgpackResponseEncoder(
  modelName: string,
  version: number,
  outputSpecs: TensorSpec[],
  opts: MsgpackResponseOptions = {},
): MsgpackResponseEncoder {
  const typed = (opts.tensorData ?? 'typed') === 'typed';
  const tail = Buffer.concat([str('model_name'), str(modelName), str('model_version'), str(String(version)), str('id')]);
  const head4 = Buffer.concat([mapHeader(4), tail]);
  const head5 = Buffer.concat([mapHeader(5), tail]);
  const parametersKey = str('parameters');
  const outputsKey = str('outputs');
  const dataKey = str('data');
  const fragments: Fragment[] = outputSpecs.map((s) => ({
    name: s.name,
    datatype: s.datatype,
    open: Buffer.concat([mapHeader(4), str('name'), str(s.name), str('datatype'), str(s.datatype), str('shape')]),
  }));

  return function encodeMsgpackResponse(id, outputs, requested, parameters) {
    const parts: Uint8Array[] = [parameters === undefined ? head4 : head5, str(id)];
    if (parameters !== undefined) parts.push(parametersKey, packr.pack(parameters));
    const sent: [Fragment, Tensor][] = [];
    for (let k = 0; k < fragments.length; k++) {
      const f = fragments[k] as Fragment;
      if (requested !== undefined && !requested.includes(f.name)) continue;
      sent.push([f, sentOutput(outputs, k, f)]);
    }
    parts.push(outputsKey, arrayHeader(sent.length));
    for (const [f, t] of sent) {
      parts.push(f.open, shapeBytes(t.shape), dataKey);
      if (t.datatype === 'BOOL') parts.push(boolArray(t.data));
      else if (typed) parts.push(extHeader(t.data.byteLength + 1, TYPED_CODE[t.datatype]), toLittleEndian(t.datatype, t.data));
      else parts.push(plainArray(t.datatype, t.data));
    }
    return Buffer.concat(parts);
  };
}

/** An error body in msgpack: {error, code, details?} (the JSON error shape), plus `id` when given. */
export function encodeMsgpackErrorBody(err: SluiceError, id?: string): Buffer {
  return packr.pack(id === undefined ? err.toWire() : { ...err.toWire(), id });
}

function str(s: string): Buffer {
  const body = Buffer.from(s, 'utf8');
  const n = body.length;
  const head = n < 32 ? [0xa0 | n] : n < 0x100 ? [0xd9, n] : n < 0x10000 ? [0xda, n >> 8, n & 0xff] : [0xdb, ...u32(n)];
  return Buffer.concat([Buffer.from(head), body]);
}

function mapHeader(n: number): Buffer {
  return Buffer.from(n < 16 ? [0x80 | n] : n < 0x10000 ? [0xde, n >> 8, n & 0xff] : [0xdf, ...u32(n)]);
}

function arrayHeader(n: number): Buffer {
  return Buffer.from(n < 16 ? [0x90 | n] : n < 0x10000 ? [0xdc, n >> 8, n & 0xff] : [0xdd, ...u32(n)]);
}

/** ext header for a payload of n bytes (type byte 0x74 and code included; payload = code + data). */
function extHeader(n: number, code: number): Buffer {
  const head = n < 0x100 ? [0xc7, n] : n < 0x10000 ? [0xc8, n >> 8, n & 0xff] : [0xc9, ...u32(n)];
  return Buffer.from([...head, 0x74, code]);
}

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** Shape dims are non-negative safe integers. */
function shapeBytes(shape: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(5 + shape.length * 9);
  out.set(arrayHeader(shape.length));
  let at = shape.length < 16 ? 1 : shape.length < 0x10000 ? 3 : 5;
  for (const d of shape) at = writeInt(out, at, d);
  return out.subarray(0, at);
}

function boolArray(d: TensorData): Buffer {
  const out = Buffer.allocUnsafe(5 + d.length);
  out.set(arrayHeader(d.length));
  let at = d.length < 16 ? 1 : d.length < 0x10000 ? 3 : 5;
  for (let i = 0; i < d.length; i++) out[at++] = d[i] ? 0xc3 : 0xc2;
  return out.subarray(0, at);
}

function plainArray(dt: DataType, d: TensorData): Buffer {
  const out = Buffer.allocUnsafe(5 + d.length * 9);
  out.set(arrayHeader(d.length));
  let at = d.length < 16 ? 1 : d.length < 0x10000 ? 3 : 5;
  if (dt === 'FP32') {
    for (let i = 0; i < d.length; i++) {
      out[at] = 0xca;
      out.writeFloatBE(d[i] as number, at + 1);
      at += 5;
    }
  } else if (dt === 'FP64') {
    for (let i = 0; i < d.length; i++) {
      out[at] = 0xcb;
      out.writeDoubleBE(d[i] as number, at + 1);
      at += 9;
    }
  } else if (dt === 'INT64') {
    for (let i = 0; i < d.length; i++) {
      const v = d[i] as bigint;
      if (v >= -0x80000000n && v <= 0xffffffffn) at = writeInt(out, at, Number(v));
      else {
        out[at] = 0xd3;
        out.writeBigInt64BE(v, at + 1);
        at += 9;
      }
    }
  } else {
    for (let i = 0; i < d.length; i++) at = writeInt(out, at, d[i] as number);
  }
  return out.subarray(0, at);
}

/** Writes an integer in [-2^31, 2^32) in its smallest msgpack form; returns the next offset. */
function writeInt(out: Buffer, at: number, v: number): number {
  if (v >= 0) {
    if (v < 0x80) { out[at] = v; return at + 1; }
    if (v < 0x100) { out[at] = 0xcc; out[at + 1] = v; return at + 2; }
    if (v < 0x10000) { out[at] = 0xcd; out.writeUInt16BE(v, at + 1); return at + 3; }
    if (v < 0x100000000) { out[at] = 0xce; out.writeUInt32BE(v, at + 1); return at + 5; }
    out[at] = 0xcf; out.writeBigUInt64BE(BigInt(v), at + 1); return at + 9;
  }
  if (v >= -32) { out[at] = v & 0xff; return at + 1; }
  if (v >= -0x80) { out[at] = 0xd0; out.writeInt8(v, at + 1); return at + 2; }
  if (v >= -0x8000) { out[at] = 0xd1; out.writeInt16BE(v, at + 1); return at + 3; }
  if (v >= -0x80000000) { out[at] = 0xd2; out.writeInt32BE(v, at + 1); return at + 5; }
  out[at] = 0xd3; out.writeBigInt64BE(BigInt(v), at + 1); return at + 9;
}
