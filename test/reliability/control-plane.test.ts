// Issue 15, the control plane as an attacker sees it: every admin route without, or with a wrong
// or malformed, credential; admin paths on the data port; path traversal in every model and
// version parameter, on both ports; bodies and alerts that try to set a path, a URL or a command;
// and retrain webhooks whose targets are off the allow-list. A canary HTTP server counts every
// connection made to it and a recorder command writes down the argv it was run with, so "nothing
// was called" and "only the configured command ran" are observed, not assumed. (Token comparison
// timing is measured by `npm run bench -- admin-token-timing`: docs/reliability.md.)
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN_ROUTES, admin, exists, rawRequest, snapshot, TOKEN } from '../admin-helpers.js';
import { copyModels, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/load.js';

let t: TestGateway;
let canary: Server;
let canaryPort: number;
/** Every request the canary received, as "METHOD path". */
const canaryHits: string[] = [];
let canaryConnections = 0;
let scratch: string;
let recorded: string;
const outside = path.join(os.tmpdir(), `sluice-escape-${process.pid}`);

/** model → its retrain webhook URL (P: the canary's port). Only /allowed/… on 127.0.0.1 is on the allow-list. */
const WEBHOOKS: Record<string, (p: number) => string> = {
  'breast-cancer': (p) => `http://127.0.0.1:${p}/allowed/hook`, // the control: this one is called
  digits: (p) => `http://127.0.0.1:${p}/allowedx/hook`, // a prefix, not at a segment boundary
  'bc-credentials': (p) => `http://user:pw@127.0.0.1:${p}/allowed/hook`,
  'bc-dotdot': (p) => `http://127.0.0.1:${p}/allowed/%2e%2e/admin`,
  'bc-host': (p) => `http://localhost:${p}/allowed/hook`,
};

async function setRetrain(dir: string, model: string, retrain: object): Promise<void> {
  const file = path.join(dir, model, 'model.json');
  const config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  await writeFile(file, `${JSON.stringify({ ...config, name: model, retrain }, null, 2)}\n`);
}

const recordedRuns = async (): Promise<{ argv: string[]; event: { model: string; reason: string } }[]> =>
  (await exists(recorded)) ? (await readFile(recorded, 'utf8')).trim().split('\n').map((l) => JSON.parse(l)) : [];

type RetrainEvents = { model: string; pending: number; actions: { action: string; outcome: string }[] }[];
/** GET /admin/retrain/events once every action has finished. */
async function settledEvents(): Promise<RetrainEvents> {
  let events: RetrainEvents = [];
  await waitFor(async () => (events = (await admin(t, 'GET', '/admin/retrain/events')).json.events as RetrainEvents).every((e) => e.pending === 0));
  return events;
}

beforeAll(async () => {
  canary = createServer((req, res) => {
    canaryHits.push(`${req.method} ${req.url}`);
    req.resume().on('end', () => res.end('ok'));
  });
  canary.on('connection', () => canaryConnections++);
  await new Promise<void>((r) => canary.listen(0, '127.0.0.1', r));
  canaryPort = (canary.address() as { port: number }).port;

  scratch = await mkdtemp(path.join(os.tmpdir(), 'sluice-control-plane-'));
  recorded = path.join(scratch, 'runs.jsonl');
  const recorder = path.join(scratch, 'recorder.mjs');
  // The configured command: appends the argv it got and the event from stdin, one JSON line a run.
  await writeFile(
    recorder,
    `import { appendFileSync } from 'node:fs';\nlet s = '';\nprocess.stdin.on('data', (d) => (s += d)).on('end', () => appendFileSync(process.argv[2], JSON.stringify({ argv: process.argv.slice(2), event: JSON.parse(s) }) + '\\n'));\n`,
  );
  const dir = await copyModels(['digits', 'breast-cancer']);
  for (const copy of ['bc-credentials', 'bc-dotdot', 'bc-host']) await cp(path.join(dir, 'breast-cancer'), path.join(dir, copy), { recursive: true });
  for (const [model, url] of Object.entries(WEBHOOKS)) {
    await setRetrain(dir, model, {
      cooldownSeconds: 0,
      webhook: { url: url(canaryPort), retries: 0, timeoutMs: 2000 },
      ...(model === 'digits' ? { command: { argv: ['node', recorder, recorded], timeoutMs: 20_000 } } : {}),
    });
  }
  t = await startTestGateway({
    modelsDir: dir,
    config: { adminToken: TOKEN, adminPort: 0, retrainWebhookAllow: `http://127.0.0.1:${canaryPort}/allowed` },
  });
  await waitFor(async () => (await fetch(`${t.url}/v2/health/ready`)).status === 200);
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await rm(t?.modelsDir ?? '', { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
  canary?.close();
});

it('every admin route refuses a missing, wrong or malformed credential with 401 before reading the body, and does nothing', async () => {
  const before = await snapshot(t.modelsDir);
  const credentials: (string | null)[] = [
    null,
    '',
    'Bearer',
    'Bearer ',
    TOKEN,
    `Bearer x${TOKEN.slice(1)}`, // same length, first byte wrong
    `Bearer ${TOKEN.slice(0, -1)}x`, // same length, last byte wrong
    `Bearer ${TOKEN.slice(0, -1)}`,
    `Bearer ${TOKEN}x`,
    `Bearer ${TOKEN} ${TOKEN}`,
    `Bearer wrong, Bearer ${TOKEN}`, // what two Authorization headers become
    `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`,
    `Bearer\t${TOKEN}`,
    `Bearer ${'a'.repeat(5000)}`,
  ];
  for (const [method, route, body] of ADMIN_ROUTES) {
    for (const authorization of credentials) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (authorization !== null) headers.authorization = authorization;
      const res = await fetch(`http://127.0.0.1:${t.gw.adminPort}${route}?token=${TOKEN}&access_token=${TOKEN}`, {
        method,
        headers,
        ...(method === 'GET' ? {} : { body: JSON.stringify(body ?? {}) }),
      });
      const text = await res.text();
      expect({ method, route, authorization: authorization?.slice(0, 40), status: res.status }).toEqual({ method, route, authorization: authorization?.slice(0, 40), status: 401 });
      expect(JSON.parse(text)).toMatchObject({ code: 'SLUICE_ERR_ADMIN_UNAUTHORIZED' });
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      // An unauthenticated caller learns nothing about what is served.
      expect(text).not.toMatch(/digits|breast|bc-/);
    }
  }
  // The token is checked before the body is read: a body far over the route's cap is still a 401, not a 413.
  const big = await fetch(`http://127.0.0.1:${t.gw.adminPort}/admin/models/digits/routing`, { method: 'PUT', body: 'x'.repeat(8 << 20) });
  expect(big.status).toBe(401);
  expect(await snapshot(t.modelsDir)).toEqual(before);
  expect((await admin(t, 'GET', '/admin/retrain/events')).json.events).toEqual([]);
  expect(canaryConnections).toBe(0);
  expect(await recordedRuns()).toEqual([]);
}, 60_000);

/** GET /admin/models with `authorization` written as these exact bytes; the answer's status. */
function statusWithAuthorization(port: number, authorization: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('error', reject);
    socket.on('connect', () => {
      socket.write(Buffer.concat([Buffer.from('GET /admin/models HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: '), authorization, Buffer.from('\r\nconnection: close\r\n\r\n')]));
    });
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m) {
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    // Closed without an answer: status 0 (a resolve after the answer's is a no-op).
    socket.on('close', () => resolve(0));
  });
}

it('bytes outside visible ASCII in the credential never match, except trailing ones uWS drops from every header value', async () => {
  const bearer = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
  const cases: [name: string, bytes: Buffer, status: number][] = [
    ['the token', bearer('Bearer ', TOKEN), 200],
    // uWS ends a header value before trailing SP, HTAB and bytes over 0x7e (RFC 9110's OWS, and
    // obs-text): the value it hands over is the token itself. The token is visible ASCII
    // (config refuses anything else), so no other token can be made to match this way.
    ['token + 0xA0', bearer('Bearer ', TOKEN, [0xa0]), 200],
    ['token + UTF-8 NBSP', bearer('Bearer ', TOKEN, [0xc2, 0xa0]), 200],
    ['token + SP HTAB', bearer('Bearer ', TOKEN, ' \t'), 200],
    ['token + 0xA0 + x', bearer('Bearer ', TOKEN, [0xa0], 'x'), 401],
    ['0xA0 before the token', bearer('Bearer ', [0xa0], TOKEN), 401],
    ['last byte as 0xE9', bearer('Bearer ', TOKEN.slice(0, -1), [0xe9]), 401],
    ['token without its last byte + 0xA0', bearer('Bearer ', TOKEN.slice(0, -1), [0xa0]), 401],
    // (A NUL byte makes uWS wait for more data: hostile-http.test.ts's slowloris case.)
  ];
  const got = [];
  for (const [name, bytes] of cases) got.push([name, await statusWithAuthorization(t.gw.adminPort!, bytes)]);
  expect(got).toEqual(cases.map(([name, , status]) => [name, status]));
});

it('no admin path is served on the data port, with the token or without', async () => {
  for (const [method, route, body] of ADMIN_ROUTES) {
    const res = await fetch(`${t.url}${route}`, { method, headers: { authorization: `Bearer ${TOKEN}` }, ...(method === 'GET' ? {} : { body: JSON.stringify(body ?? {}) }) });
    expect({ route, status: res.status }).toEqual({ route, status: 404 });
    expect(((await res.json()) as { code: string }).code).toBe('SLUICE_ERR_HTTP_ROUTE_NOT_FOUND');
  }
});

it('traversal in every model and version parameter, on both ports: 4xx, no file touched inside or outside the repository', async () => {
  const before = await snapshot(t.modelsDir);
  const parentBefore = await readdir(path.dirname(t.modelsDir));
  const names = ['..', '.', '%2E%2E', '..%2F..%2Fetc', 'digits%2F..%2F..%2Fescape', encodeURIComponent(outside), 'digits%00', '%00', '%252e%252e', 'digits%5C..%5C..', '~', 'DIGITS', 'digits%20'];
  const versions = ['..', '%2E%2E', '1%2F..%2F..', '0', '-1', '01', '1.0', '1e3', '0x1', '99999999999', '%201', '1%00', '%E2%91%A0'];
  const targets: [string, string][] = [];
  for (const n of names) {
    for (const [method, route] of ADMIN_ROUTES) if (route.includes('/digits/') && !route.includes('/versions/')) targets.push([method, route.replace('/digits/', `/${n}/`)]);
    targets.push(['POST', `/admin/models/${n}/versions/1/load`], ['POST', `/admin/models/${n}/versions/1/unload`]);
  }
  for (const v of versions) targets.push(['POST', `/admin/models/digits/versions/${v}/load`], ['POST', `/admin/models/digits/versions/${v}/unload`]);
  const body = JSON.stringify({ primary: '1' });
  for (const [method, target] of targets) {
    const status = await rawRequest(t.gw.adminPort!, method, target, method === 'PUT' ? body : method === 'POST' && target.endsWith('/promote') ? '{"version":"1"}' : '');
    expect({ method, target, status: Math.floor(status / 100) }).toEqual({ method, target, status: 4 });
  }
  // The data port's model and version parameters under the same rule.
  const infer = JSON.stringify({ inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: new Array(64).fill(0) }] });
  for (const n of names) {
    for (const target of [`/v2/models/${n}/infer`, `/v2/models/${n}`, `/v2/models/${n}/ready`, `/v1/models/${n}:predict`]) {
      const status = await rawRequest(t.gw.port, target.endsWith('infer') || target.endsWith('predict') ? 'POST' : 'GET', target, target.endsWith('infer') ? infer : '{}');
      expect({ target, status: Math.floor(status / 100) }).toEqual({ target, status: 4 });
    }
  }
  for (const v of versions) {
    const status = await rawRequest(t.gw.port, 'POST', `/v2/models/digits/versions/${v}/infer`, infer);
    expect({ v, status: Math.floor(status / 100) }).toEqual({ v, status: 4 });
  }
  expect(await snapshot(t.modelsDir)).toEqual(before);
  expect(await readdir(path.dirname(t.modelsDir))).toEqual(parentBefore);
  expect(await exists(outside)).toBe(false);
  expect(await exists(path.join(outside, 'routing.json'))).toBe(false);
}, 60_000);

it('no API sets a path, a URL or a command: such keys are refused, alerts choose only a model, and only the configured actions run', async () => {
  const before = await snapshot(t.modelsDir);
  const smuggled: [string, string, unknown][] = [
    ['PUT', '/admin/models/digits/routing', { primary: '1', path: outside }],
    ['PUT', '/admin/models/digits/routing', { primary: '1', modelsDir: outside }],
    ['PUT', '/admin/models/digits/routing', { primary: '1', shadows: [{ version: '1', percent: 1, url: 'http://127.0.0.1:1/' }] }],
    ['PUT', '/admin/models/digits/routing', { primary: outside }],
    ['PUT', '/admin/models/digits/routing', { primary: '../1' }],
    ['POST', '/admin/models/digits/promote', { version: '1', command: ['sh', '-c', `touch ${outside}`] }],
    ['POST', '/admin/models/digits/promote', { version: '../../1' }],
    ['POST', '/admin/models/digits/rollback', { path: outside }],
    ['POST', '/admin/models/digits/versions/1/load', { path: path.join(outside, 'model.onnx') }],
    ['POST', '/admin/models/digits/versions/1/load', { url: 'http://127.0.0.1:1/model.onnx' }],
    ['POST', '/admin/models/digits/versions/1/unload', { command: 'rm -rf /' }],
    ['POST', '/admin/models/digits/retrain', { command: { argv: ['sh', '-c', `touch ${outside}`] } }],
    ['POST', '/admin/models/digits/retrain', { webhook: { url: `http://127.0.0.1:${canaryPort}/allowed/hook` } }],
    ['POST', '/admin/models/digits/retrain', { baseData: '../../../etc/passwd' }],
    ['POST', '/admin/alerts', { alerts: [{ status: 'firing', labels: { model: 'digits', sluice_action: 'retrain' }, startsAt: ['not', 'a', 'label'] }] }],
  ];
  for (const [method, route, body] of smuggled) {
    const r = await admin(t, method, route, body);
    const code = route.endsWith('/routing') ? 'SLUICE_ERR_ROUTING_INVALID' : 'SLUICE_ERR_ADMIN_REQUEST_INVALID';
    expect({ route, body, status: r.status, code: r.json?.code }).toEqual({ route, body, status: 400, code });
  }
  expect(await snapshot(t.modelsDir)).toEqual(before);
  expect((await admin(t, 'GET', '/admin/retrain/events')).json.events).toEqual([]);

  // A well-formed alert may carry any labels and annotations: it still picks only the model, and
  // what runs is that model's own configured command (argv exactly) and webhook (off the list: not called).
  const alert = await admin(t, 'POST', '/admin/alerts', {
    version: '4',
    alerts: [{
      status: 'firing',
      labels: { alertname: `$(touch ${outside})`, model: 'digits', sluice_action: 'retrain', url: `http://127.0.0.1:${canaryPort}/allowed/evil`, command: `touch ${outside}`, path: outside },
      annotations: { runbook_url: `http://127.0.0.1:${canaryPort}/allowed/evil`, argv: 'sh -c id' },
      startsAt: '2026-12-03T10:00:00Z',
      fingerprint: 'cp1',
    }],
  });
  expect(alert.status).toBe(200);
  await waitFor(async () => (await recordedRuns()).length === 1, 20_000);
  const [run] = await recordedRuns();
  expect(run!.argv).toEqual([recorded]);
  expect(run!.event.model).toBe('digits');
  expect(await exists(outside)).toBe(false);
  const [event] = await settledEvents();
  expect(event!.model).toBe('digits');
  expect(event!.actions.map((a) => `${a.action} ${a.outcome}`).sort()).toEqual(['command ok', 'webhook not_allowed']);
  expect(canaryConnections).toBe(0);
}, 60_000);

it('a retrain webhook off the allow-list is never contacted; one on it is, once', async () => {
  const hitsBefore = canaryHits.length;
  for (const model of Object.keys(WEBHOOKS).filter((m) => m !== 'digits')) {
    const r = await admin(t, 'POST', `/admin/models/${model}/retrain`);
    expect({ model, status: r.status }).toEqual({ model, status: 200 });
  }
  const events = await settledEvents();
  const outcomes = Object.fromEntries(events.filter((e) => e.model !== 'digits').map((e) => [e.model, e.actions.map((a) => a.outcome)]));
  expect(outcomes).toEqual({ 'breast-cancer': ['ok'], 'bc-credentials': ['not_allowed'], 'bc-dotdot': ['not_allowed'], 'bc-host': ['not_allowed'] });
  expect(canaryHits.slice(hitsBefore)).toEqual(['POST /allowed/hook']);
  expect(canaryConnections).toBe(1);
  const metrics = await t.gw.metrics.registry.getSingleMetricAsString('sluice_retrain_actions_total');
  for (const m of ['digits', 'bc-credentials', 'bc-dotdot', 'bc-host']) expect(metrics).toContain(`sluice_retrain_actions_total{model="${m}",action="webhook",outcome="not_allowed"} 1`);
});
