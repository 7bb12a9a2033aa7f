// Triton's repository index, POST /v2/repository/index: the pure function over a repository's
// entries, then the real gateway over a repository holding a READY version, a broken version,
// a broken model and a model with no version directory.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_VERSION_REASON, parseIndexRequest, repositoryIndex, type IndexedRepository } from '../src/dataplane/repository-index.js';
import { SluiceError } from '../src/errors.js';
import type { ModelEntry, VersionEntry } from '../src/repository/repository.js';
import { parseModelFile } from '../src/repository/model-file.js';
import type { ModelState } from '../src/types.js';
import { copyModels, getJson, postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { digitsRows } from './helpers/ort.js';

const bytes = (text: string): Uint8Array => Buffer.from(text);

function model(name: string, versions: [number, ModelState, string?][], configError?: SluiceError): ModelEntry<unknown> {
  const map = new Map<number, VersionEntry<unknown>>();
  for (const [version, state, reason] of versions) map.set(version, { model: name, version, state, ...(reason === undefined ? {} : { reason }) });
  return { name, file: parseModelFile({}, name), versions: map, ...(configError ? { configError } : {}) };
}

describe('repositoryIndex (pure)', () => {
  const repo: IndexedRepository = {
    list: () => [
      model('a', [
        [3, 'UNAVAILABLE', 'ONNX Runtime could not open the model'],
        [1, 'READY'],
        [2, 'LOADING', 'new version'],
      ]),
      model('b', []),
      model('c', [], new SluiceError('SLUICE_ERR_MODEL_CONFIG_INVALID', 'models/c/model.json is not valid JSON')),
      model('d', [[1, 'READY', 'reload failed: bad file; the loaded copy keeps serving']]),
    ],
  };

  it('lists every known version in ascending order, with state and reason; a model without versions once', () => {
    expect(repositoryIndex(repo, { readyOnly: false })).toEqual([
      { name: 'a', version: '1', state: 'READY', reason: '' },
      { name: 'a', version: '2', state: 'LOADING', reason: 'new version' },
      { name: 'a', version: '3', state: 'UNAVAILABLE', reason: 'ONNX Runtime could not open the model' },
      { name: 'b', state: 'UNAVAILABLE', reason: NO_VERSION_REASON },
      { name: 'c', state: 'UNAVAILABLE', reason: 'models/c/model.json is not valid JSON' },
      { name: 'd', version: '1', state: 'READY', reason: 'reload failed: bad file; the loaded copy keeps serving' },
    ]);
  });

  it('readyOnly lists only READY versions', () => {
    expect(repositoryIndex(repo, { readyOnly: true })).toEqual([
      { name: 'a', version: '1', state: 'READY', reason: '' },
      { name: 'd', version: '1', state: 'READY', reason: 'reload failed: bad file; the loaded copy keeps serving' },
    ]);
  });

  it.each([
    ['', false],
    [' \r\n\t', false],
    ['{}', false],
    ['{"ready": false}', false],
    ['{"ready": true}', true],
    ['{"ready": true, "other": 1}', true],
  ])('request %j: readyOnly %s', (text, readyOnly) => {
    expect(parseIndexRequest(bytes(text))).toEqual({ readyOnly });
  });

  it.each([
    ['{"ready": "yes"}', 'SLUICE_ERR_REQUEST_INVALID'],
    ['{"ready": 1}', 'SLUICE_ERR_REQUEST_INVALID'],
    ['[]', 'SLUICE_ERR_JSON_MALFORMED'],
    ['{"ready": tru', 'SLUICE_ERR_JSON_MALFORMED'],
    ['{"__proto__": {"ready": true}}', 'SLUICE_ERR_JSON_FORBIDDEN_KEY'],
  ])('request %j is refused with %s', (text, code) => {
    expect(() => parseIndexRequest(bytes(text))).toThrow(expect.objectContaining({ code, status: 400 }));
  });
});

describe('POST /v2/repository/index on the real gateway', () => {
  let t: TestGateway;
  const URL_PATH = '/v2/repository/index';
  beforeAll(async () => {
    const dir = await copyModels(['digits']);
    // digits: 1 READY, 2 broken (tried first, as the newest); broken: its only version fails;
    // empty: a model.json and no version directory.
    await mkdir(path.join(dir, 'digits/2'), { recursive: true });
    await writeFile(path.join(dir, 'digits/2/model.onnx'), 'these bytes are not an ONNX model');
    await mkdir(path.join(dir, 'broken/1'), { recursive: true });
    await writeFile(path.join(dir, 'broken/1/model.onnx'), 'these bytes are not an ONNX model');
    await mkdir(path.join(dir, 'empty'), { recursive: true });
    await writeFile(path.join(dir, 'empty/model.json'), '{}');
    t = await startTestGateway({ modelsDir: dir, config: { workers: 1 } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const onnxRefusal = expect.stringContaining('ONNX Runtime could not open the model');

  it.each([['no body', undefined], ['{}', '{}']])('%s: every version of every model, state and reason from the repository', async (_name, body) => {
    const r = await fetch(`${t.url}${URL_PATH}`, { method: 'POST', ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }) });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(await r.json()).toEqual([
      { name: 'broken', version: '1', state: 'UNAVAILABLE', reason: onnxRefusal },
      { name: 'digits', version: '1', state: 'READY', reason: '' },
      { name: 'digits', version: '2', state: 'UNAVAILABLE', reason: onnxRefusal },
      { name: 'empty', state: 'UNAVAILABLE', reason: NO_VERSION_REASON },
    ]);
    // The same reason as the version's metadata.
    const meta = await getJson(`${t.url}/v2/models/broken/versions/1`);
    expect(meta.json.parameters.reason).toEqual(onnxRefusal);
  });

  it('{"ready": true} lists only READY versions', async () => {
    const r = await postJson(`${t.url}${URL_PATH}`, { ready: true });
    expect(r).toMatchObject({ status: 200, json: [{ name: 'digits', version: '1', state: 'READY', reason: '' }] });
    expect(r.json).toHaveLength(1);
  });

  it('bad requests are 4xx with a stable code; GET is 405; then a valid request succeeds', async () => {
    expect(await postJson(`${t.url}${URL_PATH}`, { ready: 'yes' })).toMatchObject({ status: 400, json: { code: 'SLUICE_ERR_REQUEST_INVALID' } });
    expect(await postJson(`${t.url}${URL_PATH}`, '{"ready":')).toMatchObject({ status: 400, json: { code: 'SLUICE_ERR_JSON_MALFORMED' } });
    expect(await postJson(`${t.url}${URL_PATH}`, {}, { 'content-type': 'application/msgpack' })).toMatchObject({ status: 415, json: { code: 'SLUICE_ERR_BODY_CONTENT_TYPE' } });
    expect(await postJson(`${t.url}${URL_PATH}`, { pad: 'x'.repeat(8192) })).toMatchObject({ status: 413, json: { code: 'SLUICE_ERR_BODY_TOO_LARGE' } });
    const get = await fetch(`${t.url}${URL_PATH}`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(((await get.json()) as { code: string }).code).toBe('SLUICE_ERR_HTTP_METHOD_NOT_ALLOWED');
    expect((await postJson(`${t.url}${URL_PATH}`, { ready: true })).status).toBe(200);
    // Inference is unaffected by the broken version beside the serving one.
    const pixels = { name: 'pixels', datatype: 'FP32', shape: [1, 64], data: digitsRows(1)[0] };
    const infer = await postJson(`${t.url}/v2/models/digits/infer`, { inputs: [pixels] });
    expect(infer).toMatchObject({ status: 200, json: { model_version: '1' } });
  });
});
