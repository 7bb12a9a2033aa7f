// Named features over HTTP: the published JSON Schema, /v1 predict answering the same
// numbers as the OIP path, and every offending field named by its JSON path.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { copyModels, getJson, postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { breastRows } from './helpers/ort.js';

let t: TestGateway;
const rows = breastRows(5);
let names: string[];

beforeAll(async () => {
  const dir = await copyModels(['digits', 'breast-cancer']);
  // A third model without named features.
  const { cp } = await import('node:fs/promises');
  await cp(path.join(dir, 'digits'), path.join(dir, 'plain'), { recursive: true });
  const cfg = JSON.parse(await readFile(path.join(dir, 'plain/model.json'), 'utf8'));
  delete cfg.features;
  delete cfg.classes;
  await writeFile(path.join(dir, 'plain/model.json'), JSON.stringify({ ...cfg, name: 'plain' }));
  t = await startTestGateway({ modelsDir: dir });
  names = JSON.parse(await readFile(path.join(dir, 'breast-cancer/model.json'), 'utf8')).features.map((f: { name: string }) => f.name);
});
afterAll(async () => {
  await t.stop();
});

const instance = (row: number[]) => Object.fromEntries(names.map((n, i) => [n, row[i]]));

it('publishes a JSON Schema that validates real instances and refuses bad ones', async () => {
  const r = await getJson(`${t.url}/v2/models/breast-cancer/schema`);
  expect(r.status).toBe(200);
  const validate = new Ajv({ strict: false }).compile(r.json);
  expect(validate({ instances: rows.map(instance) })).toBe(true);
  expect(validate({ instances: [{ ...instance(rows[0]!), mean_radius: 99 }] })).toBe(false);
  expect(r.json.definitions.instance.properties.mean_radius).toMatchObject({ type: 'number', minimum: 0, maximum: 60 });
});

it('/v1 predict answers the same numbers as the OIP path, with the class names', async () => {
  const v1 = await postJson(`${t.url}/v1/models/breast-cancer:predict`, { id: 'p1', instances: rows.map(instance) });
  expect(v1.status).toBe(200);
  expect(v1.headers.get('x-model-version')).toBe('1');
  const oip = await postJson(`${t.url}/v2/models/breast-cancer/infer`, {
    inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, 30], data: rows }],
  });
  expect(v1.json.model_version).toBe('1');
  expect(v1.json.id).toBe('p1');
  expect(v1.json.predictions).toHaveLength(rows.length);
  v1.json.predictions.forEach((p: { label: number; probabilities: number[]; class: string }, i: number) => {
    expect(p.label).toBe(oip.json.outputs[1].data[i]);
    // Both paths print each float32 as its shortest text: the same doubles come back.
    expect(p.probabilities).toEqual(oip.json.outputs[0].data.slice(i * 2, i * 2 + 2));
    expect(p.class).toBe(['malignant', 'benign'][p.label]);
  });
});

it('names every offending field by its JSON path, capped, then serves a valid request', async () => {
  const bad: Record<string, unknown>[] = rows.map(instance);
  bad[3] = { ...bad[3], mean_radius: 61 };
  bad[1] = { ...bad[1], worst_texture: 'high' };
  delete (bad[0] as Record<string, unknown>).se_area;
  (bad[2] as Record<string, unknown>).radius = 3;
  const r = await postJson(`${t.url}/v1/models/breast-cancer:predict`, { instances: bad });
  expect(r.status).toBe(400);
  expect(r.json.code).toBe('SLUICE_ERR_FEATURES_INVALID');
  expect(r.json.details).toEqual(
    expect.arrayContaining([
      '/instances/3/mean_radius: must be <= 60',
      expect.stringMatching(/^\/instances\/1\/worst_texture: /),
      '/instances/0/se_area: is required',
      '/instances/2/radius: is not a feature of this model',
    ]),
  );
  const many = Array.from({ length: 40 }, () => ({ ...instance(rows[0]!), mean_radius: -1 }));
  const capped = await postJson(`${t.url}/v1/models/breast-cancer:predict`, { instances: many });
  expect(capped.json.details.length).toBeLessThanOrEqual(20);
  expect((await postJson(`${t.url}/v1/models/breast-cancer:predict`, { instances: [instance(rows[0]!)] })).status).toBe(200);
});

it('a model without features: 404 FEATURES_NOT_DECLARED; unknown verb and model: 404', async () => {
  expect(await getJson(`${t.url}/v2/models/plain/schema`)).toMatchObject({ status: 404, json: { code: 'SLUICE_ERR_FEATURES_NOT_DECLARED' } });
  expect((await postJson(`${t.url}/v1/models/plain:predict`, { instances: [{}] })).json.code).toBe('SLUICE_ERR_FEATURES_NOT_DECLARED');
  expect((await postJson(`${t.url}/v1/models/breast-cancer:explain`, {})).json.code).toBe('SLUICE_ERR_HTTP_ROUTE_NOT_FOUND');
  expect((await postJson(`${t.url}/v1/models/nope:predict`, { instances: [] })).json.code).toBe('SLUICE_ERR_MODEL_NOT_FOUND');
  expect((await postJson(`${t.url}/v1/models/breast-cancer:predict`, '{"instances": [', {})).json.code).toBe('SLUICE_ERR_JSON_MALFORMED');
});

it('/v1 request ids follow the OIP rule: echoed, refusals answered under the body id (decoder refusals too), bad ids refused', async () => {
  const url = `${t.url}/v1/models/breast-cancer:predict`;
  const ok = await postJson(url, { id: 'v1-ok', instances: [instance(rows[0]!)] });
  expect([ok.status, ok.json.id, ok.headers.get('x-request-id')]).toEqual([200, 'v1-ok', 'v1-ok']);
  const refused = await postJson(url, { id: 'v1-bad', instances: [{ ...instance(rows[0]!), mean_radius: 61 }] }, { 'x-request-id': 'hdr' });
  expect([refused.status, refused.json.code, refused.headers.get('x-request-id')]).toEqual([400, 'SLUICE_ERR_FEATURES_INVALID', 'v1-bad']);
  // 20 levels of nesting: refused by the decoder, and the id is read again from the raw body.
  const deep = Array.from({ length: 20 }).reduce<unknown[]>((a) => [a], []);
  const undecodable = await postJson(url, { id: 'v1-deep', parameters: { deep }, instances: [instance(rows[0]!)] }, { 'x-request-id': 'hdr' });
  expect([undecodable.status, undecodable.json.code, undecodable.headers.get('x-request-id')]).toEqual([400, 'SLUICE_ERR_JSON_TOO_DEEP', 'v1-deep']);
  for (const id of ['', 'x\ud800y', 'a'.repeat(257)]) {
    const bad = await postJson(url, { id, instances: [instance(rows[0]!)] }, { 'x-request-id': 'hdr' });
    expect([bad.status, bad.json.code, bad.headers.get('x-request-id')]).toEqual([400, 'SLUICE_ERR_FEATURES_INVALID', 'hdr']);
  }
  // The published schema states the same rule.
  const schema = (await getJson(`${t.url}/v2/models/breast-cancer/schema`)).json;
  const validate = new Ajv({ strict: false }).compile(schema);
  expect(['v1-ok', '😀'.repeat(256), '', 'x\ud800y', '😀'.repeat(257)].map((id) => validate({ id, instances: [instance(rows[0]!)] }))).toEqual([true, true, false, false, false]);
});
