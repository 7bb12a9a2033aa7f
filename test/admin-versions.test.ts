// Explicit load and unload through the admin API: a pinned version serves outside
// versionPolicy.latest and stays through later scans; unload refuses the primary and shadows;
// rollback refuses a previous primary that is not READY; a version that cannot load says why.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { sleep } from './helpers/load.js';
import { admin, digitsTwoVersions, inferBody, TOKEN, versionOf } from './admin-helpers.js';

const SHA = /^[0-9a-f]{64}$/;
let t: TestGateway;
beforeAll(async () => {
  // versionPolicy latest 1: only version 2 loads at start; version 3 cannot load at all.
  const dir = await digitsTwoVersions(1);
  await mkdir(path.join(dir, 'digits/3'));
  await writeFile(path.join(dir, 'digits/3/model.onnx'), 'not an onnx graph');
  t = await startTestGateway({ modelsDir: dir, config: { adminToken: TOKEN, adminPort: 0, pollIntervalMs: 100 } });
});
afterAll(() => t?.stop());

const states = async () =>
  Object.fromEntries(((await admin(t, 'GET', '/admin/models')).json.models[0].versions as { version: string; state: string }[]).map((v) => [v.version, v.state]));
const call = (verb: 'load' | 'unload', v: string, model = 'digits') => admin(t, 'POST', `/admin/models/${model}/versions/${v}/${verb}`);

it('load pins a version outside versionPolicy: READY, served explicitly, kept through later scans', async () => {
  expect(await states()).toEqual({ '2': 'READY', '3': 'UNAVAILABLE' });
  expect((await postJson(`${t.url}/v2/models/digits/versions/1/infer`, inferBody)).status).toBe(404);

  const r = await call('load', '1');
  expect(r.status).toBe(200);
  expect(r.json).toEqual({ model: 'digits', version: '1', state: 'READY', sha256: expect.stringMatching(SHA), provider: 'cpu', reason: null });
  expect(await versionOf(t, '/versions/1')).toBe('1');
  expect(await versionOf(t)).toBe('2'); // the newest READY version still answers unversioned requests
  await sleep(500); // five scans: versionPolicy latest 1 would have unloaded it, the pin keeps it
  expect(await states()).toEqual({ '1': 'READY', '2': 'READY', '3': 'UNAVAILABLE' });
  // Loading a READY version again answers at once, unchanged.
  expect((await call('load', '1')).json.state).toBe('READY');
});

it('unload refuses the effective primary and a shadow (409), and unloads any other version', async () => {
  const primary = await call('unload', '2');
  expect(primary.status).toBe(409);
  expect(primary.json).toEqual({ code: 'SLUICE_ERR_ADMIN_REFUSED', error: 'version 2 is the primary of "digits"; promote another version (or roll back) first' });

  expect((await admin(t, 'PUT', '/admin/models/digits/routing', { shadows: [{ version: '1', percent: 0 }] })).status).toBe(200);
  const shadow = await call('unload', '1');
  expect([shadow.status, shadow.json.code, shadow.json.error]).toEqual([409, 'SLUICE_ERR_ADMIN_REFUSED', 'version 1 is a shadow of "digits" (0%); take it out of the routing first']);
  expect(await states()).toMatchObject({ '1': 'READY' });

  expect((await admin(t, 'PUT', '/admin/models/digits/routing', {})).status).toBe(200);
  const r = await call('unload', '1');
  expect(r.status).toBe(200);
  expect(r.json).toEqual({ model: 'digits', version: '1', state: 'UNAVAILABLE', sha256: expect.stringMatching(SHA), provider: null, reason: 'unloaded: unload requested' });
  const refused = await postJson(`${t.url}/v2/models/digits/versions/1/infer`, inferBody);
  expect([refused.status, refused.json.code]).toEqual([503, 'SLUICE_ERR_MODEL_NOT_READY']);
  expect(await versionOf(t)).toBe('2');
});

it('a promoted version is the primary: the old one may be unloaded, and rollback then refuses until it is loaded again', async () => {
  expect((await call('load', '1')).json.state).toBe('READY');
  expect((await admin(t, 'POST', '/admin/models/digits/promote', { version: '1' })).json).toMatchObject({ primary: '1', previousPrimary: '2' });
  expect((await call('unload', '1')).status).toBe(409);

  expect((await call('unload', '2')).json).toMatchObject({ state: 'UNAVAILABLE', reason: 'unloaded: unload requested' });
  await sleep(300); // versionPolicy would serve version 2 (the newest): the unload keeps it out
  expect(await states()).toMatchObject({ '1': 'READY', '2': 'UNAVAILABLE' });
  expect(await versionOf(t)).toBe('1');

  const rollback = await admin(t, 'POST', '/admin/models/digits/rollback');
  expect([rollback.status, rollback.json.code]).toEqual([409, 'SLUICE_ERR_ADMIN_REFUSED']);
  expect(rollback.json.error).toMatch(/^the previous primary, version 2 of "digits", is UNAVAILABLE \(unloaded: unload requested\); load it first$/);
  expect(await versionOf(t)).toBe('1');

  expect((await call('load', '2')).json.state).toBe('READY');
  expect((await admin(t, 'POST', '/admin/models/digits/rollback')).json).toMatchObject({ primary: '2', previousPrimary: '1' });
  expect(await versionOf(t)).toBe('2');
});

it('a version that cannot load answers its failure, naming the state and reason', async () => {
  const r = await call('load', '3');
  expect(r.status).toBe(500);
  expect(r.json.code).toMatch(/^SLUICE_ERR_MODEL_/);
  expect(r.json.error).toMatch(/^version 3 of "digits" did not load: UNAVAILABLE \(.+\)$/);
  expect(await states()).toMatchObject({ '3': 'UNAVAILABLE' });
  expect(await versionOf(t)).toBe('2');
});

it('unknown names and malformed versions are refused without touching anything', async () => {
  expect(await call('load', '9')).toMatchObject({ status: 404, json: { code: 'SLUICE_ERR_MODEL_VERSION_NOT_FOUND' } });
  expect(await call('unload', '9')).toMatchObject({ status: 404, json: { code: 'SLUICE_ERR_MODEL_VERSION_NOT_FOUND' } });
  expect(await call('load', '1', 'nope')).toMatchObject({ status: 404, json: { code: 'SLUICE_ERR_MODEL_NOT_FOUND' } });
  for (const v of ['0', '01', 'abc', '1.5', '-1', '1234567890']) {
    expect(await call('load', v)).toMatchObject({ status: 400, json: { code: 'SLUICE_ERR_ADMIN_REQUEST_INVALID' } });
  }
  expect(await admin(t, 'POST', '/admin/models/digits/versions/1/load', { force: true })).toMatchObject({ status: 400, json: { code: 'SLUICE_ERR_ADMIN_REQUEST_INVALID' } });
  expect(await states()).toEqual({ '1': 'READY', '2': 'READY', '3': 'UNAVAILABLE' });
});

it('each load and unload is an event with its duration, newest last', async () => {
  const events = (await admin(t, 'GET', '/admin/models/digits/events')).json.events as Record<string, unknown>[];
  expect(events.map((e) => [e.kind, e.by, e.from ?? e.to])).toEqual([
    ['load', 'admin', '1'],
    ['load', 'admin', '1'],
    ['routing', 'admin', '2'],
    ['routing', 'admin', '2'],
    ['unload', 'admin', '1'],
    ['load', 'admin', '1'],
    ['promote', 'admin', '2'],
    ['unload', 'admin', '2'],
    ['load', 'admin', '2'],
    ['rollback', 'admin', '1'],
    ['load', 'admin', '3'],
  ]);
  for (const e of events.filter((x) => x.kind === 'load' || x.kind === 'unload')) expect(e.numbers).toEqual({ ms: expect.any(Number) });
  expect(events.at(-1)).toMatchObject({ kind: 'load', to: '3', reason: expect.stringMatching(/^version 3 failed to load: UNAVAILABLE/) });
});
