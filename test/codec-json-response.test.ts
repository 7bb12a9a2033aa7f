// The JSON response encoder, read back with JSON.parse as a client would.
import { afterEach, describe, expect, it } from 'vitest';
import { parseJsonBody } from '../src/codec/json-body.js';
import { createResponseEncoder, encodeErrorBody } from '../src/codec/json-response.js';
import { SluiceError } from '../src/errors.js';
import type { Tensor, TensorSpec } from '../src/types.js';
import { compileRequestValidator } from '../src/validation/request-validator.js';

const OUTPUTS: TensorSpec[] = [
  { name: 'probs', datatype: 'FP32', shape: [-1, 3] },
  { name: 'label', datatype: 'INT64', shape: [-1] },
  { name: 'flag', datatype: 'BOOL', shape: [-1] },
];
const encode = createResponseEncoder('digits', 1, OUTPUTS);
const probs = (data = Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.25, 0.25])): Tensor => ({ name: 'probs', datatype: 'FP32', shape: [2, 3], data });
const label = (data = BigInt64Array.from([1n, 0n])): Tensor => ({ name: 'label', datatype: 'INT64', shape: [2], data });
const flag = (): Tensor => ({ name: 'flag', datatype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) });

const digits = compileRequestValidator({
  name: 'digits',
  inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 64] }],
  outputs: OUTPUTS,
  maxBatchSize: 64,
});
afterEach(() => {
  const body = JSON.stringify({ inputs: [{ name: 'pixels', shape: [1, 64], datatype: 'FP32', data: new Array(64).fill(0.5) }] });
  expect(digits(parseJsonBody(body)).rows).toBe(1);
});

describe('createResponseEncoder', () => {
  it('writes the OIP envelope: model_name, model_version as a string, id, outputs in declared order', () => {
    const text = encode('req-"1"', [flag(), label(), probs()]);
    expect(text.startsWith('{"model_name":"digits","model_version":"1","id":"req-\\"1\\"","outputs":[')).toBe(true);
    const r = JSON.parse(text);
    expect(r.model_version).toBe('1');
    expect(r.id).toBe('req-"1"');
    expect(r.outputs.map((o: { name: string }) => o.name)).toEqual(['probs', 'label', 'flag']);
    // FP32 as its shortest float32 text: 0.1, not 0.10000000149011612.
    expect(text).toContain('"data":[0.1,0.7,0.2,0.5,0.25,0.25]');
    expect(r.outputs[0]).toEqual({ name: 'probs', datatype: 'FP32', shape: [2, 3], data: [0.1, 0.7, 0.2, 0.5, 0.25, 0.25] });
    expect(r.outputs[1]).toEqual({ name: 'label', datatype: 'INT64', shape: [2], data: [1, 0] });
    expect(r.outputs[2]).toEqual({ name: 'flag', datatype: 'BOOL', shape: [2], data: [true, false] });
    expect(Object.keys(r)).toEqual(['model_name', 'model_version', 'id', 'outputs']);
  });

  it('filters by requested names, keeping declared order', () => {
    const r = JSON.parse(encode('x', [probs(), label(), flag()], ['flag', 'probs']));
    expect(r.outputs.map((o: { name: string }) => o.name)).toEqual(['probs', 'flag']);
    expect(JSON.parse(encode('x', [probs(), label(), flag()], ['label'])).outputs).toHaveLength(1);
  });

  it('FP32 values round-trip exactly through encode → JSON.parse', () => {
    const vals = [0.1, 1 / 3, -0.7, 3.4028234663852886e38, -1.401298464324817e-45, 1e-30, 123456.789, 0];
    let seed = 7;
    for (let i = 0; i < 500; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      vals.push((seed / 2147483648 - 0.5) * 10 ** ((seed % 20) - 10));
    }
    const data = Float32Array.from(vals);
    const t: Tensor = { name: 'probs', datatype: 'FP32', shape: [data.length / 4, 4], data };
    const enc = createResponseEncoder('m', 3, [{ name: 'probs', datatype: 'FP32', shape: [-1, 4] }]);
    const back = Float32Array.from(JSON.parse(enc('id', [t])).outputs[0].data as number[]);
    expect(back).toEqual(data);
    expect(Buffer.from(back.buffer).equals(Buffer.from(data.buffer))).toBe(true);
  });

  it('INT64 beyond 2^53 is written as plain integer digits', () => {
    const text = encode('x', [probs(), label(BigInt64Array.from([2n ** 62n + 1n, -(2n ** 63n)])), flag()], ['label']);
    expect(text).toContain('"data":[4611686018427387905,-9223372036854775808]');
  });

  it('INT64 decoded from a request round-trips to the same digits', () => {
    const v = compileRequestValidator({ name: 'ids', inputs: [{ name: 'x', datatype: 'INT64', shape: [-1] }], outputs: [], maxBatchSize: 8 });
    const vals = [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, -4294967297, 42];
    const decoded = v(parseJsonBody(JSON.stringify({ inputs: [{ name: 'x', shape: [4], datatype: 'INT64', data: vals }] })));
    const enc = createResponseEncoder('ids', 2, [{ name: 'x', datatype: 'INT64', shape: [-1] }]);
    const text = enc('i', decoded.inputs);
    expect(text).toContain(`"data":[${vals.join(',')}]`);
  });

  it('non-finite floats, which JSON cannot carry, are written as null', () => {
    const r = JSON.parse(encode('x', [probs(Float32Array.from([Number.NaN, 1, Number.POSITIVE_INFINITY, -Infinity, 0.5, 2])), label(), flag()]));
    expect(r.outputs[0].data).toEqual([null, 1, null, null, 0.5, 2]);
  });

  it('sends parameters when given', () => {
    const r = JSON.parse(encode('x', [probs(), label(), flag()], undefined, { sequence_id: 3 }));
    expect(r.parameters).toEqual({ sequence_id: 3 });
    expect(Object.keys(r)).toEqual(['model_name', 'model_version', 'id', 'parameters', 'outputs']);
  });

  it('a missing or mistyped output tensor is an internal error, not a malformed body', () => {
    expect(() => encode('x', [probs(), flag()])).toThrowError(expect.objectContaining({ code: 'SLUICE_ERR_SERVER_INTERNAL' }));
    expect(() => encode('x', [{ ...probs(), datatype: 'FP64' }, label(), flag()])).toThrowError(
      expect.objectContaining({ code: 'SLUICE_ERR_SERVER_INTERNAL' }),
    );
    expect(() => encode('x', [{ ...probs(), shape: [2, 2] }, label(), flag()])).toThrowError(
      expect.objectContaining({ code: 'SLUICE_ERR_SERVER_INTERNAL' }),
    );
  });

  it('empty outputs list and empty tensors', () => {
    const enc = createResponseEncoder('m', 10, [{ name: 'o', datatype: 'FP32', shape: [-1, -1] }]);
    expect(enc('e', [{ name: 'o', datatype: 'FP32', shape: [1, 0], data: new Float32Array(0) }])).toBe(
      '{"model_name":"m","model_version":"10","id":"e","outputs":[{"name":"o","datatype":"FP32","shape":[1,0],"data":[]}]}',
    );
    expect(JSON.parse(enc('e', [], [])).outputs).toEqual([]);
  });
});

describe('encodeErrorBody', () => {
  it('is JSON.stringify(err.toWire()), no stack', () => {
    const err = new SluiceError('SLUICE_ERR_INPUT_SHAPE', 'bad shape', { details: ['/inputs/0/shape/1: expected 64, got 63'] });
    const text = encodeErrorBody(err);
    expect(JSON.parse(text)).toEqual({ error: 'bad shape', code: 'SLUICE_ERR_INPUT_SHAPE', details: ['/inputs/0/shape/1: expected 64, got 63'] });
    expect(text).not.toContain('stack');
    expect(text).toBe(JSON.stringify(err.toWire()));
  });
});
