// The same digits request (real rows of models/digits/data/digits.csv.gz) through every request
// format decodes to identical tensors, and the same output tensors through every response format
// read back to identical numbers.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Packr, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeBinaryRequest } from '../src/codec/binary-request.js';
import { createBinaryResponseEncoder } from '../src/codec/binary-response.js';
import { parseJsonBody } from '../src/codec/json-body.js';
import { createResponseEncoder } from '../src/codec/json-response.js';
import { decodeMsgpackBody } from '../src/codec/msgpack-body.js';
import { createMsgpackResponseEncoder } from '../src/codec/msgpack-response.js';
import type { Tensor } from '../src/types.js';
import { compileRequestValidator, type DecodedInfer, type ModelSignature } from '../src/validation/request-validator.js';

const model = JSON.parse(readFileSync(new URL('../models/digits/model.json', import.meta.url), 'utf8'));
const SIG: ModelSignature = { name: model.name, inputs: model.inputs, outputs: model.outputs, maxBatchSize: model.batching.maxBatchSize };
const validate = compileRequestValidator(SIG);

const csv = gunzipSync(readFileSync(new URL('../models/digits/data/digits.csv.gz', import.meta.url))).toString('utf8');
const rows = csv.trim().split('\n').slice(0, 3).map((line) => line.split(',').slice(0, 64).map(Number));
// Scaled so the values are not all small integers (exercises float encodings too).
const pixels = rows.flat().map((v) => v / 16 + 0.001);
const shape = [rows.length, 64];
const f32 = Float32Array.from(pixels);
const oip = (data: unknown) => ({ id: 'same', inputs: [{ name: 'pixels', shape, datatype: 'FP32', data }] });

function viaJson(): DecodedInfer {
  return validate(parseJsonBody(Buffer.from(JSON.stringify(oip(pixels)))));
}

const formats: [string, () => DecodedInfer][] = [
  ['JSON, nested rows', () => validate(parseJsonBody(JSON.stringify(oip([pixels.slice(0, 64), pixels.slice(64, 128), pixels.slice(128)]))))],
  ['msgpack, plain array of float 64', () => validate(decodeMsgpackBody(new Packr({ useRecords: false }).pack(oip(pixels))))],
  ['msgpack, plain array of float 32', () => validate(decodeMsgpackBody(new Packr({ useRecords: false, useFloat32: 1 }).pack(oip(pixels))))],
  ['msgpack, Float32Array (typed-array extension)', () => validate(decodeMsgpackBody(new Packr({ useRecords: false, moreTypes: true }).pack(oip(f32))))],
  ['msgpack, bin of little-endian bytes', () => validate(decodeMsgpackBody(new Packr({ useRecords: false }).pack(oip(new Uint8Array(f32.buffer)))))],
  ['binary extension', () => {
    const head = Buffer.from(JSON.stringify({ id: 'same', inputs: [{ name: 'pixels', shape, datatype: 'FP32', parameters: { binary_data_size: f32.byteLength } }] }));
    return validate(decodeBinaryRequest(Buffer.concat([head, Buffer.from(f32.buffer)]), head.length, SIG));
  }],
];

describe('requests: every format decodes the same digits rows to the same tensor', () => {
  const want = viaJson();
  it('JSON baseline holds the csv values rounded to float32', () => {
    expect(want.inputs[0]?.data).toEqual(f32);
    expect(want.rows).toBe(3);
  });
  it.each(formats)('%s', (_label, decode) => {
    const got = decode();
    expect(got.inputs).toEqual(want.inputs);
    expect(got.rows).toBe(want.rows);
    expect(got.id).toBe('same');
  });
  it('raw binary form of one row equals the JSON request of that row', () => {
    const row = Float32Array.from(pixels.slice(0, 64));
    const raw = validate(decodeBinaryRequest(Buffer.from(row.buffer), 0, SIG));
    const json = validate(parseJsonBody(JSON.stringify({ inputs: [{ name: 'pixels', shape: [1, 64], datatype: 'FP32', data: Array.from(row) }] })));
    expect(raw.inputs).toEqual(json.inputs);
  });
});

describe('responses: every format reads back to the same numbers', () => {
  const probabilities: Tensor = { name: 'probabilities', datatype: 'FP32', shape: [3, 10], data: Float32Array.from({ length: 30 }, (_, i) => Math.fround(Math.exp(-i / 3) / 7)) };
  const label: Tensor = { name: 'label', datatype: 'INT64', shape: [3], data: BigInt64Array.from([0n, 1n, 2n]) };
  const outputs = [probabilities, label];
  const fromJson = JSON.parse(createResponseEncoder('digits', 1, SIG.outputs)('r', outputs));
  const wantProbs = Float32Array.from(fromJson.outputs[0].data as number[]);

  it('JSON prints float32 values that parse back to the same float32', () => {
    expect(wantProbs).toEqual(probabilities.data);
    expect(fromJson.outputs[1].data).toEqual([0, 1, 2]);
  });

  it('msgpack typed and array forms', () => {
    const typed = unpack(createMsgpackResponseEncoder('digits', 1, SIG.outputs)('r', outputs));
    expect(typed.outputs[0].data).toEqual(wantProbs);
    expect(Array.from(typed.outputs[1].data as BigInt64Array, Number)).toEqual(fromJson.outputs[1].data);
    const plain = unpack(createMsgpackResponseEncoder('digits', 1, SIG.outputs, { tensorData: 'array' })('r', outputs));
    expect(Float32Array.from(plain.outputs[0].data)).toEqual(wantProbs);
    expect(plain.outputs[1].data).toEqual(fromJson.outputs[1].data);
    for (const r of [typed, plain]) expect({ ...r, outputs: undefined }).toEqual({ ...fromJson, outputs: undefined });
  });

  it('binary extension: header plus bytes', () => {
    const { body, headerLength } = createBinaryResponseEncoder('digits', 1, SIG.outputs)('r', outputs, 'all');
    const header = JSON.parse(body.subarray(0, headerLength).toString('utf8'));
    expect(header.outputs.map((o: { parameters: unknown }) => o.parameters)).toEqual([{ binary_data_size: 120 }, { binary_data_size: 24 }]);
    const bytes = body.subarray(headerLength);
    const probs = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 120));
    const labels = new BigInt64Array(bytes.buffer.slice(bytes.byteOffset + 120, bytes.byteOffset + 144));
    expect(probs).toEqual(wantProbs);
    expect(Array.from(labels, Number)).toEqual(fromJson.outputs[1].data);
  });
});
