// The MessagePack response encoder, read back as clients would: msgpackr's stock unpack, and the
// raw bytes a non-msgpackr library would see for the typed-array extension.
import { Packr, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { createResponseEncoder } from '../src/codec/json-response.js';
import { createMsgpackResponseEncoder, encodeMsgpackErrorBody } from '../src/codec/msgpack-response.js';
import { SluiceError } from '../src/errors.js';
import type { Tensor, TensorSpec } from '../src/types.js';

const OUT: TensorSpec[] = [
  { name: 'probs', datatype: 'FP32', shape: [-1, 3] },
  { name: 'label', datatype: 'INT64', shape: [-1] },
  { name: 'flag', datatype: 'BOOL', shape: [-1] },
  { name: 'small', datatype: 'INT8', shape: [-1] },
];
const probs: Tensor = { name: 'probs', datatype: 'FP32', shape: [2, 3], data: Float32Array.from([0.1, 0.7, 0.2, 0.5, NaN, -Infinity]) };
const label: Tensor = { name: 'label', datatype: 'INT64', shape: [2], data: BigInt64Array.from([1n, -(2n ** 62n)]) };
const flag: Tensor = { name: 'flag', datatype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) };
const small: Tensor = { name: 'small', datatype: 'INT8', shape: [2], data: Int8Array.from([-128, 127]) };
const ALL = [small, flag, label, probs]; // any order: the wire follows the declared order

describe('typed (default)', () => {
  const encode = createMsgpackResponseEncoder('digits', 7, OUT);

  it('has the JSON response shape; msgpackr unpack gives typed arrays back, NaN and ±Infinity included', () => {
    const r = unpack(encode('req-1', ALL));
    expect(Object.keys(r)).toEqual(['model_name', 'model_version', 'id', 'outputs']);
    expect(r.model_name).toBe('digits');
    expect(r.model_version).toBe('7');
    expect(r.id).toBe('req-1');
    expect(r.outputs.map((o: { name: string }) => o.name)).toEqual(['probs', 'label', 'flag', 'small']);
    expect(r.outputs[0]).toEqual({ name: 'probs', datatype: 'FP32', shape: [2, 3], data: probs.data });
    expect(r.outputs[0].data).toBeInstanceOf(Float32Array);
    expect(r.outputs[1].data).toEqual(label.data);
    expect(r.outputs[2].data).toEqual([true, false]);
    expect(r.outputs[3].data).toEqual(small.data);
  });

  it('the extension layout a non-msgpackr client sees: ext 0x74, a code byte, the raw little-endian elements', () => {
    const body = encode('x', ALL, ['probs']);
    const payload = Buffer.concat([Buffer.from([0xc7, 25, 0x74, 7]), Buffer.from((probs.data as Float32Array).buffer)]);
    expect(body.includes(payload)).toBe(true);
    const int64 = Buffer.concat([Buffer.from([0xc7, 17, 0x74, 9]), Buffer.from((label.data as BigInt64Array).buffer)]);
    expect(encode('x', ALL, ['label']).includes(int64)).toBe(true);
  });

  it('requested filters, parameters are sent, long ids and large tensors use the wider headers', () => {
    const big: Tensor = { ...probs, shape: [6000, 3], data: Float32Array.from({ length: 18000 }, (_, i) => i / 7) }; // ext 32
    const id = 'i'.repeat(300);
    const r = unpack(encode(id, [big, label], ['probs'], { batch: { size: 3 }, tags: ['a'] }));
    expect(Object.keys(r)).toEqual(['model_name', 'model_version', 'id', 'parameters', 'outputs']);
    expect(r.id).toBe(id);
    expect(r.parameters).toEqual({ batch: { size: 3 }, tags: ['a'] });
    expect(r.outputs).toHaveLength(1);
    expect(r.outputs[0].data).toEqual(big.data);
  });

  it('a missing or mis-declared output is a server error', () => {
    expect(() => encode('x', [probs])).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_SERVER_INTERNAL' }));
    expect(() => encode('x', [{ ...probs, shape: [2, 2] }], ['probs'])).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_SERVER_INTERNAL' }));
  });
});

describe("'array' (no extensions)", () => {
  const encode = createMsgpackResponseEncoder('digits', 7, OUT, { tensorData: 'array' });

  it('plain arrays: FP32 as float 32 (exact), INT64 full range, BOOL booleans', () => {
    const r = unpack(encode('req-2', ALL));
    expect(r.outputs[0].data).toEqual(Array.from(probs.data as Float32Array));
    expect(r.outputs[1].data).toEqual([1, -(2n ** 62n)]); // msgpackr returns int64 beyond int32 as BigInt
    expect(r.outputs[2].data).toEqual([true, false]);
    expect(r.outputs[3].data).toEqual([-128, 127]);
  });

  it('every integer width round-trips and the numbers equal the JSON encoder\'s', () => {
    const ints = [0, 127, 128, 255, 256, 65535, 65536, 4294967295, -1, -32, -33, -128, -129, -32768, -32769, -2147483648];
    const t: Tensor = { name: 'label', datatype: 'INT64', shape: [ints.length + 2], data: BigInt64Array.from([...ints.map(BigInt), 2n ** 63n - 1n, -(2n ** 63n)]) };
    const r = unpack(encode('x', [t], ['label']));
    expect(r.outputs[0].data.map((v: number | bigint) => BigInt(v))).toEqual(Array.from(t.data as BigInt64Array));
    const f: Tensor = { ...probs, data: Float32Array.from([0.1, 0.7, 0.2, 0.5, 1e-45, 3.4e38]) };
    const json = JSON.parse(createResponseEncoder('digits', 7, OUT)('x', [f], ['probs']));
    // The same float32s: msgpack carries them exactly, JSON as their shortest text.
    expect(unpack(encode('x', [f], ['probs'])).outputs[0].data).toEqual(json.outputs[0].data.map(Math.fround));
  });

  it('arrays of 65,536 elements and more use the array 32 header', () => {
    const t: Tensor = { name: 'small', datatype: 'INT8', shape: [70000], data: Int8Array.from({ length: 70000 }, (_, i) => (i % 200) - 100) };
    const data = unpack(encode('x', [t], ['small'])).outputs[0].data as number[];
    expect(data).toHaveLength(70000);
    expect(Buffer.from(Int8Array.from(data).buffer).equals(Buffer.from(t.data.buffer))).toBe(true);
  });
});

describe('error bodies', () => {
  it('carry the JSON error shape, plus the id when given', () => {
    const err = new SluiceError('SLUICE_ERR_INPUT_SHAPE', 'bad shape', { details: ['/inputs/0/shape/1: expected 64, got 63'] });
    expect(unpack(encodeMsgpackErrorBody(err))).toEqual(err.toWire());
    expect(unpack(encodeMsgpackErrorBody(err, 'ws-9'))).toEqual({ ...err.toWire(), id: 'ws-9' });
    // plain maps, no msgpackr records: any msgpack library reads them
    expect(encodeMsgpackErrorBody(err)).toEqual(new Packr({ useRecords: false }).pack(err.toWire()));
  });
});
