// parseJsonBody on hostile bodies. Every bad body is followed (afterEach) by a valid digits
// request that must parse and validate.
import { afterEach, describe, expect, it } from 'vitest';
import { parseJsonBody } from '../src/codec/json-body.js';
import { SluiceError, type ErrorCode } from '../src/errors.js';
import { compileRequestValidator } from '../src/validation/request-validator.js';

const digits = compileRequestValidator({
  name: 'digits',
  inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 64] }],
  outputs: [{ name: 'probs', datatype: 'FP32', shape: [-1, 10] }],
  maxBatchSize: 64,
});
const pixels = () => ({ name: 'pixels', shape: [1, 64], datatype: 'FP32', data: Array.from({ length: 64 }, (_, i) => i / 64) });
const VALID = JSON.stringify({ id: 'ok', inputs: [pixels()] });

function rejects(body: string | Uint8Array, code: ErrorCode, opts?: { maxDepth?: number }): SluiceError {
  let caught: unknown;
  try {
    parseJsonBody(body, opts);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(SluiceError);
  const err = caught as SluiceError;
  expect(err.code).toBe(code);
  expect(err.status).toBe(400);
  return err;
}

afterEach(() => {
  const r = digits(parseJsonBody(Buffer.from(VALID)));
  expect(r.rows).toBe(1);
  expect(r.id).toBe('ok');
});

describe('well-formed bodies', () => {
  it('parses a string, a Buffer and a plain Uint8Array to the same object', () => {
    const want = JSON.parse(VALID);
    expect(parseJsonBody(VALID)).toEqual(want);
    expect(parseJsonBody(Buffer.from(VALID))).toEqual(want);
    const u8 = new Uint8Array(new TextEncoder().encode(`xx${VALID}`).buffer, 2);
    expect(parseJsonBody(u8)).toEqual(want);
  });

  it('ignores a leading BOM', () => {
    expect(parseJsonBody(`\ufeff${VALID}`)).toEqual(JSON.parse(VALID));
  });

  it('accepts nesting exactly at maxDepth', () => {
    const at16 = `{"a":${'['.repeat(15)}${']'.repeat(15)}}`;
    expect(parseJsonBody(at16)).toBeTypeOf('object');
    const at3 = '{"a":[[1]]}';
    expect(parseJsonBody(at3, { maxDepth: 3 })).toEqual({ a: [[1]] });
  });

  it('accepts nested tensor data of 64 rows (many openers, low depth)', () => {
    const rows = Array.from({ length: 64 }, () => pixels().data);
    const body = JSON.stringify({ inputs: [{ ...pixels(), shape: [64, 64], data: rows }] });
    expect(digits(parseJsonBody(body)).rows).toBe(64);
  });

  it('accepts forbidden words inside string values, and non-key \\u escapes', () => {
    const body = JSON.stringify({ id: 'constructor', parameters: { a: '__proto__ prototype', b: 'é\u0001' }, inputs: [pixels()] });
    expect(body).toContain('\\u0001');
    expect(digits(parseJsonBody(body)).id).toBe('constructor');
  });
});

describe('malformed → SLUICE_ERR_JSON_MALFORMED', () => {
  it.each(['', 'not json', '{"a":1', '[1,2]', 'null', '42', '"str"', '{"a":1}x'])('%j', (text) => {
    rejects(text, 'SLUICE_ERR_JSON_MALFORMED');
  });

  it('invalid UTF-8 bytes', () => {
    const bytes = Buffer.concat([Buffer.from('{"id":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    rejects(bytes, 'SLUICE_ERR_JSON_MALFORMED');
  });
});

describe('forbidden keys → SLUICE_ERR_JSON_FORBIDDEN_KEY', () => {
  it('__proto__ at top level', () => {
    const err = rejects(`{"__proto__":{"polluted":1},"inputs":[${JSON.stringify(pixels())}]}`, 'SLUICE_ERR_JSON_FORBIDDEN_KEY');
    expect(err.details).toEqual(['/__proto__: forbidden key']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('__proto__ inside inputs[0]', () => {
    const t = JSON.stringify(pixels()).replace('{', '{"__proto__":{"x":1},');
    const err = rejects(`{"inputs":[${t}]}`, 'SLUICE_ERR_JSON_FORBIDDEN_KEY');
    expect(err.details).toEqual(['/inputs/0/__proto__: forbidden key']);
  });

  it('__proto__ inside parameters', () => {
    const err = rejects(`{"parameters":{"__proto__":{"timeout_ms":1}},"inputs":[${JSON.stringify(pixels())}]}`, 'SLUICE_ERR_JSON_FORBIDDEN_KEY');
    expect(err.details).toEqual(['/parameters/__proto__: forbidden key']);
  });

  it('constructor and prototype keys, deep', () => {
    rejects('{"parameters":{"a":[{"constructor":{"prototype":1}}]}}', 'SLUICE_ERR_JSON_FORBIDDEN_KEY');
    const err = rejects('{"a":{"b":[0,{"prototype":1}]}}', 'SLUICE_ERR_JSON_FORBIDDEN_KEY');
    expect(err.details).toEqual(['/a/b/1/prototype: forbidden key']);
  });

  it('a key spelled with \\u escapes (the raw text never contains the word)', () => {
    const text = '{"\\u005f_proto__":{"x":1},"inputs":[]}';
    expect(text.includes('__proto__')).toBe(false);
    rejects(text, 'SLUICE_ERR_JSON_FORBIDDEN_KEY');
    rejects('{"parameters":{"c\\u006fnstructor":1}}', 'SLUICE_ERR_JSON_FORBIDDEN_KEY');
  });
});

describe('depth → SLUICE_ERR_JSON_TOO_DEEP', () => {
  it('100k-deep arrays give TOO_DEEP, not a RangeError', () => {
    const n = 100_000;
    const err = rejects(`{"a":${'['.repeat(n)}${']'.repeat(n)}}`, 'SLUICE_ERR_JSON_TOO_DEEP');
    expect(err.details?.[0]).toMatch(/^\/a\/0\/0\/.*: too deep$/);
  });

  it('100k-deep objects, and deep nesting inside parameters', () => {
    const n = 100_000;
    rejects(`{"inputs":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`, 'SLUICE_ERR_JSON_TOO_DEEP');
    rejects(`{"parameters":${'['.repeat(20)}${']'.repeat(20)}}`, 'SLUICE_ERR_JSON_TOO_DEEP');
  });

  it('one level over maxDepth (default 16, and a custom one)', () => {
    rejects(`{"a":${'['.repeat(16)}${']'.repeat(16)}}`, 'SLUICE_ERR_JSON_TOO_DEEP');
    rejects('{"a":[[[1]]]}', 'SLUICE_ERR_JSON_TOO_DEEP', { maxDepth: 3 });
  });

  it('a bare top-level `[[[[...` 100k deep gives TOO_DEEP (not a RangeError)', () => {
    const n = 100_000;
    const err = rejects(`${'['.repeat(n)}${']'.repeat(n)}`, 'SLUICE_ERR_JSON_TOO_DEEP');
    expect(err.message).toBe('JSON nesting deeper than 16');
    // Unbalanced (truncated) deep input is malformed, still without a crash.
    rejects('['.repeat(n), 'SLUICE_ERR_JSON_MALFORMED');
  });
});
