// decodeMsgpackBody on well-formed and hostile bodies (DESIGN §9), through the public seam:
// decode, then the model's compiled validator. Every bad body is followed (afterEach) by a valid
// digits request that must decode and validate.
import { expectRefusal } from './helpers/refusal.js';
import { DIGITS_SIGNATURE } from './helpers/signatures.js';
import { Packr } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeMsgpackBody, type DecodeMsgpackOptions } from '../src/codec/msgpack-body.js';
import { SluiceError, type ErrorCode } from '../src/errors.js';
import { compileRequestValidator } from '../src/validation/request-validator.js';

const digits = compileRequestValidator(DIGITS_SIGNATURE);
const ids = compileRequestValidator({
  name: 'ids',
  inputs: [{ name: 'x', datatype: 'INT64', shape: [-1] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
  maxBatchSize: 8,
});

/** Plain msgpack, as any client library writes it. */
const plain = new Packr({ useRecords: false });
/** msgpackr with its extensions: typed arrays, Set, Error, RegExp, structured clone. */
const extended = new Packr({ useRecords: false, moreTypes: true, structuredClone: true });
const pixelValues = (): number[] => Array.from({ length: 64 }, (_, i) => (i % 17) / 2);
const pixels = (data: unknown = pixelValues(), shape = [1, 64]) => ({ name: 'pixels', shape, datatype: 'FP32', data });
const request = (extra: Record<string, unknown> = {}, data?: unknown) => ({ id: 'mp', inputs: [pixels(data)], ...extra });
const VALID = plain.pack(request());

function rejects(body: Uint8Array, code: ErrorCode, opts?: DecodeMsgpackOptions, v = digits): SluiceError {
  return expectRefusal(() => v(decodeMsgpackBody(body, opts)), code);
}

/** A body {parameters: <raw bytes>, inputs: [valid pixels]} with `raw` spliced in verbatim. */
function withParameters(raw: Uint8Array): Buffer {
  const inputs = plain.pack([pixels()]);
  return Buffer.concat([Buffer.from([0x82]), plain.pack('parameters'), raw, plain.pack('inputs'), inputs]);
}

afterEach(() => {
  const r = digits(decodeMsgpackBody(VALID));
  expect(r.id).toBe('mp');
  expect(r.inputs[0]?.data).toEqual(Float32Array.from(pixelValues()));
});

describe('well-formed bodies', () => {
  it('plain arrays decode and validate to the same tensor as JSON would give', () => {
    const body = decodeMsgpackBody(VALID);
    expect(body).toEqual(request());
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
  });

  it('float64, float32 and int encodings of the same values give the same Float32Array', () => {
    const f32 = new Packr({ useRecords: false, useFloat32: 1 }); // ALWAYS: every number as float 32
    const a = digits(decodeMsgpackBody(plain.pack(request({}, pixelValues().map((v) => v + 0.25)))));
    const b = digits(decodeMsgpackBody(f32.pack(request({}, pixelValues().map((v) => v + 0.25)))));
    expect(b.inputs[0]?.data).toEqual(a.inputs[0]?.data);
  });

  it('a Float32Array (typed-array extension) is accepted as data, owned and not converted', () => {
    const data = Float32Array.from(pixelValues());
    const body = decodeMsgpackBody(extended.pack(request({}, data)));
    const t = digits(body).inputs[0]?.data as Float32Array;
    expect(t).toBeInstanceOf(Float32Array);
    expect(t).toEqual(data);
    expect(t.byteOffset).toBe(0);
    expect(t.buffer.byteLength).toBe(64 * 4);
  });

  it('bin data is the raw little-endian tensor bytes (a Uint8Array view in JS, numpy.tobytes() in Python)', () => {
    const data = Float32Array.from(pixelValues());
    const packed = plain.pack(request({}, new Uint8Array(data.buffer)));
    expect(packed.includes(0xc5)).toBe(true); // bin 16 header of 256 bytes
    const buf = Buffer.from(packed);
    const t = digits(decodeMsgpackBody(buf)).inputs[0]?.data as Float32Array;
    expect(t).toEqual(data);
    expect(t.buffer).not.toBe(buf.buffer); // a copy: the body buffer may be reused
    expect(t.buffer.byteLength).toBe(256);
  });

  it('INT64: plain ints within ±(2^53-1) and a BigInt64Array (full range) are exact; 2^63-1 as a plain int is refused, not rounded', () => {
    const big = BigInt64Array.from([9007199254740991n, -5n, 2n ** 63n - 1n]);
    expect(ids(decodeMsgpackBody(extended.pack({ inputs: [{ name: 'x', shape: [3], datatype: 'INT64', data: big }] }))).inputs[0]?.data).toEqual(big);
    const small = ids(decodeMsgpackBody(plain.pack({ inputs: [{ name: 'x', shape: [2], datatype: 'INT64', data: [9007199254740991, -5] }] })));
    expect(small.inputs[0]?.data).toEqual(BigInt64Array.from([9007199254740991n, -5n]));
    const huge = plain.pack({ inputs: [{ name: 'x', shape: [1], datatype: 'INT64', data: [2n ** 63n - 1n] }] });
    rejects(huge, 'SLUICE_ERR_INPUT_OUT_OF_RANGE', undefined, ids);
  });

  it('accepts nesting exactly at maxDepth and the forbidden words as string values', () => {
    let nested: unknown = 1;
    for (let i = 0; i < 14; i++) nested = [nested];
    const body = plain.pack({ ...request({ parameters: { deep: nested, note: '__proto__ constructor prototype' } }) });
    expect(digits(decodeMsgpackBody(body)).parameters?.note).toBe('__proto__ constructor prototype');
  });
});

describe('msgpackr extension types → SLUICE_ERR_MSGPACK_UNSUPPORTED_TYPE', () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const cases: [string, Uint8Array, RegExp][] = [
    ['cyclic structure (structured clone)', extended.pack(request({ parameters: cyclic })), /cyclic/],
    ['cyclic structure at top level', extended.pack(Object.assign(cyclic, request())), /cyclic/],
    ['records (msgpackr structures)', new Packr({ useRecords: true }).pack(request()), /record/],
    ['RegExp', extended.pack(request({ parameters: { r: /a+b/g } })), /RegExp/],
    ['Error', extended.pack(request({ parameters: { e: new Error('x') } })), /Error/],
    ['Set', extended.pack(request({ parameters: { s: new Set([1, 2]) } })), /Set/],
    ['Map with a non-string key', extended.pack(request({ parameters: new Map([[1, 2]]) })), /map key is not a string/],
    ['Date (timestamp ext)', plain.pack(request({ parameters: { d: new Date(0) } })), /Date/],
    ['BigInt extension', new Packr({ useRecords: false, useBigIntExtension: true }).pack(request({ parameters: { b: 2n ** 100n } })), /BigInt/],
    ['undefined (ext 0)', withParameters(Buffer.from([0xd4, 0x00, 0x00])), /undefined/],
    ['unknown ext type 0x30', withParameters(Buffer.from([0xd4, 0x30, 0x00])), /ext 48/],
    ['negative ext type -5', withParameters(Buffer.from([0xd5, 0xfb, 0x00, 0x00])), /ext -5/],
    ['typed array outside data', extended.pack(request({ parameters: { t: new Float32Array(2) } })), /outside an input's data/],
    ['bin outside data (id)', plain.pack({ id: Buffer.from('x'), inputs: [pixels()] }), /outside an input's data/],
    ['ArrayBuffer (typed-array code 16) as data', Buffer.from(extended.pack(request({}, new Float32Array(64).buffer))), /code 16/],
    ['typed array nested inside data', extended.pack(request({}, [Float32Array.from(pixelValues())])), /outside an input's data/],
  ];
  it.each(cases)('%s', (_label, body, why) => {
    const err = rejects(body, 'SLUICE_ERR_MSGPACK_UNSUPPORTED_TYPE');
    expect(err.details?.[0]).toMatch(why);
  });

  it('names the path of the offending value', () => {
    const err = rejects(extended.pack(request({ parameters: { list: [1, { r: /x/ }] } })), 'SLUICE_ERR_MSGPACK_UNSUPPORTED_TYPE');
    expect(err.details?.[0]).toMatch(/^\/parameters\/list\/1\/r \(byte \d+\): /);
  });
});

describe('structure → SLUICE_ERR_MSGPACK_MALFORMED', () => {
  const cases: [string, Uint8Array][] = [
    ['empty body', new Uint8Array(0)],
    ['top-level array', plain.pack([1, 2])],
    ['top-level string', plain.pack('x')],
    ['trailing bytes', Buffer.concat([VALID, Buffer.from([0xc0])])],
    ['two values', Buffer.concat([VALID, VALID])],
    ['truncated by one byte', VALID.subarray(0, VALID.length - 1)],
    ['truncated inside a header', VALID.subarray(0, 2)],
    ['reserved byte 0xc1', withParameters(Buffer.from([0xc1]))],
    ['invalid UTF-8 in a string', withParameters(Buffer.from([0xa2, 0xc3, 0x28]))],
    ['invalid UTF-8 in a key', Buffer.from([0x81, 0xa2, 0xc3, 0x28, 0xc0])],
    ['typed array payload not a whole number of elements', withParametersData(Buffer.from([0xc7, 0x04, 0x74, 0x07, 0, 0, 0]))],
  ];
  it.each(cases)('%s', (_label, body) => {
    rejects(body, 'SLUICE_ERR_MSGPACK_MALFORMED');
  });

  it('a huge declared array length with a tiny body is refused before anything is allocated', () => {
    // array 32 of 2^32-1 elements in 6 bytes: over the length cap by default ...
    const body = Buffer.concat([Buffer.from([0x81]), plain.pack('inputs'), Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0])]);
    rejects(body, 'SLUICE_ERR_MSGPACK_OVER_LIMIT');
    // ... and with no length cap, refused because the body cannot hold that many elements
    const before = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    const err = rejects(body, 'SLUICE_ERR_MSGPACK_MALFORMED', { maxArrayLength: 2 ** 32 });
    expect(performance.now() - t0).toBeLessThan(50);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
    expect(err.details?.[0]).toMatch(/truncated/);
    // same for a map 32 and a str 32
    rejects(Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x61]), 'SLUICE_ERR_MSGPACK_MALFORMED', { maxMapSize: 2 ** 32 });
    rejects(withParameters(Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61])), 'SLUICE_ERR_MSGPACK_MALFORMED', { maxStringBytes: 2 ** 32 });
  });
});

/** {inputs: [{name, shape, datatype, data: <raw>}]} with `raw` spliced in as the data value. */
function withParametersData(raw: Uint8Array): Buffer {
  const fields = ['name', 'pixels', 'shape', [1, 64], 'datatype', 'FP32', 'data'].map((v) => plain.pack(v));
  const input = Buffer.concat([Buffer.from([0x84]), ...fields, raw]);
  return Buffer.concat([Buffer.from([0x81]), plain.pack('inputs'), Buffer.from([0x91]), input]);
}

describe('keys → SLUICE_ERR_MSGPACK_FORBIDDEN_KEY', () => {
  const cases: [string, Uint8Array, string][] = [
    ['__proto__ at top level', plain.pack(JSON.parse(`{"__proto__":{"x":1},"inputs":[]}`)), '/__proto__'],
    ['__proto__ nested', plain.pack({ inputs: [pixels()], parameters: JSON.parse('{"a":{"__proto__":{"polluted":true}}}') }), '/parameters/a/__proto__'],
    ['constructor', plain.pack({ inputs: [pixels()], parameters: { constructor: { prototype: 1 } } }), '/parameters/constructor'],
    ['prototype inside a tensor', plain.pack({ inputs: [{ ...pixels(), prototype: 1 }] }), '/inputs/0/prototype'],
  ];
  it.each(cases)('%s', (_label, body, path) => {
    const err = rejects(body, 'SLUICE_ERR_MSGPACK_FORBIDDEN_KEY');
    expect(err.details?.[0]?.startsWith(`${path} (byte`)).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('depth and caps', () => {
  it('a depth bomb of 200,000 nested arrays → SLUICE_ERR_MSGPACK_TOO_DEEP (msgpackr alone overflows its stack)', () => {
    const bomb = Buffer.alloc(200_000, 0x91);
    bomb[bomb.length - 1] = 0xc0;
    rejects(withParameters(bomb), 'SLUICE_ERR_MSGPACK_TOO_DEEP');
  });

  it('scans share their level arrays: a deep refusal leaves no stale path, a larger maxDepth still works', () => {
    rejects(extended.pack(request({ parameters: { a: { b: { c: [0, /x/] } } } })), 'SLUICE_ERR_MSGPACK_UNSUPPORTED_TYPE');
    const err = rejects(extended.pack({ id: 'mp', bad: new Date(0), inputs: [pixels()] }), 'SLUICE_ERR_MSGPACK_UNSUPPORTED_TYPE');
    expect(err.details?.[0]).toMatch(/^\/bad \(byte \d+\): /);
    let nested: unknown = 1;
    for (let i = 0; i < 30; i++) nested = [nested];
    const deep = plain.pack(request({ parameters: { deep: nested } }));
    rejects(deep, 'SLUICE_ERR_MSGPACK_TOO_DEEP');
    expect(digits(decodeMsgpackBody(deep, { maxDepth: 40 })).rows).toBe(1);
  });

  it('one level over maxDepth → TOO_DEEP; maxDepth is configurable', () => {
    let nested: unknown = 1;
    for (let i = 0; i < 15; i++) nested = [nested];
    rejects(plain.pack(request({ parameters: { deep: nested } })), 'SLUICE_ERR_MSGPACK_TOO_DEEP');
    // root map 1, inputs 2, the tensor map 3, its shape (and flat data) 4
    rejects(VALID, 'SLUICE_ERR_MSGPACK_TOO_DEEP', { maxDepth: 3 });
    expect(digits(decodeMsgpackBody(VALID, { maxDepth: 4 })).rows).toBe(1);
  });

  it.each([
    ['array length', { maxArrayLength: 63 }],
    ['map size', { maxMapSize: 3 }],
    ['string bytes', { maxStringBytes: 5 }],
    ['value count', { maxValues: 70 }],
  ] as [string, DecodeMsgpackOptions][])('%s over its cap → SLUICE_ERR_MSGPACK_OVER_LIMIT', (_label, opts) => {
    rejects(VALID, 'SLUICE_ERR_MSGPACK_OVER_LIMIT', opts);
  });
});

describe('non-finite numbers and data checks reach the validator', () => {
  it.each([NaN, Infinity, -Infinity])('%s as a plain float → SLUICE_ERR_INPUT_NON_FINITE', (bad) => {
    const data = pixelValues();
    data[5] = bad;
    const err = rejects(plain.pack(request({}, data)), 'SLUICE_ERR_INPUT_NON_FINITE');
    expect(err.details).toEqual([`/inputs/0/data/5: expected a finite number, got ${bad}`]);
  });

  it.each([NaN, Infinity, -Infinity])('%s in a Float32Array → SLUICE_ERR_INPUT_NON_FINITE', (bad) => {
    const data = Float32Array.from(pixelValues());
    data[7] = bad;
    data[9] = bad;
    const err = rejects(extended.pack(request({}, data)), 'SLUICE_ERR_INPUT_NON_FINITE');
    expect(err.details).toEqual([`/inputs/0/data/7: expected a finite number, got ${bad}`, `/inputs/0/data/9: expected a finite number, got ${bad}`]);
  });

  it('nil in float data → SLUICE_ERR_INPUT_NON_FINITE; a typed array of the wrong type → SLUICE_ERR_INPUT_DATA_TYPE', () => {
    const data: unknown[] = pixelValues();
    data[0] = null;
    rejects(plain.pack(request({}, data)), 'SLUICE_ERR_INPUT_NON_FINITE');
    const err = rejects(extended.pack(request({}, Float64Array.from(pixelValues()))), 'SLUICE_ERR_INPUT_DATA_TYPE');
    expect(err.details?.[0]).toBe('/inputs/0/data: expected a Float32Array or raw little-endian bytes for FP32, got Float64Array');
  });

  it('a typed array or bin of the wrong length → SLUICE_ERR_INPUT_DATA_LENGTH', () => {
    rejects(extended.pack(request({}, new Float32Array(63))), 'SLUICE_ERR_INPUT_DATA_LENGTH');
    rejects(plain.pack(request({}, Buffer.alloc(255))), 'SLUICE_ERR_INPUT_DATA_LENGTH');
  });
});
