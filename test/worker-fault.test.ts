// A worker that dies while holding a batch fails only that batch's requests (503, coded,
// with Retry-After), is replaced, and the pool keeps serving.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { startLoad, sleep, waitFor } from './helpers/load.js';
import { digitsRows } from './helpers/ort.js';

let t: TestGateway;
const body = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: digitsRows(1)[0] }] };
beforeAll(async () => {
  t = await startTestGateway({ models: ['digits'] });
});
afterAll(async () => {
  await t.stop();
});

it('a worker killed under load fails only its in-flight requests and the pool recovers', async () => {
  const load = startLoad(`${t.url}/v2/models/digits/infer`, body, 24);
  await sleep(300);
  const before = load.result.total;
  t.gw.pool('cpu').injectWorkerExit();
  await waitFor(() => load.result.failures.length > 0, 10_000);
  const atFailure = load.result.total;
  await waitFor(() => load.result.total - atFailure >= 100, 20_000); // it keeps serving
  const r = await load.stop();
  expect(atFailure).toBeGreaterThan(before);
  // Only the dead worker's one batch failed: at most one batch worth of requests.
  expect(r.failures.length).toBeGreaterThan(0);
  expect(r.failures.length).toBeLessThanOrEqual(24);
  expect(new Set(r.failures.map((f) => `${f.status} ${f.code}`))).toEqual(new Set(['503 SLUICE_ERR_WORKER_DIED']));
  const restarts = (await t.gw.metrics.workerRestarts.get()).values.reduce((a, v) => a + v.value, 0);
  expect(restarts).toBe(1);
  expect(t.logs.filter((l) => /worker died/.test(String(l.msg)))).toHaveLength(1);
  // Every later request succeeds, on both workers (the replacement creates its session lazily).
  const after = await Promise.all(Array.from({ length: 50 }, () => postJson(`${t.url}/v2/models/digits/infer`, body)));
  expect(after.map((a) => a.status)).toEqual(new Array(50).fill(200));
});

it('the WORKER_DIED answer carries Retry-After', async () => {
  t.gw.pool('cpu').injectWorkerExit();
  const r = await postJson(`${t.url}/v2/models/digits/infer`, body);
  expect(r.status).toBe(503);
  expect(r.json.code).toBe('SLUICE_ERR_WORKER_DIED');
  expect(r.headers.get('retry-after')).toBe('1');
  expect((await postJson(`${t.url}/v2/models/digits/infer`, body)).status).toBe(200);
});
