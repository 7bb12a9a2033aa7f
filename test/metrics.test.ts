// Prometheus metrics end to end (docs/metrics.md): known traffic over every route kind, then
// /metrics read back over HTTP and parsed — request counts per protocol, status and code,
// stage histograms, batch sizes and fill, queue depth, refusals, no series for an unknown model
// name — and who may read /metrics where (admin token, --metrics-public, --metrics-on-data-port).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FAULT_WORKER, faultRow } from './fixtures/fault-worker.mjs';
import { admin, TOKEN } from './admin-helpers.js';
import { postJson, ROOT, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/load.js';
import { digitsRows } from './helpers/ort.js';
import { scrape, type Exposition } from './helpers/prometheus.js';
import { createMetrics } from '../src/metrics/metrics.js';

const packr = new Packr({ useRecords: false });
const rows = digitsRows(20);
const oip = (i: number) => ({ id: `m-${i}`, inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: rows[i % rows.length] }] });
const adminMetrics = (t: TestGateway, token?: string) => scrape(`http://127.0.0.1:${t.gw.adminPort}/metrics`, token);

/** Sends `frames` over one WebSocket and resolves with the answers, by id, once all came back. */
async function overWebSocket(t: TestGateway, frames: object[]): Promise<Map<string, any>> {
  const ws = new WebSocket(`${t.url.replace('http', 'ws')}/v2/ws`);
  const answers = new Map<string, any>();
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data));
    answers.set(msg.id, msg);
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  for (const f of frames) ws.send(JSON.stringify(f));
  await waitFor(() => answers.size === frames.length);
  ws.close();
  return answers;
}

it('docs/metrics.md documents exactly the sluice_* metrics the registry declares', async () => {
  const declared = (await createMetrics().registry.getMetricsAsJSON()).map((m) => `${m.name} ${m.type}`).sort();
  const doc = readFileSync(path.join(ROOT, 'docs/metrics.md'), 'utf8');
  const documented = [...doc.matchAll(/^\| `(sluice_[a-z_]+)` \| (counter|gauge|histogram) \|/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
  expect(documented).toEqual(declared);
});

describe('after known traffic', () => {
  let t: TestGateway;
  let m: Exposition;
  const unknown = `nope-${randomUUID().slice(0, 8)}`;
  const N_JSON = 12;
  const N_MSGPACK = 5;
  const N_WS = 3;
  const N_OK = N_JSON + N_MSGPACK + N_WS;
  let refusal: { status: number; code: string };

  beforeAll(async () => {
    t = await startTestGateway({ models: ['digits'], config: { adminToken: TOKEN, adminPort: 0 } });
    const url = `${t.url}/v2/models/digits/infer`;
    const json = await Promise.all(Array.from({ length: N_JSON }, (_, i) => postJson(url, oip(i))));
    expect(json.map((r) => r.status)).toEqual(json.map(() => 200));
    for (let i = 0; i < N_MSGPACK; i++) {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/msgpack' }, body: packr.pack(oip(100 + i)) });
      expect(r.status).toBe(200);
      await r.arrayBuffer();
    }
    for (let i = 0; i < 3; i++) expect((await postJson(url, '{"inputs": [')).json.code).toBe('SLUICE_ERR_JSON_MALFORMED');
    for (let i = 0; i < 2; i++) expect((await postJson(`${t.url}/v2/models/${unknown}/infer`, oip(i))).json.code).toBe('SLUICE_ERR_MODEL_NOT_FOUND');
    // A deadline no request can meet: refused (429 at admission or 504 without running).
    const late = await postJson(url, oip(0), { 'x-timeout-ms': '0.001' });
    refusal = { status: late.status, code: late.json.code };
    expect([429, 504]).toContain(refusal.status);
    const ws = await overWebSocket(t, [
      ...Array.from({ length: N_WS }, (_, i) => ({ ...oip(200 + i), model_name: 'digits' })),
      { ...oip(300), model_name: unknown },
    ]);
    expect([...ws.values()].map((a) => a.code ?? 'OK').sort()).toEqual(['OK', 'OK', 'OK', 'SLUICE_ERR_MODEL_NOT_FOUND']);
    m = await adminMetrics(t, TOKEN);
  });
  afterAll(() => t?.stop());

  it('counts every primary answer once by model, version, protocol, status and code', () => {
    const row = (labels: string, n: number) => `${labels} ${n}`;
    const got = m.samples('sluice_requests_total').map((s) => {
      const l = s.labels!;
      return row(`${l.model}|${l.version}|${l.protocol}|${l.status}|${l.code}`, Number(s.value));
    });
    expect(got.sort()).toEqual(
      [
        row('digits|1|http_json|200|OK', N_JSON),
        row('digits|1|http_msgpack|200|OK', N_MSGPACK),
        row('digits|1|ws_json|200|OK', N_WS),
        row('digits|1|http_json|400|SLUICE_ERR_JSON_MALFORMED', 3),
        row(`digits|1|http_json|${refusal.status}|${refusal.code}`, 1),
        // The unknown name is counted under model "" with no version: it makes no series of its own.
        row('||http_json|404|SLUICE_ERR_MODEL_NOT_FOUND', 2),
        row('||ws_json|404|SLUICE_ERR_MODEL_NOT_FOUND', 1),
      ].sort(),
    );
    expect(m.text).not.toContain('nope-');
  });

  it('records every stage of each successful request, in seconds', () => {
    for (const stage of ['decode', 'validate', 'queue', 'compute', 'encode', 'total']) {
      const h = m.histogram('sluice_stage_seconds', { model: 'digits', stage });
      expect({ stage, count: h.count, series: h.series }).toEqual({ stage, count: N_OK, series: 1 });
      expect(h.buckets.get('+Inf')).toBe(N_OK);
      // Cumulative buckets from 10 µs up.
      expect([...h.buckets.keys()].slice(0, 3)).toEqual(['0.00001', '0.000025', '0.00005']);
    }
    // Only the known model has stage series; the total holds the others.
    expect(new Set(m.samples('sluice_stage_seconds_count').map((s) => s.labels!.model))).toEqual(new Set(['digits']));
    const total = m.histogram('sluice_stage_seconds', { stage: 'total' }).sum;
    const parts = ['decode', 'validate', 'queue', 'compute', 'encode'].reduce((n, stage) => n + m.histogram('sluice_stage_seconds', { stage }).sum, 0);
    expect(total).toBeGreaterThanOrEqual(parts);
    expect(m.types.has('sluice_request_seconds')).toBe(false);
  });

  it('records batch sizes, fill ratio and where batches ran; each request ran in exactly one batch', () => {
    const rowsH = m.histogram('sluice_batch_rows', { model: 'digits', version: '1' });
    expect(rowsH.sum).toBe(N_OK);
    expect(rowsH.count).toBeGreaterThanOrEqual(1);
    expect(rowsH.count).toBeLessThanOrEqual(N_OK);
    const fill = m.histogram('sluice_batch_fill_ratio', { model: 'digits', version: '1' });
    expect(fill.count).toBe(rowsH.count);
    expect(fill.sum * 64).toBe(rowsH.sum); // digits: maxBatchSize 64; k/64 sums exactly in binary
    expect(m.value('sluice_batches_total', { model: 'digits', version: '1' })).toBe(rowsH.count);
  });

  it('reports queue depth per READY version, refusals by reason, event-loop figures', () => {
    expect(m.samples('sluice_queue_depth').map((s) => [s.labels, Number(s.value)])).toEqual([[{ model: 'digits', version: '1' }, 0]]);
    expect(m.samples('sluice_admission_refusals_total').map((s) => [s.labels, Number(s.value)])).toEqual([[{ model: 'digits', reason: refusal.code }, 1]]);
    const elu = m.value('sluice_event_loop_utilization_ratio');
    expect(elu).toBeGreaterThan(0);
    expect(elu).toBeLessThanOrEqual(1);
    expect(m.samples('sluice_process_nodejs_eventloop_lag_p99_seconds')).toHaveLength(1);
    expect(m.types.get('sluice_shadow_agreement')).toBe('gauge');
    expect(m.samples('sluice_shadow_agreement')).toEqual([]); // no routing with shadows
    for (const name of ['sluice_prediction_log_lines_total', 'sluice_prediction_log_dropped_total', 'sluice_prediction_log_bytes_total']) expect(m.types.get(name)).toBe('counter');
    expect(m.types.get('sluice_prediction_log_buffered_bytes')).toBe('gauge');
  });

  it('/metrics on the admin listener needs the token; on the data port it is a 404', async () => {
    for (const token of [null, 'wrong']) {
      const r = await admin(t, 'GET', '/metrics', undefined, { token });
      expect({ status: r.status, code: r.json?.code, auth: r.headers.get('www-authenticate') }).toEqual({ status: 401, code: 'SLUICE_ERR_ADMIN_UNAUTHORIZED', auth: 'Bearer' });
    }
    const data = await fetch(`${t.url}/metrics`);
    expect({ status: data.status, code: ((await data.json()) as { code: string }).code }).toEqual({ status: 404, code: 'SLUICE_ERR_HTTP_ROUTE_NOT_FOUND' });
  });
});

describe('queue depth', () => {
  let t: TestGateway;
  beforeAll(async () => {
    // One worker, no inline runs, stalls injected in the worker (fixtures/fault-worker.mjs).
    t = await startTestGateway({ models: ['digits'], config: { adminToken: TOKEN, adminPort: 0, workers: 1, inlineMaxRunUs: 0 }, gateway: { workerFile: FAULT_WORKER } });
  });
  afterAll(() => t?.stop());

  it('is read at scrape time: requests waiting behind a busy worker are counted, and none once they ran', async () => {
    const url = `${t.url}/v2/models/digits/infer`;
    const stalled = postJson(url, { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: faultRow({ kind: 'stall', ms: 1500 }, 64) }] });
    await waitFor(() => t.gw.dataplane.inflightRequests === 1);
    const waiting = Array.from({ length: 5 }, (_, i) => postJson(url, oip(i)));
    await waitFor(() => t.gw.dataplane.inflightRequests === 6);
    const during = await adminMetrics(t, TOKEN);
    expect(during.samples('sluice_queue_depth').map((s) => [s.labels, Number(s.value)])).toEqual([[{ model: 'digits', version: '1' }, 5]]);
    expect((await stalled).status).toBe(200);
    expect((await Promise.all(waiting)).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const after = await adminMetrics(t, TOKEN);
    expect(after.value('sluice_queue_depth', { model: 'digits', version: '1' })).toBe(0);
  });
});

describe('--metrics-public and --metrics-on-data-port with an admin token', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ models: ['digits'], config: { adminToken: TOKEN, adminPort: 0, metricsPublic: true, metricsOnDataPort: true } });
  });
  afterAll(() => t?.stop());

  it('serves /metrics without a token on both listeners; other admin paths still need it', async () => {
    expect((await postJson(`${t.url}/v2/models/digits/infer`, oip(0))).status).toBe(200);
    const fromAdmin = await adminMetrics(t);
    const fromData = await scrape(`${t.url}/metrics`);
    for (const m of [fromAdmin, fromData]) expect(m.value('sluice_requests_total', { model: 'digits', code: 'OK' })).toBe(1);
    const res = await fetch(`${t.url}/metrics`);
    expect(res.headers.get('content-type')).toBe(t.gw.metrics.registry.contentType);
    await res.text();
    expect((await admin(t, 'GET', '/admin/models', undefined, { token: null })).status).toBe(401);
    expect((await admin(t, 'GET', '/admin/models')).status).toBe(200);
  });
});

describe('--metrics-public without an admin token', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ models: ['digits'], config: { adminPort: 0, metricsPublic: true } });
  });
  afterAll(() => t?.stop());

  it('opens the admin listener serving only /metrics; the admin API stays off; the data port has no /metrics', async () => {
    expect(t.gw.adminPort).toBeGreaterThan(0);
    expect(t.logs).toContainEqual(expect.objectContaining({ msg: 'admin listener (GET /metrics only) listening', port: t.gw.adminPort }));
    const m = await adminMetrics(t);
    expect(m.samples('sluice_model_state', { model: 'digits', version: '1', state: 'READY' }).map((s) => s.value)).toEqual(['1']);
    for (const token of [null, TOKEN]) {
      const r = await admin(t, 'GET', '/admin/models', undefined, { token });
      expect({ status: r.status, code: r.json?.code }).toEqual({ status: 404, code: 'SLUICE_ERR_HTTP_ROUTE_NOT_FOUND' });
    }
    expect((await fetch(`${t.url}/metrics`)).status).toBe(404);
  });

  it('no token and no --metrics-public: no admin listener at all', async () => {
    const off = await startTestGateway({ models: ['digits'], config: { adminPort: 0 } });
    try {
      expect(off.gw.adminPort).toBeUndefined();
    } finally {
      await off.stop();
    }
  });
});
