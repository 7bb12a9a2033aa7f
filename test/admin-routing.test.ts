// Routing through the admin API on a running gateway: the model list, refused routing bodies
// (400 and nothing changes, on disk or in memory), routing surviving a restart, promote and
// rollback under a closed-loop load with no failed request, and the events they leave.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { sleep, startLoad, waitFor } from './helpers/load.js';
import { admin, digitsTwoVersions, inferBody, TOKEN, versionOf } from './admin-helpers.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const SHA = /^[0-9a-f]{64}$/;
let t: TestGateway | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

const start = (modelsDir: string) => startTestGateway({ modelsDir, config: { adminToken: TOKEN, adminPort: 0, pollIntervalMs: 100 } });

it('GET /admin/models lists every model by name, versions ascending, with routing and config error', async () => {
  const dir = await digitsTwoVersions(2);
  await mkdir(path.join(dir, 'broken'));
  await writeFile(path.join(dir, 'broken/model.json'), '{"versionPolicy": {"latest": 0}}');
  t = await start(dir);
  const r = await admin(t, 'GET', '/admin/models');
  expect(r.status).toBe(200);
  const version = (v: string) => ({ version: v, state: 'READY', sha256: expect.stringMatching(SHA), provider: 'cpu', reason: null });
  expect(r.json).toEqual({
    models: [
      {
        name: 'broken',
        versions: [],
        routing: { primary: null, shadows: [], previousPrimary: null, since: expect.stringMatching(ISO) },
        config_error: { error: expect.stringContaining('models/broken/model.json'), code: 'SLUICE_ERR_MODEL_CONFIG_INVALID', details: expect.any(Array) },
      },
      {
        name: 'digits',
        versions: [version('1'), version('2')],
        routing: { primary: null, shadows: [], previousPrimary: null, since: expect.stringMatching(ISO) },
        config_error: null,
      },
    ],
  });
  expect(r.json.models[1].versions[0].sha256).toBe(r.json.models[1].versions[1].sha256); // same weights
  const one = await admin(t, 'GET', '/admin/models/digits/routing');
  expect(one.json).toEqual({ primary: null, shadows: [], previousPrimary: null, since: expect.stringMatching(ISO) });
  expect((await admin(t, 'GET', '/admin/models/nope/routing')).json.code).toBe('SLUICE_ERR_MODEL_NOT_FOUND');
  expect(await admin(t, 'GET', '/admin/models/digits/shadow')).toMatchObject({ status: 200, json: { model: 'digits', pairs: [] } });
});

describe('a refused routing body', () => {
  it('answers 400 (413, 415) and changes nothing: not routing.json byte for byte, not where requests go', async () => {
    const dir = await digitsTwoVersions(2);
    // Version 3 is in the repository but cannot load: UNAVAILABLE, so it is refused too.
    await mkdir(path.join(dir, 'digits/3'));
    await writeFile(path.join(dir, 'digits/3/model.onnx'), 'not an onnx graph');
    t = await start(dir);
    const ok = await admin(t, 'PUT', '/admin/models/digits/routing', { primary: '1', shadows: [{ version: '2', percent: 25 }] });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ primary: '1', shadows: [{ version: '2', percent: 25 }], previousPrimary: '2', since: expect.stringMatching(ISO) });
    const file = path.join(dir, 'digits/routing.json');
    const onDisk = await readFile(file);
    const inMemory = (await admin(t, 'GET', '/admin/models/digits/routing')).json;
    expect(await versionOf(t)).toBe('1');

    const refusals: [unknown, number, string, RegExp?][] = [
      [{ primary: '7' }, 400, 'SLUICE_ERR_ROUTING_INVALID', /^\/primary: version 7 of model "digits" is not loaded/],
      [{ primary: '3' }, 400, 'SLUICE_ERR_ROUTING_INVALID', /^\/primary: version 3 is UNAVAILABLE \(.+\), not READY$/],
      [{ primary: '1', shadows: [{ version: '3', percent: 5 }] }, 400, 'SLUICE_ERR_ROUTING_INVALID', /^\/shadows\/0\/version: version 3 is UNAVAILABLE/],
      [{ primary: '1', shadows: [{ version: '2', percent: 100.5 }] }, 400, 'SLUICE_ERR_ROUTING_INVALID', /^\/shadows\/0\/percent: must be a share from 0 to 100$/],
      [{ shadows: [{ version: '2', percent: -1 }] }, 400, 'SLUICE_ERR_ROUTING_INVALID', /percent: must be a share/],
      [{ shadows: [{ version: '2', percent: '25' }] }, 400, 'SLUICE_ERR_ROUTING_INVALID', /percent: must be a finite number/],
      [{ primary: 2 }, 400, 'SLUICE_ERR_ROUTING_INVALID', /^\/primary: must be a string$/],
      [{ primary: '02' }, 400, 'SLUICE_ERR_ROUTING_INVALID', /^\/primary: must be a version/],
      [{ primary: '2', extra: true }, 400, 'SLUICE_ERR_ROUTING_INVALID', /unknown property "extra"/],
      [{ primary: '2', previousPrimary: '1' }, 400, 'SLUICE_ERR_ROUTING_INVALID', /^\/previousPrimary: set by the server/],
      [{ primary: '2', shadows: [{ version: '2', percent: 1 }] }, 400, 'SLUICE_ERR_ROUTING_INVALID', /cannot shadow itself/],
      [{ shadows: Array.from({ length: 9 }, () => ({ version: '2', percent: 1 })) }, 400, 'SLUICE_ERR_ROUTING_INVALID'],
      ['{"primary": "2"', 400, 'SLUICE_ERR_JSON_MALFORMED'],
      ['[]', 400, 'SLUICE_ERR_JSON_MALFORMED'],
      ['', 400, 'SLUICE_ERR_JSON_MALFORMED'],
      ['{"__proto__": {"primary": "2"}}', 400, 'SLUICE_ERR_JSON_FORBIDDEN_KEY'],
      [JSON.stringify({ primary: '2', pad: 'x'.repeat(70_000) }), 413, 'SLUICE_ERR_BODY_TOO_LARGE'],
    ];
    for (const [body, status, code, detail] of refusals) {
      const r = await admin(t, 'PUT', '/admin/models/digits/routing', body);
      expect({ body: String(JSON.stringify(body)).slice(0, 80), status: r.status, code: r.json?.code }).toEqual({ body: String(JSON.stringify(body)).slice(0, 80), status, code });
      if (detail) expect(r.json.details[0]).toMatch(detail);
    }
    const text = await admin(t, 'PUT', '/admin/models/digits/routing', '{"primary": "2"}', { contentType: 'text/plain' });
    expect([text.status, text.json.code]).toEqual([415, 'SLUICE_ERR_BODY_CONTENT_TYPE']);

    expect(await readFile(file)).toEqual(onDisk);
    expect((await admin(t, 'GET', '/admin/models/digits/routing')).json).toEqual(inMemory);
    for (let i = 0; i < 5; i++) expect(await versionOf(t)).toBe('1');
    // One change, one event: the refusals left none.
    const events = (await admin(t, 'GET', '/admin/models/digits/events')).json.events;
    expect(events).toEqual([
      { time: expect.stringMatching(ISO), kind: 'routing', by: 'admin', from: '2', to: '1', reason: 'routing set: primary 1, shadows 2 at 25%' },
    ]);
  });
});

it('routing set through the admin API survives a restart (a new gateway over the same directory)', async () => {
  const dir = await digitsTwoVersions(2);
  t = await start(dir);
  expect(await versionOf(t)).toBe('2');
  const put = await admin(t, 'PUT', '/admin/models/digits/routing', { primary: '1', shadows: [{ version: '2', percent: 12.5 }] });
  expect(put.status).toBe(200);
  expect(JSON.parse(await readFile(path.join(dir, 'digits/routing.json'), 'utf8'))).toEqual({
    primary: '1',
    shadows: [{ version: '2', percent: 12.5 }],
    previousPrimary: '2',
  });
  await t.stop();
  t = await start(dir);
  const after = (await admin(t, 'GET', '/admin/models/digits/routing')).json;
  expect(after).toEqual({ primary: '1', shadows: [{ version: '2', percent: 12.5 }], previousPrimary: '2', since: expect.stringMatching(ISO) });
  expect(await versionOf(t)).toBe('1');
  // And the restored previousPrimary is what rollback goes back to.
  // (Version 2 becomes the primary, so it leaves the shadows.)
  expect((await admin(t, 'POST', '/admin/models/digits/rollback')).json).toEqual({ primary: '2', shadows: [], previousPrimary: '1', since: expect.stringMatching(ISO) });
  expect(await versionOf(t)).toBe('2');
});

it('promote and rollback under a closed-loop load: no failed request, the answers switch version at once', async () => {
  const dir = await digitsTwoVersions(2);
  await writeFile(path.join(dir, 'digits/routing.json'), '{"primary": "1", "shadows": [{"version": "2", "percent": 10}]}\n');
  t = await start(dir);
  const load = startLoad(`${t.url}/v2/models/digits/infer`, inferBody, 4, 30_000);
  try {
    await waitFor(() => load.result.total >= 50, 10_000, 20);
    expect([...load.result.versions.keys()]).toEqual(['1']);

    const promoted = await admin(t, 'POST', '/admin/models/digits/promote', { version: '2' });
    expect(promoted.status).toBe(200);
    // Version 2 leaves the shadows; the primary before becomes previousPrimary.
    expect(promoted.json).toEqual({ primary: '2', shadows: [], previousPrimary: '1', since: expect.stringMatching(ISO) });
    expect(await versionOf(t)).toBe('2');
    const atPromote = load.result.total;
    await waitFor(() => load.result.total >= atPromote + 50, 10_000, 20);

    const rolledBack = await admin(t, 'POST', '/admin/models/digits/rollback', {});
    expect(rolledBack.status).toBe(200);
    expect(rolledBack.json).toEqual({ primary: '1', shadows: [], previousPrimary: '2', since: expect.stringMatching(ISO) });
    expect(await versionOf(t)).toBe('1');
    const atRollback = load.result.total;
    await waitFor(() => load.result.total >= atRollback + 50, 10_000, 20);
    await sleep(300); // a few watcher scans: the written file keeps saying the same
    expect(await versionOf(t)).toBe('1');
  } finally {
    await load.stop();
  }
  expect(load.result.failures).toEqual([]);
  expect(load.result.versions.get('1')).toBeGreaterThan(50);
  expect(load.result.versions.get('2')).toBeGreaterThan(0);
  expect(JSON.parse(await readFile(path.join(dir, 'digits/routing.json'), 'utf8'))).toEqual({ primary: '1', shadows: [], previousPrimary: '2' });

  // Promoting the primary changes nothing and records nothing; a version that is not READY is refused.
  expect((await admin(t, 'POST', '/admin/models/digits/promote', { version: '1' })).json).toMatchObject({ primary: '1', previousPrimary: '2' });
  expect(await admin(t, 'POST', '/admin/models/digits/promote', { version: '9' })).toMatchObject({ status: 404, json: { code: 'SLUICE_ERR_MODEL_VERSION_NOT_FOUND' } });
  for (const body of [{}, { version: 2 }, { version: '2', why: 'x' }, '']) {
    expect(await admin(t, 'POST', '/admin/models/digits/promote', body)).toMatchObject({ status: 400 });
  }
  expect(await admin(t, 'POST', '/admin/models/digits/rollback', { to: '2' })).toMatchObject({ status: 400, json: { code: 'SLUICE_ERR_ADMIN_REQUEST_INVALID' } });

  const events = (await admin(t, 'GET', '/admin/models/digits/events')).json.events;
  expect(events).toEqual([
    { time: expect.stringMatching(ISO), kind: 'promote', by: 'admin', from: '1', to: '2', reason: 'version 2 promoted to primary, replacing 1' },
    { time: expect.stringMatching(ISO), kind: 'rollback', by: 'admin', from: '2', to: '1', reason: 'rolled back to version 1 from 2' },
  ]);
  // Each event is also one app-log line.
  const lines = t.logs.filter((l) => l.msg === 'model event');
  expect(lines.map((l) => [l.model, (l.event as { kind: string }).kind])).toEqual([['digits', 'promote'], ['digits', 'rollback']]);
  expect(lines[0]!.event).toEqual(events[0]);
});
