// The request validator given typed-array data (as the msgpack and binary decoders hand it over),
// and the binary tensor extension's output flags. Every bad request is followed (afterEach) by a
// valid one that must succeed.
import { expectRefusal } from './helpers/refusal.js';
import { afterEach, describe, expect, it } from 'vitest';
import { SluiceError, type ErrorCode } from '../src/errors.js';
import type { DataType, TensorData } from '../src/types.js';
import { copyRange, isSharedCopy } from '../src/util/copy-arena.js';
import { compileRequestValidator, type ModelSignature } from '../src/validation/request-validator.js';

const ALL: ModelSignature = {
  name: 'all',
  inputs: [
    { name: 'f32', datatype: 'FP32', shape: [-1, 2] },
    { name: 'f64', datatype: 'FP64', shape: [-1] },
    { name: 'i8', datatype: 'INT8', shape: [-1] },
    { name: 'i16', datatype: 'INT16', shape: [-1] },
    { name: 'i32', datatype: 'INT32', shape: [-1] },
    { name: 'i64', datatype: 'INT64', shape: [-1] },
    { name: 'u8', datatype: 'UINT8', shape: [-1] },
    { name: 'b', datatype: 'BOOL', shape: [-1] },
  ],
  outputs: [
    { name: 'probs', datatype: 'FP32', shape: [-1, 3] },
    { name: 'label', datatype: 'INT64', shape: [-1] },
  ],
  maxBatchSize: 8,
};
const validate = compileRequestValidator(ALL);

const typed = (): Record<DataType, TensorData> => ({
  FP32: Float32Array.from([0.5, -1.25, 3, 1e-30]),
  FP64: Float64Array.from([1e300, -2.5]),
  INT8: Int8Array.from([-128, 127]),
  INT16: Int16Array.from([-32768, 32767]),
  INT32: Int32Array.from([-2147483648, 2147483647]),
  INT64: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n]),
  UINT8: Uint8Array.from([0, 255]),
  BOOL: Uint8Array.from([1, 0]),
});
function body(over: Partial<Record<string, unknown>> = {}, extra: Record<string, unknown> = {}) {
  const data = typed();
  return {
    ...extra,
    inputs: ALL.inputs.map((s) => ({
      name: s.name,
      datatype: s.datatype,
      shape: s.name === 'f32' ? [2, 2] : [2],
      data: s.name in over ? over[s.name] : data[s.datatype],
    })),
  };
}

function rejects(b: unknown, code: ErrorCode): SluiceError {
  return expectRefusal(() => validate(b as Record<string, unknown>), code);
}

afterEach(() => {
  expect(validate(body()).rows).toBe(2);
});

describe('typed-array data', () => {
  it('accepts each datatype\'s own typed array and hands the same array over when it owns its buffer', () => {
    const b = body();
    const r = validate(b);
    for (const [i, t] of r.inputs.entries()) {
      expect(t.data, t.name).toBe(b.inputs[i]?.data); // no copy, no conversion
    }
  });

  it('copies a view into a larger buffer (e.g. a request body) into an exactly-sized array', () => {
    const big = new Float32Array(100);
    big.set([0.5, -1.25, 3, 1e-30], 10);
    const view = big.subarray(10, 14);
    const r = validate(body({ f32: view }));
    const out = r.inputs[0]?.data as Float32Array;
    expect(out).not.toBe(view);
    expect(out).toEqual(Float32Array.from([0.5, -1.25, 3, 1e-30]));
    expect(out.byteOffset).toBe(0);
    expect(out.buffer.byteLength).toBe(16);
    big[10] = 99; // the copy does not alias the body
    expect(out[0]).toBe(0.5);
  });

  it('hands over a shared-block copy (the JSON decoder\'s lifted tensors) as is', () => {
    const source = Float32Array.from([9, 0.5, -1.25, 3, 1e-30, 9]);
    const lifted = copyRange(source, 1, 5);
    expect(isSharedCopy(lifted)).toBe(true);
    expect(isSharedCopy(source)).toBe(false);
    expect(lifted.buffer.byteLength).toBeGreaterThan(16); // a view on the block, not a buffer of its own
    expect(validate(body({ f32: lifted })).inputs[0]?.data).toBe(lifted);
  });

  it('a Node Buffer for UINT8 becomes a plain Uint8Array of its own', () => {
    const pooled = Buffer.from([7, 9]); // small Buffers are views into a shared 8 KiB pool
    const out = validate(body({ u8: pooled })).inputs[6]?.data as Uint8Array;
    expect(out.constructor).toBe(Uint8Array);
    expect(out.buffer.byteLength).toBe(2);
    expect(Array.from(out)).toEqual([7, 9]);
  });

  it('raw little-endian bytes (Uint8Array) are accepted for every datatype', () => {
    const data = typed();
    const raw = (a: TensorData) => new Uint8Array(a.buffer.slice(0));
    const r = validate(body(Object.fromEntries(ALL.inputs.map((s) => [s.name, raw(data[s.datatype])]))));
    for (const t of r.inputs) expect(t.data, t.name).toEqual(data[t.datatype]);
    expect(r.inputs[5]?.data).toBeInstanceOf(BigInt64Array);
  });

  it('typed data gives exactly what JSON numbers give', () => {
    const json: Record<string, unknown[]> = {
      f32: [0.5, -1.25, 3, 1e-30],
      f64: [1e300, -2.5],
      i8: [-128, 127],
      i16: [-32768, 32767],
      i32: [-2147483648, 2147483647],
      i64: [-9007199254740991, 9007199254740991],
      u8: [0, 255],
      b: [true, false],
    };
    const fromJson = validate(body(json));
    const fromTyped = validate(body({ i64: BigInt64Array.from([-9007199254740991n, 9007199254740991n]) }));
    expect(fromTyped.inputs).toEqual(fromJson.inputs);
  });

  it.each([
    ['FP32', 'f32', 2, NaN],
    ['FP32', 'f32', 3, Infinity],
    ['FP64', 'f64', 1, -Infinity],
  ] as const)('%s non-finite → SLUICE_ERR_INPUT_NON_FINITE with the element path', (_dt, name, at, bad) => {
    const data = typed()[name === 'f32' ? 'FP32' : 'FP64'] as Float32Array;
    data[at] = bad;
    const err = rejects(body({ [name]: data }), 'SLUICE_ERR_INPUT_NON_FINITE');
    const i = ALL.inputs.findIndex((s) => s.name === name);
    expect(err.details).toEqual([`/inputs/${i}/data/${at}: expected a finite number, got ${bad}`]);
  });

  it('non-finite FP32 in raw bytes is refused too', () => {
    const f = Float32Array.from([1, NaN, 2, 3]);
    rejects(body({ f32: new Uint8Array(f.buffer) }), 'SLUICE_ERR_INPUT_NON_FINITE');
  });

  it('BOOL bytes other than 0/1 → SLUICE_ERR_INPUT_OUT_OF_RANGE', () => {
    const err = rejects(body({ b: Uint8Array.from([1, 2]) }), 'SLUICE_ERR_INPUT_OUT_OF_RANGE');
    expect(err.details).toEqual(['/inputs/7/data/1: expected 0 or 1 for BOOL, got 2']);
  });

  it.each([
    ['Float64Array for FP32', 'f32', Float64Array.from([1, 2, 3, 4]), 'expected a Float32Array or raw little-endian bytes for FP32, got Float64Array'],
    ['Int32Array for INT64', 'i64', Int32Array.from([1, 2]), 'expected a BigInt64Array or raw little-endian bytes for INT64, got Int32Array'],
    ['Int8Array for BOOL', 'b', Int8Array.from([1, 0]), 'expected a Uint8Array or raw little-endian bytes for BOOL, got Int8Array'],
    ['DataView', 'i32', new DataView(new ArrayBuffer(8)), 'expected a Int32Array or raw little-endian bytes for INT32, got DataView'],
  ])('%s → SLUICE_ERR_INPUT_DATA_TYPE (no conversion)', (_label, name, data, detail) => {
    const err = rejects(body({ [name]: data }), 'SLUICE_ERR_INPUT_DATA_TYPE');
    expect(err.details?.[0]).toMatch(new RegExp(`/data: ${detail.replace(/[()]/g, '\\$&')}$`));
  });

  it.each([
    ['too few elements', 'f32', new Float32Array(3), 'expected 4 elements for the shape, got a Float32Array of 3'],
    ['too many elements', 'i64', new BigInt64Array(3), 'expected 2 elements for the shape, got a BigInt64Array of 3'],
    ['raw bytes not a whole tensor', 'f32', new Uint8Array(15), 'expected 16 bytes (4 FP32 elements of 4 bytes, little-endian), got 15'],
  ])('%s → SLUICE_ERR_INPUT_DATA_LENGTH', (_label, name, data, detail) => {
    const err = rejects(body({ [name]: data }), 'SLUICE_ERR_INPUT_DATA_LENGTH');
    expect(err.details?.[0]).toContain(detail);
  });

  it('data that is neither an array nor a typed array keeps the envelope error', () => {
    const err = rejects(body({ f32: { 0: 1 } }), 'SLUICE_ERR_REQUEST_INVALID');
    expect(err.details).toEqual(['/inputs/0/data: must be array']);
  });
});

describe('binary tensor extension output flags → DecodedInfer.binaryOutputs', () => {
  it('absent → undefined; binary_data_output true → all', () => {
    expect(validate(body()).binaryOutputs).toBeUndefined();
    expect(validate(body({}, { parameters: { binary_data_output: false } })).binaryOutputs).toBeUndefined();
    expect(validate(body({}, { parameters: { binary_data_output: true } })).binaryOutputs).toBe('all');
  });

  it('per-output binary_data selects outputs and overrides binary_data_output', () => {
    const one = validate(body({}, { outputs: [{ name: 'label', parameters: { binary_data: true } }, { name: 'probs' }] }));
    expect(one.binaryOutputs).toEqual(new Set(['label']));
    const allBut = validate(body({}, { parameters: { binary_data_output: true }, outputs: [{ name: 'probs', parameters: { binary_data: false } }] }));
    expect(allBut.binaryOutputs).toEqual(new Set(['label']));
    const none = validate(body({}, { parameters: { binary_data_output: true }, outputs: [{ name: 'probs', parameters: { binary_data: false } }, { name: 'label', parameters: { binary_data: false } }] }));
    expect(none.binaryOutputs).toBeUndefined();
    const both = validate(body({}, { outputs: [{ name: 'probs', parameters: { binary_data: true } }, { name: 'label', parameters: { binary_data: true } }] }));
    expect(both.binaryOutputs).toBe('all');
  });

  it('non-boolean flags → SLUICE_ERR_PARAMETER_INVALID', () => {
    let err = rejects(body({}, { parameters: { binary_data_output: 'yes' } }), 'SLUICE_ERR_PARAMETER_INVALID');
    expect(err.details).toEqual(['/parameters/binary_data_output: expected true or false, got string']);
    err = rejects(body({}, { outputs: [{ name: 'label', parameters: { binary_data: 1 } }] }), 'SLUICE_ERR_PARAMETER_INVALID');
    expect(err.details).toEqual(['/outputs/0/parameters/binary_data: expected true or false, got number']);
  });

  it('model_name and model_version (Triton clients, WebSocket frames) are accepted in the body', () => {
    expect(validate(body({}, { model_name: 'all', model_version: '1' })).rows).toBe(2);
    rejects(body({}, { model_name: 3 }), 'SLUICE_ERR_REQUEST_INVALID');
  });
});
