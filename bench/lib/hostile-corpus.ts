// A seeded corpus of hostile request bodies for the digits model ([-1,64] FP32 → probabilities,
// label; maxBatchSize 64). Each case says what a correct server answers: the exact error code
// where the input determines it, or only "some 4xx" for random mutations (which may still be
// valid JSON with another meaning). Same seed, same corpus. Used by test/reliability/ and by
// `npm run soak` (bench/soak.ts).
import { Packr } from 'msgpackr';
import type { ErrorCode } from '../../src/errors.js';
import { Prng } from '../../src/train/prng.js';

export type Format = 'json' | 'msgpack' | 'binary';

export interface HostileCase {
  name: string;
  format: Format;
  body: Uint8Array;
  /** Binary extension: the Inference-Header-Content-Length header to send. */
  headerLength?: string;
  /** The code a correct server answers; undefined: any 4xx with a known code (random mutations). */
  code?: ErrorCode;
  /** Some mutations can leave a valid request: then 200 is right too. */
  mayPass?: boolean;
}

const CONTENT_TYPE: Readonly<Record<Format, string>> = { json: 'application/json', msgpack: 'application/msgpack', binary: 'application/octet-stream' };

/** The HTTP headers a case is sent with: its format's content type, and the binary header length. */
export function hostileHeaders(c: HostileCase): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': CONTENT_TYPE[c.format] };
  if (c.headerLength !== undefined) headers['inference-header-content-length'] = c.headerLength;
  return headers;
}

const packr = new Packr({ useRecords: false, moreTypes: true });
const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');

/** A real-looking digits row: pixel ink 0..16. */
function row(rnd: () => number): number[] {
  return Array.from({ length: 64 }, () => Math.floor(rnd() * 17));
}

function request(data: unknown, extra: Record<string, unknown> = {}, input: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 'h', inputs: [{ name: 'pixels', shape: [1, 64], datatype: 'FP32', data, ...input }], ...extra };
}

/** Nesting `depth` deep: `[[[…0…]]]`. */
const deepArray = (depth: number): string => `${'['.repeat(depth)}0${']'.repeat(depth)}`;
const deepObject = (depth: number): string => `${'{"a":'.repeat(depth)}0${'}'.repeat(depth)}`;

/** The hand-made kinds: every one with the code the rules give. */
function fixedCases(rnd: () => number): HostileCase[] {
  const r = row(rnd);
  const json = (name: string, text: string, code: ErrorCode): HostileCase => ({ name, format: 'json', body: utf8(text), code });
  const obj = (name: string, v: unknown, code: ErrorCode): HostileCase => json(name, JSON.stringify(v), code);
  const cases: HostileCase[] = [
    json('empty body', '', 'SLUICE_ERR_JSON_MALFORMED'),
    json('whitespace only', ' \n\t ', 'SLUICE_ERR_JSON_MALFORMED'),
    json('top-level array', '[1,2,3]', 'SLUICE_ERR_JSON_MALFORMED'),
    json('top-level number', '42', 'SLUICE_ERR_JSON_MALFORMED'),
    json('top-level string', '"inputs"', 'SLUICE_ERR_JSON_MALFORMED'),
    json('NaN in data', JSON.stringify(request(r)).replace('"data":[', '"data":[NaN,'), 'SLUICE_ERR_JSON_MALFORMED'),
    json('Infinity in data', JSON.stringify(request(r)).replace('"data":[', '"data":[Infinity,'), 'SLUICE_ERR_JSON_MALFORMED'),
    json('trailing garbage', `${JSON.stringify(request(r))}}`, 'SLUICE_ERR_JSON_MALFORMED'),
    json('two documents', `${JSON.stringify(request(r))} ${JSON.stringify(request(r))}`, 'SLUICE_ERR_JSON_MALFORMED'),
    { name: 'invalid UTF-8', format: 'json', body: Buffer.concat([utf8('{"id":"'), Buffer.from([0xc3, 0x28]), utf8(`",${JSON.stringify(request(r)).slice(1)}`)]), code: 'SLUICE_ERR_JSON_MALFORMED' },
    { name: 'lone surrogate bytes', format: 'json', body: Buffer.concat([utf8('{"id":"'), Buffer.from([0xed, 0xa0, 0x80]), utf8('"}')]), code: 'SLUICE_ERR_JSON_MALFORMED' },
    json('data 100k deep', JSON.stringify(request(0)).replace('"data":0', `"data":${deepArray(100_000)}`), 'SLUICE_ERR_JSON_TOO_DEEP'),
    json('parameters 10k deep', JSON.stringify(request(r)).replace('"id":"h"', `"id":"h","parameters":${deepObject(10_000)}`), 'SLUICE_ERR_JSON_TOO_DEEP'),
    json('depth 17 (cap 16)', JSON.stringify(request(0)).replace('"data":0', `"data":${deepArray(14)}`), 'SLUICE_ERR_JSON_TOO_DEEP'),
    json('__proto__ at top', JSON.stringify(request(r)).replace('{', '{"__proto__":{"polluted":1},'), 'SLUICE_ERR_JSON_FORBIDDEN_KEY'),
    json('escaped __proto__', JSON.stringify(request(r)).replace('{', '{"\\u005f_proto__":{"polluted":1},'), 'SLUICE_ERR_JSON_FORBIDDEN_KEY'),
    json('constructor in an input', JSON.stringify(request(r, {}, { constructor: { prototype: 1 } })), 'SLUICE_ERR_JSON_FORBIDDEN_KEY'),
    json('prototype in parameters', JSON.stringify(request(r, { parameters: { x: { prototype: 1 } } })), 'SLUICE_ERR_JSON_FORBIDDEN_KEY'),
    obj('null in data', request([null, ...r.slice(1)]), 'SLUICE_ERR_INPUT_NON_FINITE'),
    obj('string in data', request(['1', ...r.slice(1)]), 'SLUICE_ERR_INPUT_DATA_TYPE'),
    obj('boolean in data', request([true, ...r.slice(1)]), 'SLUICE_ERR_INPUT_DATA_TYPE'),
    obj('object in data', request([{}, ...r.slice(1)]), 'SLUICE_ERR_INPUT_DATA_TYPE'),
    json('1e39 overflows FP32', JSON.stringify(request(r.slice(1))).replace('"data":[', '"data":[1e39,'), 'SLUICE_ERR_INPUT_OUT_OF_RANGE'),
    json('1e400 reads as Infinity', JSON.stringify(request(r.slice(1))).replace('"data":[', '"data":[1e400,'), 'SLUICE_ERR_INPUT_NON_FINITE'),
    obj('int beyond 2^53 in FP32 is fine but 2^128 is not', request([2 ** 128, ...r.slice(1)]), 'SLUICE_ERR_INPUT_OUT_OF_RANGE'),
    obj('63 elements', request(r.slice(1)), 'SLUICE_ERR_INPUT_DATA_LENGTH'),
    obj('65 elements', request([...r, 0]), 'SLUICE_ERR_INPUT_DATA_LENGTH'),
    obj('100k elements', request(new Array(100_000).fill(1)), 'SLUICE_ERR_INPUT_DATA_LENGTH'),
    obj('nested the wrong way', request([r.slice(0, 32), r.slice(32)]), 'SLUICE_ERR_INPUT_DATA_LENGTH'),
    obj('shape [1,65]', request(r, {}, { shape: [1, 65] }), 'SLUICE_ERR_INPUT_SHAPE'),
    obj('shape rank 3', request(r, {}, { shape: [1, 8, 8] }), 'SLUICE_ERR_INPUT_SHAPE'),
    obj('shape -1', request(r, {}, { shape: [-1, 64] }), 'SLUICE_ERR_INPUT_SHAPE'),
    obj('shape 1e20 rows', request(r, {}, { shape: [1e20, 64] }), 'SLUICE_ERR_INPUT_SHAPE'),
    obj('shape fraction', request(r, {}, { shape: [1.5, 64] }), 'SLUICE_ERR_REQUEST_INVALID'),
    obj('shape strings', request(r, {}, { shape: ['1', '64'] }), 'SLUICE_ERR_REQUEST_INVALID'),
    obj('batch 0', request([], {}, { shape: [0, 64] }), 'SLUICE_ERR_BATCH_EMPTY'),
    obj('batch 65 (max 64)', request(new Array(65 * 64).fill(1), {}, { shape: [65, 64] }), 'SLUICE_ERR_BATCH_TOO_LARGE'),
    obj('unknown input', request(r, {}, { name: 'pixel' }), 'SLUICE_ERR_INPUT_UNKNOWN'),
    obj('no inputs', { id: 'h', inputs: [] }, 'SLUICE_ERR_REQUEST_INVALID'),
    obj('inputs not an array', { id: 'h', inputs: { name: 'pixels' } }, 'SLUICE_ERR_REQUEST_INVALID'),
    obj('unknown output', request(r, { outputs: [{ name: 'logits' }] }), 'SLUICE_ERR_OUTPUT_UNKNOWN'),
    obj('datatype FP64', request(r, {}, { datatype: 'FP64' }), 'SLUICE_ERR_INPUT_DATATYPE'),
    obj('datatype lower case', request(r, {}, { datatype: 'fp32' }), 'SLUICE_ERR_INPUT_DATATYPE'),
    obj('datatype number', request(r, {}, { datatype: 32 }), 'SLUICE_ERR_REQUEST_INVALID'),
    obj('id too long', request(r, { id: 'x'.repeat(100_000) }), 'SLUICE_ERR_REQUEST_INVALID'),
    obj('id a number', request(r, { id: 7 }), 'SLUICE_ERR_REQUEST_INVALID'),
    json('duplicate inputs, the last empty', JSON.stringify(request(r)).replace(/\}$/, ',"inputs":[]}'), 'SLUICE_ERR_REQUEST_INVALID'),
  ];
  // msgpack: the same object mistakes, and what only a binary decoder meets.
  const mp = (name: string, v: unknown, code: ErrorCode): HostileCase => ({ name: `msgpack ${name}`, format: 'msgpack', body: packr.pack(v), code });
  cases.push(
    mp('Float64Array for FP32', request(new Float64Array(64)), 'SLUICE_ERR_INPUT_DATA_TYPE'),
    mp('63 raw bytes', request(new Uint8Array(63)), 'SLUICE_ERR_INPUT_DATA_LENGTH'),
    mp('NaN float', request([Number.NaN, ...r.slice(1)]), 'SLUICE_ERR_INPUT_NON_FINITE'),
    mp('63 elements', request(r.slice(1)), 'SLUICE_ERR_INPUT_DATA_LENGTH'),
    mp('top-level array', [1, 2, 3], 'SLUICE_ERR_MSGPACK_MALFORMED'),
    mp('unknown output', request(r, { outputs: [{ name: 'logits' }] }), 'SLUICE_ERR_OUTPUT_UNKNOWN'),
    { name: 'msgpack 100k deep', format: 'msgpack', body: Buffer.concat([Buffer.alloc(100_000, 0x91), Buffer.from([0x00])]), code: 'SLUICE_ERR_MSGPACK_TOO_DEEP' },
    { name: 'msgpack truncated', format: 'msgpack', body: packr.pack(request(r)).subarray(0, 40), code: 'SLUICE_ERR_MSGPACK_MALFORMED' },
    { name: 'msgpack map claims 2^32 entries', format: 'msgpack', body: Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]), code: 'SLUICE_ERR_MSGPACK_OVER_LIMIT' },
    { name: 'msgpack str claims 4 GiB', format: 'msgpack', body: Buffer.from([0x81, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x41]), code: 'SLUICE_ERR_MSGPACK_OVER_LIMIT' },
  );
  // Binary extension: header lengths and sizes that lie.
  const header = JSON.stringify({ id: 'h', inputs: [{ name: 'pixels', shape: [1, 64], datatype: 'FP32', parameters: { binary_data_size: 256 } }] });
  const tensor = Buffer.from(Float32Array.from(r).buffer);
  const bin = (name: string, body: Uint8Array, headerLength: string, code: ErrorCode): HostileCase => ({ name: `binary ${name}`, format: 'binary', body, headerLength, code });
  const full = Buffer.concat([utf8(header), tensor]);
  cases.push(
    bin('header length past the body', full, String(full.length + 1), 'SLUICE_ERR_BINARY_HEADER_LENGTH'),
    bin('header length negative', full, '-1', 'SLUICE_ERR_BINARY_HEADER_LENGTH'),
    bin('header length not a number', full, '12abc', 'SLUICE_ERR_BINARY_HEADER_LENGTH'),
    bin('header cut inside the JSON', full, String(header.length - 5), 'SLUICE_ERR_JSON_MALFORMED'),
    bin('binary data short', full.subarray(0, full.length - 4), String(header.length), 'SLUICE_ERR_BINARY_DATA_LENGTH'),
    bin('bytes left over', Buffer.concat([full, Buffer.alloc(4)]), String(header.length), 'SLUICE_ERR_BINARY_DATA_LENGTH'),
    bin('size not the shape', Buffer.concat([utf8(header.replace('256', '252')), tensor.subarray(0, 252)]), String(header.length), 'SLUICE_ERR_BINARY_DATA_SIZE'),
    bin('NaN pixel', Buffer.concat([utf8(header), Buffer.from(Float32Array.from([Number.NaN, ...r.slice(1)]).buffer)]), String(header.length), 'SLUICE_ERR_INPUT_NON_FINITE'),
  );
  return cases;
}

/** Random edits of valid bodies: any 4xx with a known code, or 200 when the edit left a valid request. */
function mutatedCases(rnd: () => number, count: number): HostileCase[] {
  const alphabet = '[]{},:"-+.eE0123456789 \\nulltruefalse_\u00e9\u0000';
  const out: HostileCase[] = [];
  for (let i = 0; i < count; i++) {
    const base = JSON.stringify(request(row(rnd), rnd() < 0.3 ? { outputs: [{ name: 'label' }] } : {}));
    let text = base;
    const edits = 1 + Math.floor(rnd() * 4);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(rnd() * text.length);
      const c = alphabet[Math.floor(rnd() * alphabet.length)] as string;
      const op = rnd();
      text = op < 0.3 ? text.slice(0, at) + c + text.slice(at) : op < 0.6 ? text.slice(0, at) + text.slice(at + 1) : op < 0.9 ? text.slice(0, at) + c + text.slice(at + 1) : text.slice(0, at);
    }
    if (rnd() < 0.15) {
      const body = packr.pack(JSON.parse(base) as unknown);
      const cut = Buffer.from(body);
      for (let e = 0; e < edits; e++) cut[Math.floor(rnd() * cut.length)] = Math.floor(rnd() * 256);
      out.push({ name: `msgpack mutation ${i}`, format: 'msgpack', body: cut, mayPass: true });
    } else {
      out.push({ name: `json mutation ${i}: ${text.slice(0, 80)}`, format: 'json', body: utf8(text), mayPass: true });
    }
  }
  return out;
}

export function hostileCorpus(seed: number, mutations: number): HostileCase[] {
  const p = new Prng(seed);
  const rnd = (): number => p.nextFloat();
  return [...fixedCases(rnd), ...mutatedCases(rnd, mutations)];
}
