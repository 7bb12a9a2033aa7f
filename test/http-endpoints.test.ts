// Every OIP endpoint and status code over real HTTP, and every bad input answered with a
// 4xx and a stable code — each followed by a valid request that must succeed.
import { request } from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundled, instanceOf } from './features-helpers.js';
import { getJson, postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { breastRows, digitsRows, directRun } from './helpers/ort.js';

let t: TestGateway;
const rows = digitsRows(8);
const valid = { id: 'ok-1', inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: rows[0] }] };

beforeAll(async () => {
  t = await startTestGateway({ config: { bodyLimitBytes: 64 * 1024 } });
});
afterAll(async () => {
  await t.stop();
});

async function expectValidStillWorks(): Promise<void> {
  const r = await postJson(`${t.url}/v2/models/digits/infer`, valid);
  expect(r.status).toBe(200);
  expect(r.json.id).toBe('ok-1');
}

describe('health and metadata', () => {
  it('GET /v2 describes the server', async () => {
    const r = await getJson(`${t.url}/v2`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ name: 'sluice', version: expect.stringMatching(/^\d+\.\d+\.\d+/), extensions: ['binary_tensor_data'], native: expect.objectContaining({ impl: expect.stringMatching(/^(addon|fallback)$/) }) });
  });

  it('live and ready answer 200 once the models loaded', async () => {
    expect((await getJson(`${t.url}/v2/health/live`)).status).toBe(200);
    const ready = await getJson(`${t.url}/v2/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.json).toEqual({ ready: true });
  });

  it('model metadata lists versions, tensors, sha256 and the active provider', async () => {
    const r = await getJson(`${t.url}/v2/models/digits`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      name: 'digits',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 64] }],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 10] },
        { name: 'label', datatype: 'INT64', shape: [-1] },
      ],
      parameters: { version: '1', state: 'READY', device: 'cpu', execution_provider: 'cpu', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    const v = await getJson(`${t.url}/v2/models/breast-cancer/versions/1`);
    expect(v.status).toBe(200);
    expect(v.json.inputs).toEqual([{ name: 'features', datatype: 'FP32', shape: [-1, 30] }]);
  });

  it('model and version readiness', async () => {
    expect(await getJson(`${t.url}/v2/models/digits/ready`)).toMatchObject({ status: 200, json: { name: 'digits', ready: true } });
    expect((await getJson(`${t.url}/v2/models/digits/versions/1/ready`)).status).toBe(200);
    expect((await getJson(`${t.url}/v2/models/nope/ready`)).json.code).toBe('SLUICE_ERR_MODEL_NOT_FOUND');
    const v9 = await getJson(`${t.url}/v2/models/digits/versions/9/ready`);
    expect(v9.status).toBe(404);
    expect(v9.json.code).toBe('SLUICE_ERR_MODEL_VERSION_NOT_FOUND');
  });

  it('unknown model, version, route and method', async () => {
    expect(await getJson(`${t.url}/v2/models/nope`)).toMatchObject({ status: 404, json: { code: 'SLUICE_ERR_MODEL_NOT_FOUND' } });
    expect(await getJson(`${t.url}/v2/models/digits/versions/7`)).toMatchObject({ status: 404, json: { code: 'SLUICE_ERR_MODEL_VERSION_NOT_FOUND' } });
    expect(await getJson(`${t.url}/v2/models/digits/versions/x1`)).toMatchObject({ status: 404, json: { code: 'SLUICE_ERR_MODEL_VERSION_NOT_FOUND' } });
    expect(await getJson(`${t.url}/v3/whatever`)).toMatchObject({ status: 404, json: { code: 'SLUICE_ERR_HTTP_ROUTE_NOT_FOUND' } });
    const wrongMethod = await fetch(`${t.url}/v2/models/digits/infer`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect(((await wrongMethod.json()) as { code: string }).code).toBe('SLUICE_ERR_HTTP_METHOD_NOT_ALLOWED');
    const del = await fetch(`${t.url}/v2/models/digits`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    await expectValidStillWorks();
  });

  // Probes send HEAD: the same status and headers as GET, no body. fetch reuses its keep-alive
  // connection, so a body sent after a HEAD answer would corrupt the GET that follows it.
  it.each(['/v2', '/v2/health/live', '/v2/health/ready'])('HEAD %s answers like GET without a body', async (p) => {
    const get = await fetch(`${t.url}${p}`);
    const getBody = await get.text();
    const head = await fetch(`${t.url}${p}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.status).toBe(get.status);
    expect(head.headers.get('content-type')).toBe('application/json');
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(getBody)));
    expect(await head.text()).toBe('');
    const again = await getJson(`${t.url}${p}`);
    expect(again.status).toBe(200);
    expect(JSON.stringify(again.json)).toBe(getBody);
  });

  it('HEAD where only GET is registered is 405 without a body; HEAD on no route is 404', async () => {
    const head = await fetch(`${t.url}/v2/models/digits`, { method: 'HEAD' });
    expect(head.status).toBe(405);
    expect(head.headers.get('allow')).toBe('GET');
    expect(await head.text()).toBe('');
    const none = await fetch(`${t.url}/v3/nothing`, { method: 'HEAD' });
    expect(none.status).toBe(404);
    expect(await none.text()).toBe('');
    expect((await getJson(`${t.url}/v2/health/live`)).json).toEqual({ live: true });
  });
});

describe('inference', () => {
  it('answers with model_name, model_version, id, headers and the direct onnxruntime result', async () => {
    const r = await postJson(`${t.url}/v2/models/digits/infer`, {
      id: 'req-42',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [2, 64], data: [rows[0], rows[1]] }],
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-model-version')).toBe('1');
    expect(r.headers.get('x-request-id')).toBe('req-42');
    expect(r.json).toMatchObject({ model_name: 'digits', model_version: '1', id: 'req-42' });
    const [probs, label] = r.json.outputs;
    expect(probs).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: [2, 10] });
    expect(label).toMatchObject({ name: 'label', datatype: 'INT64', shape: [2] });
    const direct = await directRun(path.join(t.modelsDir, 'digits/1/model.onnx'), 'pixels', rows.slice(0, 2));
    for (let i = 0; i < 2; i++) {
      direct[i]!.probabilities.forEach((p, j) => expect(Math.abs(probs.data[i * 10 + j] - p)).toBeLessThanOrEqual(1e-6));
      expect(label.data[i]).toBe(direct[i]!.label);
    }
  });

  it('accepts flat data, versioned URLs, a generated id and requested outputs', async () => {
    const r = await postJson(`${t.url}/v2/models/breast-cancer/versions/1/infer`, {
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 30], data: breastRows(1)[0] }],
      outputs: [{ name: 'label' }],
    });
    expect(r.status).toBe(200);
    expect(r.json.model_version).toBe('1');
    expect(r.json.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.headers.get('x-request-id')).toBe(r.json.id);
    expect(r.json.outputs.map((o: { name: string }) => o.name)).toEqual(['label']);
    expect(r.json.outputs[0].data).toEqual([0]); // the first row of the data set is malignant
  });
});

const pixels = (extra: Record<string, unknown>) => ({ inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: rows[0], ...extra }] });

describe('bad input: 4xx with a stable code, then a valid request succeeds', () => {
  const cases: [string, string | object, number, string][] = [
    ['malformed JSON', '{"inputs": [', 400, 'SLUICE_ERR_JSON_MALFORMED'],
    ['NaN literal', `{"inputs":[{"name":"pixels","datatype":"FP32","shape":[1,64],"data":[NaN${',0'.repeat(63)}]}]}`, 400, 'SLUICE_ERR_JSON_MALFORMED'],
    ['Infinity via 1e999', `{"inputs":[{"name":"pixels","datatype":"FP32","shape":[1,64],"data":[1e999${',0'.repeat(63)}]}]}`, 400, 'SLUICE_ERR_INPUT_NON_FINITE'],
    ['null in FP32 data', pixels({ data: [null, ...rows[0]!.slice(1)] }), 400, 'SLUICE_ERR_INPUT_NON_FINITE'],
    ['string in FP32 data', pixels({ data: ['1', ...rows[0]!.slice(1)] }), 400, 'SLUICE_ERR_INPUT_DATA_TYPE'],
    ['wrong datatype', pixels({ datatype: 'INT32' }), 400, 'SLUICE_ERR_INPUT_DATATYPE'],
    ['wrong shape', pixels({ shape: [1, 63] }), 400, 'SLUICE_ERR_INPUT_SHAPE'],
    ['wrong input name', { inputs: [{ name: 'pixel', datatype: 'FP32', shape: [1, 64], data: rows[0] }] }, 400, 'SLUICE_ERR_INPUT_UNKNOWN'],
    ['data length', pixels({ data: rows[0]!.slice(1) }), 400, 'SLUICE_ERR_INPUT_DATA_LENGTH'],
    ['batch over max', pixels({ shape: [65, 64], data: new Array(65 * 64).fill(0) }), 400, 'SLUICE_ERR_BATCH_TOO_LARGE'],
    ['batch zero', pixels({ shape: [0, 64], data: [] }), 400, 'SLUICE_ERR_BATCH_EMPTY'],
    ['no inputs', { inputs: [] }, 400, 'SLUICE_ERR_REQUEST_INVALID'],
    ['__proto__ key', '{"__proto__": {"polluted": true}, "inputs": []}', 400, 'SLUICE_ERR_JSON_FORBIDDEN_KEY'],
    ['nested constructor key', `{"inputs":[{"name":"pixels","datatype":"FP32","shape":[1,64],"data":[${'0,'.repeat(63)}0],"parameters":{"constructor":{"prototype":{}}}}]}`, 400, 'SLUICE_ERR_JSON_FORBIDDEN_KEY'],
    ['deep nesting', `{"inputs":${'['.repeat(5000)}${']'.repeat(5000)}}`, 400, 'SLUICE_ERR_JSON_TOO_DEEP'],
    ['unknown output', { ...pixels({}), outputs: [{ name: 'logits' }] }, 400, 'SLUICE_ERR_OUTPUT_UNKNOWN'],
    ['bad timeout parameter', { ...pixels({}), parameters: { timeout_ms: -1 } }, 400, 'SLUICE_ERR_PARAMETER_INVALID'],
  ];
  it.each(cases)('%s', async (_name, body, status, code) => {
    const r = await postJson(`${t.url}/v2/models/digits/infer`, body);
    expect(r.status).toBe(status);
    expect(r.json.code).toBe(code);
    expect(typeof r.json.error).toBe('string');
    expect(r.text).not.toMatch(/\n\s+at /);
    await expectValidStillWorks();
  });

  // JSON.parse never pollutes Object.prototype, so checking `({}).polluted` proves nothing: what
  // can fail is the decoder letting the key through. Here the rest of the body is a valid request,
  // so without the guard the answer would be 200.
  it.each([
    ['__proto__', '"__proto__"'],
    ['escaped __proto__', '"\\u005f_proto__"'],
    ['constructor', '"constructor"'],
  ])('a %s key in an otherwise valid body is refused by the JSON decoder', async (_name, key) => {
    const body = `{${key}: {"polluted": true}, "id": "proto-1", "inputs": ${JSON.stringify(valid.inputs)}}`;
    const r = await postJson(`${t.url}/v2/models/digits/infer`, body);
    expect(r.status).toBe(400);
    expect(r.json.code).toBe('SLUICE_ERR_JSON_FORBIDDEN_KEY');
    await expectValidStillWorks();
  });

  it('unknown model and version', async () => {
    expect(await postJson(`${t.url}/v2/models/nope/infer`, valid)).toMatchObject({ status: 404, json: { code: 'SLUICE_ERR_MODEL_NOT_FOUND' } });
    expect(await postJson(`${t.url}/v2/models/digits/versions/3/infer`, valid)).toMatchObject({ status: 404, json: { code: 'SLUICE_ERR_MODEL_VERSION_NOT_FOUND' } });
    await expectValidStillWorks();
  });

  it('unsupported content type is 415', async () => {
    const r = await postJson(`${t.url}/v2/models/digits/infer`, valid, { 'content-type': 'text/plain' });
    expect(r).toMatchObject({ status: 415, json: { code: 'SLUICE_ERR_BODY_CONTENT_TYPE' } });
    await expectValidStillWorks();
  });

  it('bad x-timeout-ms header is 400', async () => {
    const r = await postJson(`${t.url}/v2/models/digits/infer`, valid, { 'x-timeout-ms': 'soon' });
    expect(r).toMatchObject({ status: 400, json: { code: 'SLUICE_ERR_PARAMETER_INVALID' } });
    await expectValidStillWorks();
  });

  it('body over the cap is 413, announced or streamed', async () => {
    const big = JSON.stringify({ inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: rows[0] }], pad: 'x'.repeat(70 * 1024) });
    const r = await postJson(`${t.url}/v2/models/digits/infer`, big);
    expect(r).toMatchObject({ status: 413, json: { code: 'SLUICE_ERR_BODY_TOO_LARGE' } });
    // Chunked transfer, no Content-Length: the cap must still hold.
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${t.url}/v2/models/digits/infer`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      for (let i = 0; i < 80; i++) req.write('x'.repeat(1024));
      req.end();
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).code).toBe('SLUICE_ERR_BODY_TOO_LARGE');
    await expectValidStillWorks();
  });

  it('counts answers by code in the metrics registry', async () => {
    const metric = await t.gw.metrics.requests.get();
    const count = (code: string) => metric.values.filter((v) => v.labels.code === code).reduce((a, v) => a + v.value, 0);
    expect(count('OK')).toBeGreaterThan(10);
    expect(count('SLUICE_ERR_JSON_MALFORMED')).toBe(2);
  });
});

describe('x-request-id', () => {
  const noId = { inputs: valid.inputs };
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  it('a client header is the request id when the body has none: echoed as body id and header', async () => {
    const r = await postJson(`${t.url}/v2/models/digits/infer`, noId, { 'x-request-id': 'client-7' });
    expect(r.status).toBe(200);
    expect(r.json.id).toBe('client-7');
    expect(r.headers.get('x-request-id')).toBe('client-7');
  });

  it('the body id wins over the header', async () => {
    const r = await postJson(`${t.url}/v2/models/digits/infer`, { ...noId, id: 'body-1' }, { 'x-request-id': 'client-8' });
    expect(r.status).toBe(200);
    expect(r.json.id).toBe('body-1');
    expect(r.headers.get('x-request-id')).toBe('body-1');
  });

  it('a header over 256 characters or with a non-printable character is ignored: an id is generated', async () => {
    const at256 = 'r'.repeat(256);
    expect((await postJson(`${t.url}/v2/models/digits/infer`, noId, { 'x-request-id': at256 })).json.id).toBe(at256);
    for (const bad of ['r'.repeat(257), 'a\tb']) {
      const r = await postJson(`${t.url}/v2/models/digits/infer`, noId, { 'x-request-id': bad });
      expect(r.status).toBe(200);
      expect(r.json.id).toMatch(UUID);
      expect(r.headers.get('x-request-id')).toBe(r.json.id);
    }
  });

  it('a body id with CR/LF or other bytes is echoed in the body only: no header of its own reaches the answer (response splitting)', async () => {
    for (const id of ['a\r\nSet-Cookie: evil=1', 'tab\there', 'v\u000btab', 'caf\u00e9']) {
      for (const bad of [false, true]) {
        const body = JSON.stringify({ id, inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: bad ? rows[0]!.slice(1) : rows[0] }] });
        const raw = await new Promise<string>((resolve, reject) => {
          const s = net.connect(Number(new URL(t.url).port), '127.0.0.1', () =>
            s.write(`POST /v2/models/digits/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`),
          );
          let out = '';
          s.on('data', (d) => (out += d.toString('latin1')));
          s.on('end', () => resolve(out));
          s.on('error', reject);
        });
        const [head, text] = [raw.slice(0, raw.indexOf('\r\n\r\n')), raw.slice(raw.indexOf('\r\n\r\n') + 4)];
        expect(head, JSON.stringify(id)).toMatch(bad ? /^HTTP\/1\.1 400 / : /^HTTP\/1\.1 200 /);
        expect(head.toLowerCase()).not.toContain('set-cookie');
        expect(head.toLowerCase()).not.toContain('x-request-id');
        expect(head).toMatch(/^[\x20-\x7e\r\n]*$/);
        if (!bad) expect(JSON.parse(Buffer.from(text, 'latin1').toString('utf8')).id).toBe(id);
      }
    }
  });

  it('/v1 predict honours the header the same way', async () => {
    const instances = [instanceOf(bundled('digits'), rows[0]!)];
    const r = await postJson(`${t.url}/v1/models/digits:predict`, { instances }, { 'x-request-id': 'client-9' });
    expect(r.status).toBe(200);
    expect(r.json.id).toBe('client-9');
    expect(r.headers.get('x-request-id')).toBe('client-9');
    const own = await postJson(`${t.url}/v1/models/digits:predict`, { id: 'body-9', instances }, { 'x-request-id': 'client-9' });
    expect(own.headers.get('x-request-id')).toBe('body-9');
  });

  const big = JSON.stringify({ ...noId, pad: 'x'.repeat(70 * 1024) });
  const errors: [string, string, string | object, Record<string, string>, number, string][] = [
    ['400 malformed JSON', '/v2/models/digits/infer', '{"inputs": [', {}, 400, 'SLUICE_ERR_JSON_MALFORMED'],
    ['400 bad x-timeout-ms', '/v2/models/digits/infer', noId, { 'x-timeout-ms': 'soon' }, 400, 'SLUICE_ERR_PARAMETER_INVALID'],
    ['404 unknown model', '/v2/models/nope/infer', noId, {}, 404, 'SLUICE_ERR_MODEL_NOT_FOUND'],
    ['404 unknown version', '/v2/models/digits/versions/x/infer', noId, {}, 404, 'SLUICE_ERR_MODEL_VERSION_NOT_FOUND'],
    ['404 unknown /v1 verb', '/v1/models/digits:explain', {}, {}, 404, 'SLUICE_ERR_HTTP_ROUTE_NOT_FOUND'],
    ['413 body over the cap', '/v2/models/digits/infer', big, {}, 413, 'SLUICE_ERR_BODY_TOO_LARGE'],
    ['415 content type', '/v2/models/digits/infer', noId, { 'content-type': 'text/plain' }, 415, 'SLUICE_ERR_BODY_CONTENT_TYPE'],
    ['400 /v1 predict without features', '/v1/models/digits:predict', { instances: [{}] }, {}, 400, 'SLUICE_ERR_FEATURES_INVALID'],
  ];
  it.each(errors)('%s carries the client header, or a generated id', async (_name, route, body, headers, status, code) => {
    const withHeader = await postJson(`${t.url}${route}`, body, { ...headers, 'x-request-id': 'err-1' });
    expect(withHeader.status).toBe(status);
    expect(withHeader.json.code).toBe(code);
    expect(withHeader.headers.get('x-request-id')).toBe('err-1');
    const without = await postJson(`${t.url}${route}`, body, headers);
    expect(without.status).toBe(status);
    expect(without.headers.get('x-request-id')).toMatch(UUID);
    await expectValidStillWorks();
  });

  it('a refusal at admission (a deadline no request can meet) carries it', async () => {
    const r = await postJson(`${t.url}/v2/models/digits/infer`, noId, { 'x-timeout-ms': '0.001', 'x-request-id': 'late-1' });
    expect([429, 504]).toContain(r.status);
    expect(['SLUICE_ERR_ADMISSION_REFUSED', 'SLUICE_ERR_DEADLINE_EXCEEDED']).toContain(r.json.code);
    expect(r.headers.get('x-request-id')).toBe('late-1');
    await expectValidStillWorks();
  });
});
