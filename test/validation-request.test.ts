// Request validation against a model signature, through the public seam: parseJsonBody on the
// wire text, then the compiled validator. Every bad request is followed (afterEach) by a valid
// one that must succeed, so a rejection can never leave state behind.
import { expectRefusal } from './helpers/refusal.js';
import { DIGITS_SIGNATURE as DIGITS } from './helpers/signatures.js';
import { afterEach, describe, expect, it } from 'vitest';
import { parseJsonBody } from '../src/codec/json-body.js';
import { MAX_ERROR_DETAILS, SluiceError, type ErrorCode } from '../src/errors.js';
import type { TensorSpec } from '../src/types.js';
import { compileRequestValidator, type ModelSignature } from '../src/validation/request-validator.js';

const digits = compileRequestValidator(DIGITS);

const range = <T = number>(n: number, f: (i: number) => T = (i: number) => (i / 10) as T): T[] => Array.from({ length: n }, (_, i) => f(i));
const pixels = (rows = 1, data: unknown[] = range(rows * 64)) => ({ name: 'pixels', shape: [rows, 64], datatype: 'FP32', data });
const decode = (body: unknown, v = digits) => v(parseJsonBody(typeof body === 'string' ? body : JSON.stringify(body)));

function rejects(body: unknown, code: ErrorCode, v = digits): SluiceError {
  return expectRefusal(() => decode(body, v), code);
}

afterEach(() => {
  const ok = decode({ id: 'after', inputs: [pixels(2)] });
  expect(ok.rows).toBe(2);
  expect(ok.inputs[0]?.data).toBeInstanceOf(Float32Array);
});

describe('valid requests', () => {
  it('decodes flat FP32 data into a Float32Array with rows, id and all fields', () => {
    const r = decode({ id: 'req-1', inputs: [pixels(2)], parameters: { timeout_ms: 250, extra: 'x' } });
    expect(r.id).toBe('req-1');
    expect(r.rows).toBe(2);
    expect(r.timeoutMs).toBe(250);
    expect(r.outputs).toBeUndefined();
    expect(r.parameters).toEqual({ timeout_ms: 250, extra: 'x' });
    const t = r.inputs[0];
    expect(t?.name).toBe('pixels');
    expect(t?.datatype).toBe('FP32');
    expect(t?.shape).toEqual([2, 64]);
    expect(t?.data).toEqual(Float32Array.from(range(128)));
  });

  it('nested row-major data gives the same tensor as flat data', () => {
    const flat = range(3 * 64, (i) => i * 0.25 - 7);
    const nested = [flat.slice(0, 64), flat.slice(64, 128), flat.slice(128)];
    const a = decode({ inputs: [pixels(3, flat)] });
    const b = decode({ inputs: [pixels(3, nested)] });
    expect(b.inputs[0]?.data).toEqual(a.inputs[0]?.data);
    expect(b.inputs[0]?.data).toEqual(Float32Array.from(flat));
  });

  it('rank-3 nested and flat data, and variable (-1) non-batch dims taken from the request', () => {
    const v = compileRequestValidator({
      name: 'img',
      inputs: [{ name: 'x', datatype: 'INT32', shape: [-1, -1, 3] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
      maxBatchSize: 8,
    });
    const nested = [[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]];
    const r = decode({ inputs: [{ name: 'x', shape: [2, 2, 3], datatype: 'INT32', data: nested }] }, v);
    expect(r.inputs[0]?.shape).toEqual([2, 2, 3]);
    expect(r.inputs[0]?.data).toEqual(Int32Array.from(range(12, (i) => i + 1)));
    const f = decode({ inputs: [{ name: 'x', shape: [1, 4, 3], datatype: 'INT32', data: range(12, (i) => -i) }] }, v);
    expect(f.inputs[0]?.data).toEqual(Int32Array.from(range(12, (i) => -i)));
    rejects({ inputs: [{ name: 'x', shape: [1, 4, 2], datatype: 'INT32', data: range(8) }] }, 'SLUICE_ERR_INPUT_SHAPE', v);
  });

  it('accepts the word constructor inside string values (id, parameters)', () => {
    const r = decode({ id: 'constructor-prototype-__proto__', parameters: { note: 'constructor' }, inputs: [pixels()] });
    expect(r.id).toBe('constructor-prototype-__proto__');
  });

  it('accepts an id of exactly 256 characters', () => {
    expect(decode({ id: 'x'.repeat(256), inputs: [pixels()] }).id).toHaveLength(256);
  });

  it('returns requested outputs de-duplicated; [] means all', () => {
    const r = decode({ inputs: [pixels()], outputs: [{ name: 'label' }, { name: 'probabilities', parameters: {} }, { name: 'label' }] });
    expect(r.outputs).toEqual(['label', 'probabilities']);
    expect(decode({ inputs: [pixels()], outputs: [] }).outputs).toBeUndefined();
  });

  it('timeout_ms at the cap is accepted', () => {
    expect(decode({ inputs: [pixels()], parameters: { timeout_ms: 600000 } }).timeoutMs).toBe(600000);
    expect(decode({ inputs: [pixels()], parameters: { timeout_ms: 0.5 } }).timeoutMs).toBe(0.5);
  });
});

describe('envelope (ajv) → SLUICE_ERR_REQUEST_INVALID', () => {
  const cases: [string, unknown, string][] = [
    ['inputs missing', { id: 'a' }, "(root): must have required property 'inputs'"],
    ['inputs empty', { inputs: [] }, '/inputs: must NOT have fewer than 1 items'],
    ['name missing', { inputs: [{ shape: [1, 64], datatype: 'FP32', data: range(64) }] }, "/inputs/0: must have required property 'name'"],
    ['shape dim not an integer', { inputs: [{ ...pixels(), shape: [1, 1.5] }] }, '/inputs/0/shape/1: must be integer'],
    ['data not an array', { inputs: [{ ...pixels(), data: 'abc' }] }, '/inputs/0/data: must be array'],
    ['datatype not a string', { inputs: [{ ...pixels(), datatype: 3 }] }, '/inputs/0/datatype: must be string'],
    ['unknown top-level property', { inputs: [pixels()], input: [] }, '(root): unknown property "input"'],
    ['unknown tensor property', { inputs: [{ ...pixels(), dtype: 'FP32' }] }, '/inputs/0: unknown property "dtype"'],
    ['id a number', { id: 7, inputs: [pixels()] }, '/id: must be string'],
    ['id over 256 chars', { id: 'x'.repeat(257), inputs: [pixels()] }, '/id: must NOT have more than 256 characters'],
    ['parameters an array', { inputs: [pixels()], parameters: [] }, '/parameters: must be object'],
    ['outputs entry without name', { inputs: [pixels()], outputs: [{}] }, "/outputs/0: must have required property 'name'"],
  ];
  it.each(cases)('%s', (_label, body, detail) => {
    const err = rejects(body, 'SLUICE_ERR_REQUEST_INVALID');
    expect(err.details).toEqual([detail]);
    expect(err.message).toContain(detail);
  });
});

const TWO: ModelSignature = {
  name: 'two',
  inputs: [
    { name: 'a', datatype: 'INT32', shape: [-1, 2] },
    { name: 'b', datatype: 'FP64', shape: [-1] },
  ],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
  maxBatchSize: 4,
};
const two = compileRequestValidator(TWO);
const a = (rows: number, data: unknown[] = range(rows * 2, (i) => i)) => ({ name: 'a', shape: [rows, 2], datatype: 'INT32', data });
const b = (rows: number, data: unknown[] = range(rows)) => ({ name: 'b', shape: [rows], datatype: 'FP64', data });

describe('names', () => {
  it('unknown input → SLUICE_ERR_INPUT_UNKNOWN', () => {
    const err = rejects({ inputs: [{ ...pixels(), name: 'pixel' }] }, 'SLUICE_ERR_INPUT_UNKNOWN');
    expect(err.details?.[0]).toBe('/inputs/0/name: "pixel" is not an input of model "digits" (inputs: pixels)');
  });

  it('a huge unknown name is truncated in the error', () => {
    const err = rejects({ inputs: [{ ...pixels(), name: 'z'.repeat(100_000) }] }, 'SLUICE_ERR_INPUT_UNKNOWN');
    expect(JSON.stringify(err.toWire()).length).toBeLessThan(500);
  });

  it('same input twice → SLUICE_ERR_INPUT_DUPLICATE', () => {
    const err = rejects({ inputs: [pixels(), pixels()] }, 'SLUICE_ERR_INPUT_DUPLICATE');
    expect(err.details?.[0]).toBe('/inputs/1/name: "pixels" already given at /inputs/0');
  });

  it('declared input missing → SLUICE_ERR_INPUT_MISSING naming it', () => {
    const err = rejects({ inputs: [b(1)] }, 'SLUICE_ERR_INPUT_MISSING', two);
    expect(err.message).toContain('"a"');
    expect(err.details).toEqual(['/inputs: declared input "a" is missing']);
  });

  it('inputs come back in declared order whatever the request order', () => {
    const r = decode({ inputs: [b(2), a(2)] }, two);
    expect(r.inputs.map((t) => t.name)).toEqual(['a', 'b']);
    expect(r.inputs[0]?.data).toEqual(Int32Array.from([0, 1, 2, 3]));
    expect(r.inputs[1]?.data).toEqual(Float64Array.from([0, 0.1]));
  });

  it('an unknown name is reported before a datatype fault in an earlier input (phase order)', () => {
    rejects({ inputs: [{ ...a(1), datatype: 'FP32' }, { ...b(1), name: 'c' }] }, 'SLUICE_ERR_INPUT_UNKNOWN', two);
  });
});

describe('datatype and shape', () => {
  it('datatype ≠ declared → SLUICE_ERR_INPUT_DATATYPE', () => {
    const err = rejects({ inputs: [{ ...pixels(), datatype: 'FP64' }] }, 'SLUICE_ERR_INPUT_DATATYPE');
    expect(err.details?.[0]).toBe('/inputs/0/datatype: expected FP32, got "FP64"');
    rejects({ inputs: [{ ...pixels(), datatype: 'BYTES' }] }, 'SLUICE_ERR_INPUT_DATATYPE');
  });

  it('fixed dim differs → SLUICE_ERR_INPUT_SHAPE with the path', () => {
    const err = rejects({ inputs: [{ ...pixels(), shape: [1, 63], data: range(63) }] }, 'SLUICE_ERR_INPUT_SHAPE');
    expect(err.details).toEqual(['/inputs/0/shape/1: expected 64, got 63']);
  });

  it('rank differs → SLUICE_ERR_INPUT_SHAPE', () => {
    rejects({ inputs: [{ ...pixels(), shape: [1, 64, 1] }] }, 'SLUICE_ERR_INPUT_SHAPE');
    rejects({ inputs: [{ ...pixels(), shape: [64] }] }, 'SLUICE_ERR_INPUT_SHAPE');
  });

  it('negative or unsafe dims → SLUICE_ERR_INPUT_SHAPE', () => {
    const err = rejects({ inputs: [{ ...pixels(), shape: [-1, 64] }] }, 'SLUICE_ERR_INPUT_SHAPE');
    expect(err.details?.[0]).toBe('/inputs/0/shape/0: expected a non-negative integer, got -1');
    rejects('{"inputs":[{"name":"pixels","shape":[9007199254740992,64],"datatype":"FP32","data":[]}]}', 'SLUICE_ERR_INPUT_SHAPE');
  });

  it('a shape fault is reported before a data fault', () => {
    rejects({ inputs: [{ ...pixels(), shape: [1, 63], data: [null] }] }, 'SLUICE_ERR_INPUT_SHAPE');
  });
});

describe('batch dimension', () => {
  it('0 → SLUICE_ERR_BATCH_EMPTY', () => {
    rejects({ inputs: [pixels(0, [])] }, 'SLUICE_ERR_BATCH_EMPTY');
  });

  it('over maxBatchSize → SLUICE_ERR_BATCH_TOO_LARGE; at the max is fine', () => {
    const err = rejects({ inputs: [pixels(65)] }, 'SLUICE_ERR_BATCH_TOO_LARGE');
    expect(err.details).toEqual(['/inputs/0/shape/0: expected at most 64, got 65']);
    expect(decode({ inputs: [pixels(64)] }).rows).toBe(64);
  });

  it('inputs disagree → SLUICE_ERR_BATCH_MISMATCH', () => {
    const err = rejects({ inputs: [a(2), b(3)] }, 'SLUICE_ERR_BATCH_MISMATCH', two);
    expect(err.details).toEqual(['/inputs/1/shape/0: expected 2 (as /inputs/0/shape/0), got 3']);
  });
});

describe('data length → SLUICE_ERR_INPUT_DATA_LENGTH', () => {
  it('flat data one short', () => {
    const err = rejects({ inputs: [pixels(2, range(127))] }, 'SLUICE_ERR_INPUT_DATA_LENGTH');
    expect(err.details?.[0]).toContain('/inputs/0/data: expected 128 elements');
  });

  it('nested: a row one short names its path', () => {
    const err = rejects({ inputs: [pixels(2, [range(64), range(63)])] }, 'SLUICE_ERR_INPUT_DATA_LENGTH');
    expect(err.details).toEqual(['/inputs/0/data/1: expected 64 elements, got 63']);
  });

  it('nested: fewer rows than the batch dim', () => {
    rejects({ inputs: [pixels(2, [range(64)])] }, 'SLUICE_ERR_INPUT_DATA_LENGTH');
  });

  it('nested: a row that is not an array', () => {
    const err = rejects({ inputs: [pixels(2, [range(64), 5])] }, 'SLUICE_ERR_INPUT_DATA_LENGTH');
    expect(err.details).toEqual(['/inputs/0/data/1: expected an array of 64, got number']);
  });

  it('a huge declared shape with tiny nested data fails before any allocation', () => {
    const v = compileRequestValidator({
      name: 'big',
      inputs: [{ name: 'x', datatype: 'FP64', shape: [-1, -1, -1] }],
      outputs: [],
      maxBatchSize: 1,
    });
    const err = rejects({ inputs: [{ name: 'x', shape: [1, 100000, 100000], datatype: 'FP64', data: [[[1]]] }] }, 'SLUICE_ERR_INPUT_DATA_LENGTH', v);
    expect(err.details?.[0]).toBe('/inputs/0/data/0: expected 100000 elements, got 1');
  });
});

describe('elements', () => {
  const withAt = (i: number, v: unknown) => {
    const d: unknown[] = range(64);
    d[i] = v;
    return d;
  };

  it('1e999 (parses to Infinity) → SLUICE_ERR_INPUT_NON_FINITE, never 0', () => {
    const text = JSON.stringify({ inputs: [pixels(1, withAt(5, 12345))] }).replace('12345', '1e999');
    const err = rejects(text, 'SLUICE_ERR_INPUT_NON_FINITE');
    expect(err.details).toEqual(['/inputs/0/data/5: expected a finite number, got Infinity']);
    rejects(text.replace('1e999', '-1e999'), 'SLUICE_ERR_INPUT_NON_FINITE');
  });

  it('null element → SLUICE_ERR_INPUT_NON_FINITE, flat and nested', () => {
    const err = rejects({ inputs: [pixels(1, withAt(0, null))] }, 'SLUICE_ERR_INPUT_NON_FINITE');
    expect(err.details).toEqual(['/inputs/0/data/0: expected a finite number, got null']);
    const nested = rejects({ inputs: [pixels(2, [range(64), withAt(63, null)])] }, 'SLUICE_ERR_INPUT_NON_FINITE');
    expect(nested.details).toEqual(['/inputs/0/data/1/63: expected a finite number, got null']);
  });

  it('NaN handed over by a non-JSON decoder → SLUICE_ERR_INPUT_NON_FINITE', () => {
    expect(() => digits({ inputs: [pixels(1, withAt(3, Number.NaN))] })).toThrowError(
      expect.objectContaining({ code: 'SLUICE_ERR_INPUT_NON_FINITE' }),
    );
  });

  it.each([
    ['a string', '1.5'],
    ['a boolean', true],
    ['an object', { v: 1 }],
    ['an array inside flat data', [1]],
  ])('%s element → SLUICE_ERR_INPUT_DATA_TYPE', (_l, v) => {
    rejects({ inputs: [pixels(1, withAt(7, v))] }, 'SLUICE_ERR_INPUT_DATA_TYPE');
  });

  it('a finite value that overflows FP32 → SLUICE_ERR_INPUT_OUT_OF_RANGE; FLT_MAX is fine', () => {
    rejects({ inputs: [pixels(1, withAt(1, 1e39))] }, 'SLUICE_ERR_INPUT_OUT_OF_RANGE');
    const ok = decode({ inputs: [pixels(1, withAt(1, 3.4028234663852886e38))] });
    expect(ok.inputs[0]?.data[1]).toBe(3.4028234663852886e38);
  });

  it('300 bad elements: details capped at MAX_ERROR_DETAILS, message counts them all', () => {
    const err = rejects({ inputs: [pixels(5, range(320, (i) => (i < 300 ? null : 0)) as unknown[])] }, 'SLUICE_ERR_INPUT_NON_FINITE');
    expect(err.details).toHaveLength(MAX_ERROR_DETAILS);
    expect(err.details?.[MAX_ERROR_DETAILS - 1]).toBe(`/inputs/0/data/${MAX_ERROR_DETAILS - 1}: expected a finite number, got null`);
    expect(err.message).toBe('/inputs/0: 300 invalid data elements');
    expect(err.toWire().details).toHaveLength(MAX_ERROR_DETAILS);
  });

  it('the first bad element decides the code; later ones of other kinds are listed', () => {
    const err = rejects({ inputs: [pixels(1, withAt(9, 'x').map((v, i) => (i === 2 ? null : v)))] }, 'SLUICE_ERR_INPUT_NON_FINITE');
    expect(err.details).toEqual([
      '/inputs/0/data/2: expected a finite number, got null',
      '/inputs/0/data/9: expected a number, got string',
    ]);
  });
});

describe('integer and boolean datatypes', () => {
  const model = (datatype: TensorSpec['datatype']) =>
    compileRequestValidator({ name: 'm', inputs: [{ name: 'x', datatype, shape: [-1, -1] }], outputs: [], maxBatchSize: 4 });
  const body = (datatype: string, data: unknown[]) => ({ inputs: [{ name: 'x', shape: [1, data.length], datatype, data }] });

  it.each([
    ['INT8', [-128, 127, 0], Int8Array, [128, -129]],
    ['INT16', [-32768, 32767], Int16Array, [32768, -32769]],
    ['INT32', [-2147483648, 2147483647], Int32Array, [2147483648, -2147483649]],
    ['UINT8', [0, 255], Uint8Array, [256, -1]],
  ] as const)('%s: bounds stored exactly, out of range and fractions refused', (dt, good, Ctor, bad) => {
    const v = model(dt);
    const r = decode(body(dt, [...good]), v);
    expect(r.inputs[0]?.data).toBeInstanceOf(Ctor);
    expect(Array.from(r.inputs[0]?.data as ArrayLike<number>)).toEqual([...good]);
    for (const x of bad) rejects(body(dt, [x]), 'SLUICE_ERR_INPUT_OUT_OF_RANGE', v);
    rejects(body(dt, [1.5]), 'SLUICE_ERR_INPUT_OUT_OF_RANGE', v);
    rejects(body(dt, [null]), 'SLUICE_ERR_INPUT_NON_FINITE', v);
    rejects(body(dt, ['1']), 'SLUICE_ERR_INPUT_DATA_TYPE', v);
  });

  it('INT64: safe integers round-trip into a BigInt64Array (both words)', () => {
    const v = model('INT64');
    const vals = [0, 1, -1, 4294967295, 4294967296, -4294967296, -4294967297, 123456789012, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    const r = decode(body('INT64', vals), v);
    expect(r.inputs[0]?.data).toBeInstanceOf(BigInt64Array);
    expect(Array.from(r.inputs[0]?.data as BigInt64Array)).toEqual(vals.map((x) => BigInt(x)));
    const nested = decode({ inputs: [{ name: 'x', shape: [2, 2], datatype: 'INT64', data: [[-5, 6], [7, -8]] }] }, v);
    expect(Array.from(nested.inputs[0]?.data as BigInt64Array)).toEqual([-5n, 6n, 7n, -8n]);
  });

  it('INT64: beyond 2^53 from JSON → SLUICE_ERR_INPUT_OUT_OF_RANGE', () => {
    const v = model('INT64');
    rejects('{"inputs":[{"name":"x","shape":[1,1],"datatype":"INT64","data":[9007199254740993]}]}', 'SLUICE_ERR_INPUT_OUT_OF_RANGE', v);
    rejects(body('INT64', [0.5]), 'SLUICE_ERR_INPUT_OUT_OF_RANGE', v);
  });

  it('INT64: bigint elements from a binary decoder are stored; out of int64 refused', () => {
    const v = model('INT64');
    const r = v({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'INT64', data: [2n ** 62n, 5, -(2n ** 63n)] }] });
    expect(Array.from(r.inputs[0]?.data as BigInt64Array)).toEqual([2n ** 62n, 5n, -(2n ** 63n)]);
    expect(() => v({ inputs: [{ name: 'x', shape: [1, 1], datatype: 'INT64', data: [2n ** 63n] }] })).toThrowError(
      expect.objectContaining({ code: 'SLUICE_ERR_INPUT_OUT_OF_RANGE' }),
    );
  });

  it('BOOL: true/false → Uint8Array 1/0; numbers refused', () => {
    const v = model('BOOL');
    const r = decode(body('BOOL', [true, false, true]), v);
    expect(r.inputs[0]?.data).toEqual(Uint8Array.from([1, 0, 1]));
    rejects(body('BOOL', [1]), 'SLUICE_ERR_INPUT_DATA_TYPE', v);
    rejects(body('BOOL', [null]), 'SLUICE_ERR_INPUT_DATA_TYPE', v);
  });

  it('FP64 keeps values FP32 would overflow', () => {
    const r = decode(body('FP64', [1e39, -0.1]), model('FP64'));
    expect(r.inputs[0]?.data).toEqual(Float64Array.from([1e39, -0.1]));
  });
});

describe('outputs and parameters', () => {
  it('requested output not declared → SLUICE_ERR_OUTPUT_UNKNOWN', () => {
    const err = rejects({ inputs: [pixels()], outputs: [{ name: 'probabilities' }, { name: 'logits' }] }, 'SLUICE_ERR_OUTPUT_UNKNOWN');
    expect(err.details).toEqual(['/outputs/1/name: "logits" is not an output of model "digits"']);
  });

  it.each([0, -5, 600001, '100', null, true, {}])('parameters.timeout_ms = %j → SLUICE_ERR_PARAMETER_INVALID', (t) => {
    rejects({ inputs: [pixels()], parameters: { timeout_ms: t } }, 'SLUICE_ERR_PARAMETER_INVALID');
  });

  it('timeout_ms of 1e999 (Infinity) → SLUICE_ERR_PARAMETER_INVALID', () => {
    rejects(`{"inputs":[${JSON.stringify(pixels())}],"parameters":{"timeout_ms":1e999}}`, 'SLUICE_ERR_PARAMETER_INVALID');
  });
});

describe('signature checks at compile time', () => {
  it.each([
    ['maxBatchSize -1', { ...DIGITS, maxBatchSize: -1 }],
    ['a batching model whose inputs all lack a batch dim', { ...DIGITS, inputs: [{ ...DIGITS.inputs[0]!, batchDim: null }] }],
    ['a batch dim that is not free', { ...DIGITS, inputs: [{ name: 'p', datatype: 'FP32', shape: [-1, 64], batchDim: 1 }] }],
    ['no inputs', { ...DIGITS, inputs: [] }],
    ['duplicate input names', { ...DIGITS, inputs: [DIGITS.inputs[0], DIGITS.inputs[0]] }],
    ['rank 0 input', { ...DIGITS, inputs: [{ name: 'p', datatype: 'FP32', shape: [] }] }],
    ['unserved datatype', { ...DIGITS, inputs: [{ name: 'p', datatype: 'BYTES', shape: [-1] }] }],
    ['bad dim', { ...DIGITS, outputs: [{ name: 'o', datatype: 'FP32', shape: [-1, -2] }] }],
  ])('%s → SLUICE_ERR_MODEL_CONFIG_INVALID', (_l, sig) => {
    expect(() => compileRequestValidator(sig as ModelSignature)).toThrowError(
      expect.objectContaining({ code: 'SLUICE_ERR_MODEL_CONFIG_INVALID' }),
    );
  });
});
