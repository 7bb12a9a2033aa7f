// One prediction through every way clients call — OIP JSON, msgpack, the binary tensor
// extension (both directions, and the raw single-input form), /v1 named features and the
// WebSocket — gives the same numbers; malformed bodies of each format get a coded 4xx and
// the server then serves a valid request.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Packr, unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { getJson, postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { digitsRows } from './helpers/ort.js';

// A stock Packr writes a Float32Array as truncated bytes; typed arrays need moreTypes.
const packr = new Packr({ useRecords: false, moreTypes: true });
const pack = (v: unknown) => packr.pack(v);
let t: TestGateway;
const row = digitsRows(1)[0]!;
const url = () => `${t.url}/v2/models/digits/infer`;
const oip = { id: 'same', inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: row }] };
let expected: { probabilities: number[]; label: number };

beforeAll(async () => {
  t = await startTestGateway({ models: ['digits'] });
  const r = await postJson(url(), oip);
  // JSON writes each float32 as its shortest text: Math.fround gives back the float32 itself.
  expected = { probabilities: r.json.outputs[0].data.map(Math.fround), label: r.json.outputs[1].data[0] };
});
afterAll(async () => {
  await t.stop();
});

async function post(body: Uint8Array | string, headers: Record<string, string>) {
  const res = await fetch(url(), { method: 'POST', headers, body });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

function binaryBody(header: object, ...tensors: ArrayBufferView[]): { body: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([json, ...tensors.map((x) => Buffer.from(x.buffer, x.byteOffset, x.byteLength))]), headerLength: json.length };
}

/** Parses a binary-extension answer into {header, outputs by name as arrays}. */
function readBinaryAnswer(bytes: Buffer, headerLength: number) {
  const header = JSON.parse(bytes.subarray(0, headerLength).toString());
  let at = headerLength;
  const data: Record<string, number[]> = {};
  for (const o of header.outputs) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) {
      data[o.name] = o.data;
      continue;
    }
    const chunk = bytes.subarray(at, at + size);
    at += size;
    const copy = new Uint8Array(chunk).buffer;
    data[o.name] = o.datatype === 'INT64' ? Array.from(new BigInt64Array(copy), Number) : Array.from(new Float32Array(copy));
  }
  return { header, data };
}

describe('same numbers through every format', () => {
  it('msgpack request and answer (plain arrays and typed arrays)', async () => {
    for (const data of [row, Float32Array.from(row)]) {
      const r = await post(pack({ ...oip, inputs: [{ ...oip.inputs[0], data }] }), { 'content-type': 'application/msgpack' });
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/msgpack');
      const answer = unpack(r.bytes);
      expect(answer).toMatchObject({ model_name: 'digits', model_version: '1', id: 'same' });
      expect(Array.from(answer.outputs[0].data as ArrayLike<number>)).toEqual(expected.probabilities);
      expect(Number(answer.outputs[1].data[0])).toBe(expected.label);
    }
    // Accept wins over the request's format.
    const json = await post(pack(oip), { 'content-type': 'application/x-msgpack', accept: 'application/json' });
    expect(JSON.parse(json.bytes.toString()).outputs[0].data.map(Math.fround)).toEqual(expected.probabilities);
  });

  it('binary tensor extension: binary input, binary outputs', async () => {
    const { body, headerLength } = binaryBody(
      { id: 'same', inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], parameters: { binary_data_size: 256 } }], parameters: { binary_data_output: true } },
      Float32Array.from(row),
    );
    const r = await post(body, { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) });
    expect(r.status).toBe(200);
    const h = Number(r.headers.get('inference-header-content-length'));
    const { header, data } = readBinaryAnswer(r.bytes, h);
    expect(header).toMatchObject({ model_name: 'digits', model_version: '1', id: 'same' });
    expect(data.probabilities).toEqual(expected.probabilities);
    expect(data.label).toEqual([expected.label]);
  });

  it('binary extension raw single-input form (Inference-Header-Content-Length: 0)', async () => {
    const raw = Float32Array.from(row);
    const r = await post(new Uint8Array(raw.buffer), { 'content-type': 'application/octet-stream', 'inference-header-content-length': '0' });
    expect(r.status).toBe(200);
    const { data } = readBinaryAnswer(r.bytes, Number(r.headers.get('inference-header-content-length')));
    expect(data.probabilities).toEqual(expected.probabilities);
  });

  it('/v1 named features and the WebSocket', async () => {
    const features = JSON.parse(await readFile(path.join(t.modelsDir, 'digits/model.json'), 'utf8')).features as { name: string }[];
    const v1 = await postJson(`${t.url}/v1/models/digits:predict`, { instances: [Object.fromEntries(features.map((f, i) => [f.name, row[i]]))] });
    expect(v1.json.predictions[0].probabilities.map(Math.fround)).toEqual(expected.probabilities);
    const ws = new WebSocket(`${t.url.replace('http', 'ws')}/v2/ws`);
    await new Promise((r) => ws.once('open', r));
    const answer = new Promise<any>((r) => ws.once('message', (d) => r(JSON.parse(String(d)))));
    ws.send(JSON.stringify({ ...oip, model_name: 'digits' }));
    expect((await answer).outputs[0].data.map(Math.fround)).toEqual(expected.probabilities);
    ws.close();
  });

  it('GET /v2 lists the binary_tensor_data extension', async () => {
    expect((await getJson(`${t.url}/v2`)).json.extensions).toContain('binary_tensor_data');
  });
});

describe('malformed bodies of each format: coded 4xx, then a valid request succeeds', () => {
  const cases: [string, () => { body: Uint8Array | string; headers: Record<string, string> }, string][] = [
    ['truncated msgpack', () => ({ body: pack(oip).subarray(0, 40), headers: { 'content-type': 'application/msgpack' } }), 'SLUICE_ERR_MSGPACK_'],
    ['msgpack timestamp ext', () => ({ body: pack({ ...oip, when: new Date(0) }), headers: { 'content-type': 'application/msgpack' } }), 'SLUICE_ERR_MSGPACK_'],
    ['msgpack NaN in a Float32Array', () => ({ body: pack({ ...oip, inputs: [{ ...oip.inputs[0], data: Float32Array.from(row, (v, i) => (i === 3 ? NaN : v)) }] }), headers: { 'content-type': 'application/msgpack' } }), 'SLUICE_ERR_INPUT_NON_FINITE'],
    ['msgpack trailing bytes', () => ({ body: Buffer.concat([pack(oip), Buffer.from([0xc0])]), headers: { 'content-type': 'application/msgpack' } }), 'SLUICE_ERR_MSGPACK_'],
    ['binary header length over the body', () => ({ body: 'x'.repeat(10), headers: { 'inference-header-content-length': '99' } }), 'SLUICE_ERR_BINARY_HEADER_LENGTH'],
    ['binary header not a number', () => ({ body: 'x'.repeat(10), headers: { 'inference-header-content-length': 'ten' } }), 'SLUICE_ERR_BINARY_HEADER_LENGTH'],
    ['binary size mismatch', () => binaryRequest(255), 'SLUICE_ERR_BINARY_'],
    ['raw form of the wrong size', () => ({ body: new Uint8Array(100), headers: { 'inference-header-content-length': '0' } }), 'SLUICE_ERR_BINARY_'],
  ];
  function binaryRequest(size: number) {
    const { body, headerLength } = binaryBody({ inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], parameters: { binary_data_size: size } }] }, Float32Array.from(row));
    return { body, headers: { 'inference-header-content-length': String(headerLength), 'content-type': 'application/octet-stream' } };
  }
  it.each(cases)('%s', async (_name, make, code) => {
    const { body, headers } = make();
    const r = await post(body, headers);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    const answer = r.headers.get('content-type') === 'application/msgpack' ? unpack(r.bytes) : JSON.parse(r.bytes.toString());
    expect(answer.code.startsWith(code)).toBe(true);
    expect((await postJson(url(), oip)).status).toBe(200);
  });
});
