// The binary tensor data extension (Triton's), both directions, through the public seams:
// decodeBinaryRequest then the model's compiled validator; the binary response encoder read back
// as a client would (JSON header of headerLength bytes, then the raw tensors). Every bad request
// is followed (afterEach) by a valid one that must succeed.
import { expectRefusal } from './helpers/refusal.js';
import { DIGITS_SIGNATURE as DIGITS } from './helpers/signatures.js';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeBinaryRequest } from '../src/codec/binary-request.js';
import { createBinaryResponseEncoder } from '../src/codec/binary-response.js';
import { createResponseEncoder } from '../src/codec/json-response.js';
import { SluiceError, type ErrorCode } from '../src/errors.js';
import type { Tensor, TensorSpec } from '../src/types.js';
import { compileRequestValidator, type ModelSignature } from '../src/validation/request-validator.js';

const MIXED: ModelSignature = {
  name: 'mixed',
  inputs: [
    { name: 'a', datatype: 'INT32', shape: [-1, 2] },
    { name: 'b', datatype: 'FP64', shape: [-1] },
    { name: 'c', datatype: 'BOOL', shape: [-1] },
  ],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
  maxBatchSize: 8,
};
const mixed = compileRequestValidator(MIXED);
const digits = compileRequestValidator(DIGITS);

const le = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
/** A binary-extension body: JSON header, then the given byte chunks. */
function binary(header: unknown, ...chunks: Uint8Array[]): { body: Buffer; headerLength: number } {
  const head = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([head, ...chunks]), headerLength: head.length };
}
const A = Int32Array.from([1, -2, 3, -4]);
const C = Uint8Array.from([1, 0]);
const mixedHeader = (over: Record<string, unknown> = {}) => ({
  id: 'bin-1',
  inputs: [
    { name: 'a', shape: [2, 2], datatype: 'INT32', parameters: { binary_data_size: 16 } },
    { name: 'b', shape: [2], datatype: 'FP64', data: [0.5, -7] },
    { name: 'c', shape: [2], datatype: 'BOOL', parameters: { binary_data_size: 2 } },
  ],
  ...over,
});
const VALID = binary(mixedHeader(), le(A), C);

function rejects(body: Uint8Array, headerLength: number, code: ErrorCode, v = mixed, sig: ModelSignature | undefined = MIXED): SluiceError {
  return expectRefusal(() => v(decodeBinaryRequest(body, headerLength, sig)), code);
}

afterEach(() => {
  const r = mixed(decodeBinaryRequest(VALID.body, VALID.headerLength, MIXED));
  expect(r.inputs[0]?.data).toEqual(A);
});

describe('requests', () => {
  it('a mixed request: binary inputs in header order, a JSON input between them', () => {
    const r = mixed(decodeBinaryRequest(VALID.body, VALID.headerLength, MIXED));
    expect(r.id).toBe('bin-1');
    expect(r.rows).toBe(2);
    expect(r.inputs.map((t) => [t.name, t.shape])).toEqual([['a', [2, 2]], ['b', [2]], ['c', [2]]]);
    expect(r.inputs[0]?.data).toEqual(A);
    expect(r.inputs[1]?.data).toEqual(Float64Array.from([0.5, -7]));
    expect(r.inputs[2]?.data).toEqual(C);
    expect(r.binaryOutputs).toBeUndefined();
  });

  it('binary tensors are aligned copies that own their buffer, never views into the body', () => {
    // a 1-byte pad in the id puts the INT32 bytes at an odd offset of the body
    const odd = binary(mixedHeader({ id: 'x'.repeat(VALID.headerLength % 2 === 0 ? 1 : 2) }), le(A), C);
    expect(odd.headerLength % 4).not.toBe(0);
    const r = mixed(decodeBinaryRequest(odd.body, odd.headerLength, MIXED));
    for (const i of [0, 2]) {
      const d = r.inputs[i]?.data as Int32Array;
      expect(d.buffer).not.toBe(odd.body.buffer);
      expect(d.byteOffset).toBe(0);
      expect(d.buffer.byteLength).toBe(d.byteLength);
    }
    odd.body.fill(0);
    expect(r.inputs[0]?.data).toEqual(A);
  });

  it('the decoder itself returns typed arrays of the declared datatype that own their buffers', () => {
    const env = decodeBinaryRequest(VALID.body, VALID.headerLength, MIXED) as { inputs: { data: unknown }[] };
    const [a, b, c] = env.inputs.map((i) => i.data);
    expect(a).toBeInstanceOf(Int32Array);
    expect((a as Int32Array).buffer).not.toBe(VALID.body.buffer);
    expect((a as Int32Array).buffer.byteLength).toBe(16);
    expect(b).toEqual([0.5, -7]);
    expect((c as Uint8Array).constructor).toBe(Uint8Array);
    expect((c as Uint8Array).buffer.byteLength).toBe(2);
  });

  it('binary_data_output and per-output binary_data in the header reach DecodedInfer', () => {
    const { body, headerLength } = binary(mixedHeader({ parameters: { binary_data_output: true } }), le(A), C);
    expect(mixed(decodeBinaryRequest(body, headerLength, MIXED)).binaryOutputs).toBe('all');
  });

  it('all inputs as JSON with a header length equal to the body is a plain JSON request', () => {
    const json = { inputs: [{ name: 'a', shape: [1, 2], datatype: 'INT32', data: [1, 2] }, { name: 'b', shape: [1], datatype: 'FP64', data: [1] }, { name: 'c', shape: [1], datatype: 'BOOL', data: [true] }] };
    const { body, headerLength } = binary(json);
    expect(headerLength).toBe(body.length);
    expect(mixed(decodeBinaryRequest(body, headerLength, MIXED)).rows).toBe(1);
  });

  it('NaN in binary FP32 data is refused like in JSON', () => {
    const f = new Float32Array(64);
    f[3] = NaN;
    const { body, headerLength } = binary({ inputs: [{ name: 'pixels', shape: [1, 64], datatype: 'FP32', parameters: { binary_data_size: 256 } }] }, le(f));
    const err = rejects(body, headerLength, 'SLUICE_ERR_INPUT_NON_FINITE', digits, DIGITS);
    expect(err.details).toEqual(['/inputs/0/data/3: expected a finite number, got NaN']);
  });

  it('a datatype the model does not declare (UINT32) reaches the validator as SLUICE_ERR_INPUT_DATATYPE', () => {
    const { body, headerLength } = binary(mixedHeader({ inputs: [{ ...mixedHeader().inputs[0], datatype: 'UINT32' }, ...mixedHeader().inputs.slice(1)] }), le(A), C);
    rejects(body, headerLength, 'SLUICE_ERR_INPUT_DATATYPE');
  });
});

describe('raw single-input form (Inference-Header-Content-Length: 0)', () => {
  it('the whole body is the only input, batch 1, all outputs binary', () => {
    const f = Float32Array.from({ length: 64 }, (_, i) => i / 4);
    const r = digits(decodeBinaryRequest(le(f), 0, DIGITS));
    expect(r.rows).toBe(1);
    expect(r.inputs[0]?.shape).toEqual([1, 64]);
    expect(r.inputs[0]?.data).toEqual(f);
    expect(r.binaryOutputs).toBe('all');
  });

  it('one variable non-batch dim is deduced from the byte count', () => {
    const sig: ModelSignature = { name: 'img', inputs: [{ name: 'x', datatype: 'UINT8', shape: [-1, -1, 3] }], outputs: [], maxBatchSize: 4 };
    const r = compileRequestValidator(sig)(decodeBinaryRequest(Buffer.alloc(12, 7), 0, sig));
    expect(r.inputs[0]?.shape).toEqual([1, 4, 3]);
  });

  it.each([
    ['two inputs', MIXED, Buffer.alloc(8), 'SLUICE_ERR_BINARY_RAW_UNSUPPORTED'],
    ['two variable non-batch dims', { ...DIGITS, inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, -1, -1] }] }, Buffer.alloc(8), 'SLUICE_ERR_BINARY_RAW_UNSUPPORTED'],
    ['a byte count that is not the input size', DIGITS, Buffer.alloc(255), 'SLUICE_ERR_BINARY_DATA_LENGTH'],
    ['an empty body', DIGITS, Buffer.alloc(0), 'SLUICE_ERR_BINARY_DATA_LENGTH'],
  ] as [string, ModelSignature, Buffer, ErrorCode][])('%s → %s', (_label, sig, body, code) => {
    rejects(body, 0, code, compileRequestValidator(sig), sig);
  });

  it('without the signature it is a server bug (500), not the client\'s', () => {
    expect(() => decodeBinaryRequest(Buffer.alloc(256), 0)).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_SERVER_INTERNAL', status: 500 }));
  });
});

describe('malformed requests', () => {
  it.each([
    ['longer than the body', VALID.body.length + 1],
    ['negative', -1],
    ['not an integer', 10.5],
    ['not a number (unparsable header)', NaN],
  ])('Inference-Header-Content-Length %s → SLUICE_ERR_BINARY_HEADER_LENGTH', (_label, n) => {
    rejects(VALID.body, n, 'SLUICE_ERR_BINARY_HEADER_LENGTH');
  });

  it('a header cut short (length too small) is malformed JSON', () => {
    rejects(VALID.body, VALID.headerLength - 1, 'SLUICE_ERR_JSON_MALFORMED');
  });

  it('the header gets the JSON hardening: __proto__ → SLUICE_ERR_JSON_FORBIDDEN_KEY', () => {
    const head = Buffer.from(JSON.stringify(mixedHeader()).replace('"id"', '"__proto__":{"x":1},"id"'));
    rejects(Buffer.concat([head, le(A), C]), head.length, 'SLUICE_ERR_JSON_FORBIDDEN_KEY');
  });

  it('fewer bytes than declared → SLUICE_ERR_BINARY_DATA_LENGTH', () => {
    const { body, headerLength } = binary(mixedHeader(), le(A), C.subarray(0, 1));
    const err = rejects(body, headerLength, 'SLUICE_ERR_BINARY_DATA_LENGTH');
    expect(err.details).toEqual(['/inputs/2/parameters/binary_data_size: 2 bytes, but only 1 remain after byte ' + (headerLength + 16)]);
  });

  it('bytes left over after the last binary input → SLUICE_ERR_BINARY_DATA_LENGTH', () => {
    const { body, headerLength } = binary(mixedHeader(), le(A), C, Buffer.from([0]));
    rejects(body, headerLength, 'SLUICE_ERR_BINARY_DATA_LENGTH');
  });

  it.each([
    ['bigger than shape x datatype', 20, 'shape [2,2] of INT32 is 16 bytes, got 20'],
    ['smaller than shape x datatype', 12, 'shape [2,2] of INT32 is 16 bytes, got 12'],
    ['negative', -16, 'expected a non-negative integer, got -16'],
    ['a string', '16', 'expected a non-negative integer, got "16"'],
    ['fractional', 15.5, 'expected a non-negative integer, got 15.5'],
  ])('binary_data_size %s → SLUICE_ERR_BINARY_DATA_SIZE', (_label, size, detail) => {
    const header = mixedHeader();
    header.inputs[0] = { ...header.inputs[0], parameters: { binary_data_size: size as number } } as (typeof header.inputs)[0];
    const { body, headerLength } = binary(header, Buffer.alloc(typeof size === 'number' && size > 0 ? size : 16), C);
    const err = rejects(body, headerLength, 'SLUICE_ERR_BINARY_DATA_SIZE');
    expect(err.details).toEqual([`/inputs/0/parameters/binary_data_size: ${detail}`]);
  });

  it('an input with neither data nor binary_data_size, or both → SLUICE_ERR_BINARY_INPUT_DATA', () => {
    const neither = mixedHeader();
    neither.inputs[1] = { name: 'b', shape: [2], datatype: 'FP64' } as (typeof neither.inputs)[1];
    let r = binary(neither, le(A), C);
    expect(rejects(r.body, r.headerLength, 'SLUICE_ERR_BINARY_INPUT_DATA').details).toEqual(['/inputs/1: no data and no parameters.binary_data_size']);
    const both = mixedHeader();
    both.inputs[0] = { ...both.inputs[0], data: [1, 2, 3, 4] } as (typeof both.inputs)[0];
    r = binary(both, le(A), C);
    expect(rejects(r.body, r.headerLength, 'SLUICE_ERR_BINARY_INPUT_DATA').details).toEqual(['/inputs/0: data and parameters.binary_data_size are exclusive']);
  });

  it('inputs that is not an array of objects → SLUICE_ERR_REQUEST_INVALID', () => {
    let r = binary({ inputs: { a: 1 } }, C);
    rejects(r.body, r.headerLength, 'SLUICE_ERR_REQUEST_INVALID');
    r = binary({ inputs: [7] }, C);
    rejects(r.body, r.headerLength, 'SLUICE_ERR_REQUEST_INVALID');
  });
});

describe('responses', () => {
  const OUT: TensorSpec[] = [
    { name: 'probs', datatype: 'FP32', shape: [-1, 3] },
    { name: 'label', datatype: 'INT64', shape: [-1] },
    { name: 'flag', datatype: 'BOOL', shape: [-1] },
  ];
  const encode = createBinaryResponseEncoder('digits', 3, OUT);
  const json = createResponseEncoder('digits', 3, OUT);
  const probs: Tensor = { name: 'probs', datatype: 'FP32', shape: [2, 3], data: Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.25, 0.25]) };
  const label: Tensor = { name: 'label', datatype: 'INT64', shape: [2], data: BigInt64Array.from([1n, -(2n ** 62n)]) };
  const flag: Tensor = { name: 'flag', datatype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) };

  /** What a Triton client does: header JSON, then each binary output's bytes in header order. */
  function parse(r: { body: Buffer; headerLength: number }) {
    const header = JSON.parse(r.body.subarray(0, r.headerLength).toString('utf8'));
    let at = r.headerLength;
    const raw: Record<string, Buffer> = {};
    for (const o of header.outputs) {
      const n = o.parameters?.binary_data_size;
      if (n === undefined) continue;
      raw[o.name] = r.body.subarray(at, at + n);
      at += n;
    }
    expect(at).toBe(r.body.length);
    return { header, raw };
  }

  it('binary outputs carry binary_data_size instead of data, and their bytes parse back to the same values', () => {
    const r = encode('id-1', [flag, label, probs], new Set(['probs', 'label']));
    const { header, raw } = parse(r);
    expect(header).toEqual({
      model_name: 'digits',
      model_version: '3',
      id: 'id-1',
      outputs: [
        { name: 'probs', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: 24 } },
        { name: 'label', datatype: 'INT64', shape: [2], parameters: { binary_data_size: 16 } },
        { name: 'flag', datatype: 'BOOL', shape: [2], data: [true, false] },
      ],
    });
    const p = raw.probs as Buffer;
    expect(Array.from({ length: 6 }, (_, i) => p.readFloatLE(i * 4))).toEqual(Array.from(probs.data as Float32Array));
    const l = raw.label as Buffer;
    expect([l.readBigInt64LE(0), l.readBigInt64LE(8)]).toEqual([1n, -(2n ** 62n)]);
  });

  it("'all' makes every sent output binary; BOOL is one byte 0/1; requested filters", () => {
    const truthy: Tensor = { ...flag, data: Uint8Array.from([7, 0]) };
    const r = encode('id-2', [probs, label, truthy], 'all', ['flag', 'probs']);
    const { header, raw } = parse(r);
    expect(header.outputs.map((o: { name: string }) => o.name)).toEqual(['probs', 'flag']);
    expect(Array.from(raw.flag as Buffer)).toEqual([1, 0]);
  });

  it('with nothing binary the body is the JSON encoder\'s output byte for byte and headerLength is its length', () => {
    for (const binaryOutputs of [undefined, new Set<string>(), new Set(['label'])]) {
      const r = encode('id-3', [probs, label, flag], binaryOutputs, ['probs', 'flag'], { note: 'x' });
      expect(r.body.toString('utf8')).toBe(json('id-3', [probs, label, flag], ['probs', 'flag'], { note: 'x' }));
      expect(r.headerLength).toBe(r.body.length);
    }
  });

  it('a mixed response header is the JSON response with the binary outputs\' data replaced', () => {
    const r = encode('ü-4', [probs, label, flag], new Set(['label']), undefined, { a: 1 });
    const { header } = parse(r);
    const plain = JSON.parse(json('ü-4', [probs, label, flag], undefined, { a: 1 }));
    plain.outputs[1] = { name: 'label', datatype: 'INT64', shape: [2], parameters: { binary_data_size: 16 } };
    expect(header).toEqual(plain);
  });

  it('a missing output is a server error', () => {
    expect(() => encode('id', [probs], 'all')).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_SERVER_INTERNAL' }));
  });
});
