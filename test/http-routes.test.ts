// The route table and the fallback derived from it, exclusive listening, and the gateway's
// behaviour on a port in use.
//
// The route suite registers the data port's real routes (registerDataRoutes, what the gateway
// calls) on a real uWS app with a data plane that refuses everything, then asks every
// registered pattern with every method it was not registered for: each must answer 405 with
// an `allow` naming exactly the methods registered for it. A route added later is covered
// without touching this file (unless it brings a new path parameter name, which fails loudly).
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataPlane } from '../src/dataplane/dataplane.js';
import { SluiceError } from '../src/errors.js';
import { registerDataRoutes } from '../src/transport/http/data-routes.js';
import { createListener, type OpenListener } from '../src/transport/http/listener.js';
import type { HttpMethod } from '../src/transport/http/routes.js';
import { loadUws } from '../src/transport/http/uws.js';
import { copyModels, getJson, postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { digitsRows } from './helpers/ort.js';

const uws = loadUws(false, () => {});

/** Every data-plane call refuses, so a route that is reached answers 404 MODEL_NOT_FOUND. */
const refusingDataPlane = new Proxy({} as DataPlane, {
  get(_target, prop) {
    if (prop === 'draining') return false;
    if (prop === 'then') return undefined;
    // Told of each answer (the observers' seam); the real one never throws.
    if (prop === 'answered') return () => {};
    return () => {
      throw new SluiceError('SLUICE_ERR_MODEL_NOT_FOUND', `stub data plane: ${String(prop)}`);
    };
  },
});

/** A value for each path parameter name the routes use. */
const SAMPLE: Record<string, string> = { model: 'm', version: '1', target: 'm:predict' };
const pathOf = (pattern: string): string =>
  pattern.replace(/:([a-z]+)/g, (_m, name: string) => {
    const v = SAMPLE[name];
    if (v === undefined) throw new Error(`no sample value for path parameter :${name} (add one to SAMPLE)`);
    return v;
  });
const METHODS: HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'];

/**
 * A port free a moment ago. Sharing needs a fixed port: Linux does not let a second
 * SO_REUSEPORT socket join one that was bound to port 0 (measured here).
 */
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

describe('routes and the derived 404/405 fallback', () => {
  const listener = createListener(uws, 'test');
  let open: OpenListener;
  let base: string;
  beforeAll(async () => {
    registerDataRoutes(listener.routes, refusingDataPlane, { bodyLimitBytes: 1024, nowUs: () => performance.now() * 1000 });
    listener.routes.registerFallback();
    open = await listener.listen('127.0.0.1', 0, { reusePort: false });
    base = `http://127.0.0.1:${open.port}`;
  });
  afterAll(() => open?.close());

  it('records every registered route, in registration order', () => {
    const table = listener.routes.routes();
    expect(table.length).toBeGreaterThanOrEqual(17);
    // Spot checks against the README's Endpoints table, so the table itself cannot go quiet.
    for (const r of [
      { method: 'GET', pattern: '/v2' },
      { method: 'HEAD', pattern: '/v2/health/live' },
      { method: 'HEAD', pattern: '/v2/health/ready' },
      { method: 'POST', pattern: '/v2/models/:model/infer' },
      { method: 'POST', pattern: '/v2/models/:model/versions/:version/infer' },
      { method: 'POST', pattern: '/v1/models/:target' },
      { method: 'POST', pattern: '/v2/repository/index' },
      { method: 'GET', pattern: '/v2/models/:model/versions/:version/ready' },
    ]) {
      expect(table).toContainEqual(r);
    }
    expect(listener.routes.allow('/v2/health/live')).toBe('GET, HEAD');
    expect(listener.routes.allow('/v2/models/:model')).toBe('GET');
    expect(listener.routes.allow('/v2/models/:model/infer')).toBe('POST');
  });

  it('every registered pattern answers 405 for each other method, with the methods really registered in allow', async () => {
    const byPattern = new Map<string, Set<string>>();
    for (const { method, pattern } of listener.routes.routes()) byPattern.set(pattern, (byPattern.get(pattern) ?? new Set()).add(method));
    let asked = 0;
    for (const [pattern, methods] of byPattern) {
      for (const method of METHODS.filter((m) => !methods.has(m))) {
        const r = await fetch(`${base}${pathOf(pattern)}`, { method });
        const text = await r.text();
        expect({ pattern, method, status: r.status }).toEqual({ pattern, method, status: 405 });
        expect(r.headers.get('allow')?.split(', ').sort()).toEqual([...methods].sort());
        if (method === 'HEAD') expect(text).toBe('');
        else expect(JSON.parse(text).code).toBe('SLUICE_ERR_HTTP_METHOD_NOT_ALLOWED');
        asked++;
      }
    }
    expect(asked).toBeGreaterThan(40);
  });

  it('every registered (method, pattern) reaches its handler: neither 405 nor 404 route-not-found', async () => {
    for (const { method, pattern } of listener.routes.routes()) {
      const body = method === 'POST' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {};
      const r = await fetch(`${base}${pathOf(pattern)}`, { method, ...body });
      const text = await r.text();
      expect({ method, pattern, status: r.status }).toEqual({ method, pattern, status: 404 });
      if (method === 'HEAD') expect(text).toBe('');
      else expect(JSON.parse(text).code).toBe('SLUICE_ERR_MODEL_NOT_FOUND');
    }
  });

  it('an unregistered path is 404 for every method', async () => {
    for (const method of METHODS) {
      const r = await fetch(`${base}/v2/nothing/here`, { method });
      const text = await r.text();
      expect(r.status).toBe(404);
      expect(r.headers.get('allow')).toBeNull();
      if (method !== 'HEAD') expect(JSON.parse(text).code).toBe('SLUICE_ERR_HTTP_ROUTE_NOT_FOUND');
    }
  });

  it('a route added after the fallback is a programming error', () => {
    expect(() => listener.routes.add('GET', '/v2/late', (res) => res.end())).toThrow(/after the fallback/);
  });
});

describe('exclusive listening (LIBUS_LISTEN_EXCLUSIVE_PORT on this uWS build)', () => {
  const fresh = () => {
    const l = createListener(uws, 'probe');
    l.routes.registerFallback();
    return l;
  };

  it('a second listener on a port in use is refused unless both share it', async () => {
    const first = await fresh().listen('127.0.0.1', await freePort(), { reusePort: false });
    try {
      const refused = fresh().listen('127.0.0.1', first.port, { reusePort: false });
      await expect(refused).rejects.toMatchObject({ code: 'SLUICE_ERR_CONFIG_INVALID', message: expect.stringMatching(/port is in use.*--reuse-port/) });
      // An exclusive listener cannot be joined even by one that would share.
      await expect(fresh().listen('127.0.0.1', first.port, { reusePort: true })).rejects.toMatchObject({ code: 'SLUICE_ERR_CONFIG_INVALID' });
    } finally {
      first.close();
    }
    const a = await fresh().listen('127.0.0.1', await freePort(), { reusePort: true });
    const b = await fresh().listen('127.0.0.1', a.port, { reusePort: true }).catch((err: unknown) => err);
    a.close();
    expect(b).toMatchObject({ port: a.port });
    (b as OpenListener).close();
  });
});

describe('the gateway on a port in use', () => {
  let modelsDir: string;
  const gateways: TestGateway[] = [];
  const start = async (config: Record<string, unknown>) => {
    const g = await startTestGateway({ modelsDir, config: { workers: 1, ...config } });
    gateways.push(g);
    return g;
  };
  const body = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: digitsRows(1)[0] }] };
  beforeAll(async () => {
    modelsDir = await copyModels(['digits']);
  });
  afterAll(async () => {
    for (const g of gateways) await g.stop();
    await rm(modelsDir, { recursive: true, force: true });
  });

  it('refuses to start with SLUICE_ERR_CONFIG_INVALID naming --reuse-port; the first keeps serving', async () => {
    const first = await start({ port: await freePort() });
    await expect(start({ port: first.gw.port })).rejects.toMatchObject({
      code: 'SLUICE_ERR_CONFIG_INVALID',
      message: expect.stringMatching(/127\.0\.0\.1:\d+: the port is in use.*--reuse-port/),
    });
    expect((await postJson(`${first.url}/v2/models/digits/infer`, body)).status).toBe(200);

    // Draining: 503 SHUTTING_DOWN, and the answer still carries x-request-id.
    void first.gw.dataplane.drain();
    const refused = await postJson(`${first.url}/v2/models/digits/infer`, body, { 'x-request-id': 'drain-1' });
    expect(refused).toMatchObject({ status: 503, json: { code: 'SLUICE_ERR_SHUTTING_DOWN' } });
    expect(refused.headers.get('x-request-id')).toBe('drain-1');
    expect(refused.headers.get('retry-after')).toBe('1');
  });

  it('with reusePort both start on the same port and serve', async () => {
    const port = await freePort();
    const a = await start({ reusePort: true, port });
    const b = await start({ reusePort: true, port });
    expect(a.gw.port).toBe(port);
    expect(b.gw.port).toBe(a.gw.port);
    for (const g of [a, b]) {
      expect((await getJson(`${g.url}/v2/health/ready`)).status).toBe(200);
      expect((await postJson(`${g.url}/v2/models/digits/infer`, body)).status).toBe(200);
    }
  });
});
