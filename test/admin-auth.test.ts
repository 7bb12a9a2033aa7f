// The admin listener's gate and edges: off without a token; every route behind the bearer token
// (401 with www-authenticate before anything is looked up); not served on the data port;
// /metrics in Prometheus text; path parameters that try to leave the model directory.
import { createServer, connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { ADMIN_ROUTES as ROUTES, admin, exists, rawRequest, snapshot, TOKEN } from './admin-helpers.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts connections on the port (bounded by a 2 s timeout). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (v: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(false), 2000);
    socket.on('connect', () => done(true));
    socket.on('error', () => done(false));
  });
}

describe('with SLUICE_ADMIN_TOKEN set', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ models: ['digits'], config: { adminToken: TOKEN, adminPort: 0 } });
  });
  afterAll(() => t?.stop());

  it('listens on its own port, and says so in the log', () => {
    expect(t.gw.adminPort).toBeGreaterThan(0);
    expect(t.gw.adminPort).not.toBe(t.gw.port);
    expect(t.logs).toContainEqual(expect.objectContaining({ msg: 'admin API listening', host: '127.0.0.1', port: t.gw.adminPort }));
    expect(JSON.stringify(t.logs)).not.toContain(TOKEN);
  });

  it.each([
    ['no Authorization header', null],
    ['a wrong token', 'secreT'],
    ['a longer token with the right prefix', `${TOKEN}x`],
    ['an empty token', ''],
  ])('every route answers 401 SLUICE_ERR_ADMIN_UNAUTHORIZED with www-authenticate: Bearer to %s', async (_why, token) => {
    for (const [method, route, body] of ROUTES) {
      const r = await admin(t, method, route, body, { token });
      expect({ method, route, status: r.status, code: r.json?.code }).toEqual({ method, route, status: 401, code: 'SLUICE_ERR_ADMIN_UNAUTHORIZED' });
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
    }
    // Refused before the model is looked up: an unknown model is 401 too, not 404.
    expect((await admin(t, 'GET', '/admin/models/nope/routing', undefined, { token })).status).toBe(401);
    // And nothing changed.
    expect((await admin(t, 'GET', '/admin/models/digits/events')).json).toEqual({ events: [] });
  });

  it('a scheme other than Bearer is refused; the scheme itself is case-insensitive', async () => {
    const base = `http://127.0.0.1:${t.gw.adminPort}/admin/models`;
    const basic = await fetch(base, { headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } });
    expect(basic.status).toBe(401);
    expect((await fetch(base, { headers: { authorization: TOKEN } })).status).toBe(401);
    expect((await fetch(base, { headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200);
  });

  it('with the token, every route reaches its handler (no 401, no route-not-found)', async () => {
    for (const [method, route, body] of ROUTES) {
      const r = await admin(t, method, route, body);
      expect({ method, route, status: r.status }).not.toMatchObject({ status: 401 });
      expect(r.json?.code).not.toBe('SLUICE_ERR_HTTP_ROUTE_NOT_FOUND');
      expect(r.status).toBeLessThan(500);
    }
  });

  it('admin paths are not served on the data port: 404 route-not-found, token or not', async () => {
    for (const [method, route, body] of ROUTES) {
      const res = await fetch(`${t.url}${route}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const json = (await res.json()) as { code?: string };
      expect({ method, route, status: res.status, code: json.code }).toEqual({ method, route, status: 404, code: 'SLUICE_ERR_HTTP_ROUTE_NOT_FOUND' });
    }
  });

  it('an unknown admin path is 404, a known one with another method 405 with allow', async () => {
    expect((await admin(t, 'GET', '/admin/nothing')).json.code).toBe('SLUICE_ERR_HTTP_ROUTE_NOT_FOUND');
    const r = await admin(t, 'DELETE', '/admin/models/digits/routing');
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'PUT']);
  });

  it('/metrics answers Prometheus text exposition of the registry', async () => {
    const r = await admin(t, 'GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe(t.gw.metrics.registry.contentType);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    // prom-client has no parser: check the text format's line grammar (every line is HELP, TYPE or a sample).
    const lines = r.text.trimEnd().split('\n');
    const typed = new Map<string, string>();
    for (const line of lines) {
      if (line === '') continue; // the format ignores empty lines (prom-client puts one between families)
      const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (type) {
        typed.set(type[1]!, type[2]!);
        continue;
      }
      if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$/.test(line)) continue;
      // prom-client prints NaN as "Nan" (the event-loop lag gauges read NaN when no delay was
      // sampled since the last scrape); Prometheus parses values with Go's ParseFloat, which
      // ignores the case of NaN and Inf.
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? -?([0-9.e+-]+|[Nn]a[Nn]|\+Inf|-Inf)( \d+)?$/);
    }
    expect(typed.get('sluice_model_state')).toBe('gauge');
    expect(typed.get('sluice_requests_total')).toBe('counter');
    expect(lines).toContain('sluice_model_state{model="digits",version="1",state="READY"} 1');
    expect(lines.some((l) => l.startsWith('sluice_process_'))).toBe(true);
  });

  it('path parameters that try to leave the model directory answer 4xx and touch no file', async () => {
    const dir = t.modelsDir;
    const before = await snapshot(dir);
    const parent = path.dirname(dir);
    const parentHadRouting = await exists(path.join(parent, 'routing.json'));
    const body = JSON.stringify({ primary: '1' });
    const attempts: [string, string][] = [
      ['PUT', '/admin/models/../routing'],
      ['PUT', '/admin/models/%2E%2E/routing'],
      ['PUT', '/admin/models/..%2F..%2Ftmp/routing'],
      ['PUT', '/admin/models/digits%2F..%2F..%2Fescape/routing'],
      ['PUT', `/admin/models/${encodeURIComponent(path.join(os.tmpdir(), 'sluice-escape'))}/routing`],
      ['PUT', '/admin/models/digits%00/routing'],
      ['PUT', '/admin/models/../digits/routing'],
      ['PUT', '/admin/models/digits/../routing'],
      ['POST', '/admin/models/digits/promote/../rollback'],
      ['POST', '/admin/models/digits/versions/..%2F1/load'],
      ['POST', '/admin/models/digits/versions/1%00/load'],
      ['POST', '/admin/models/digits/versions/%2E%2E/unload'],
      ['POST', '/admin/models/%2E/versions/1/load'],
      ['GET', '/admin/models/..%2F..%2Fetc%2Fpasswd/routing'],
    ];
    for (const [method, target] of attempts) {
      const status = await rawRequest(t.gw.adminPort!, method, target, method === 'GET' ? '' : method === 'PUT' ? body : '');
      expect({ method, target, status: Math.floor(status / 100) }).toEqual({ method, target, status: 4 });
    }
    expect(await snapshot(dir)).toEqual(before);
    expect(await exists(path.join(parent, 'routing.json'))).toBe(parentHadRouting);
    expect(await exists(path.join(os.tmpdir(), 'sluice-escape'))).toBe(false);
    // The same request with a real name is served (the attempts were refused, not the route).
    expect(await rawRequest(t.gw.adminPort!, 'PUT', '/admin/models/digits/routing', body)).toBe(200);
  });
});

it('without SLUICE_ADMIN_TOKEN there is no admin listener, and one info line says so', async () => {
  const port = await freePort();
  const t = await startTestGateway({ models: ['digits'], config: { adminPort: port } });
  try {
    expect(t.gw.adminPort).toBeUndefined();
    expect(t.logs.filter((l) => l.msg === 'admin API off: SLUICE_ADMIN_TOKEN is not set')).toHaveLength(1);
    expect(t.logs.find((l) => l.msg === 'admin API off: SLUICE_ADMIN_TOKEN is not set')?.level).toBe(30);
    expect(await accepts(port)).toBe(false);
    // Nor on the data port.
    expect((await fetch(`${t.url}/admin/models`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
  } finally {
    await t.stop();
  }
});
