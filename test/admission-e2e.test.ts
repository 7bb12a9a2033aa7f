// Overload answers over HTTP: 429 with Retry-After when the predicted wait exceeds the
// deadline, 504 without running when the deadline passes in the queue, and requests whose
// client went away are dropped before they reach a worker.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/load.js';
import { digitsRows } from './helpers/ort.js';

let t: TestGateway;
const one = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: digitsRows(1)[0] }] };
const full = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [64, 64], data: digitsRows(64) }] };
const url = () => `${t.url}/v2/models/digits/infer`;
const count = async (code: string) =>
  (await t.gw.metrics.requests.get()).values.filter((v) => v.labels.code === code).reduce((a, v) => a + v.value, 0);
const rowsRun = async () => (await t.gw.metrics.batchRows.get()).values.find((v) => v.metricName === 'sluice_batch_rows_sum')!.value;

beforeAll(async () => {
  t = await startTestGateway({ models: ['digits'], config: { workers: 1, inlineMaxRunUs: 0 } }); // calibrated on worker batches
  // Calibrate the service-rate estimate with real batches.
  for (let i = 0; i < 20; i++) expect((await postJson(url(), full)).status).toBe(200);
});
afterAll(async () => {
  await t.stop();
});

it('refuses at admission with 429 + Retry-After, runs nothing past its deadline (504), admits what fits', async () => {
  const rowsBefore = await rowsRun();
  t.gw.pool('cpu').injectWorkerStall(3000);
  const backlog = Array.from({ length: 50 }, () => postJson(url(), full));
  await waitFor(() => t.gw.dataplane.inflightRequests === 50);
  const refused = await postJson(url(), one, { 'x-timeout-ms': '20' });
  expect(refused).toMatchObject({ status: 429, json: { code: 'SLUICE_ERR_ADMISSION_REFUSED' } });
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  const viaBody = await postJson(url(), { ...one, parameters: { timeout_ms: 20 } });
  expect(viaBody.json.code).toBe('SLUICE_ERR_ADMISSION_REFUSED');
  // Fits the prediction, but the stalled worker makes it miss: 504 and never run.
  const expires = postJson(url(), one, { 'x-timeout-ms': '2000' });
  const patient = postJson(url(), one, { 'x-timeout-ms': '60000' });
  const answers = await Promise.all(backlog);
  expect(answers.every((a) => a.status === 200)).toBe(true);
  expect(await expires).toMatchObject({ status: 504, json: { code: 'SLUICE_ERR_DEADLINE_EXCEEDED' } });
  expect((await patient).status).toBe(200);
  expect((await rowsRun()) - rowsBefore).toBe(50 * 64 + 1); // the backlog and `patient`, not `expires`
  expect(await count('SLUICE_ERR_ADMISSION_REFUSED')).toBe(2);
});

it('a request whose client went away is dropped before it reaches a worker', async () => {
  t.gw.pool('cpu').injectWorkerStall(500);
  const blocker = postJson(url(), one);
  await waitFor(() => t.gw.dataplane.inflightRequests === 1);
  const rowsBefore = await rowsRun();
  const aborts = Array.from({ length: 10 }, () => {
    const ctl = new AbortController();
    const p = fetch(url(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(one), signal: ctl.signal });
    return { ctl, p: p.catch((e: Error) => e.name) };
  });
  await waitFor(() => t.gw.dataplane.inflightRequests === 11);
  for (const a of aborts) a.ctl.abort();
  expect(await Promise.all(aborts.map((a) => a.p))).toEqual(new Array(10).fill('AbortError'));
  expect((await blocker).status).toBe(200);
  await waitFor(async () => (await count('SLUICE_ERR_REQUEST_CANCELLED')) === 10);
  // Batch rows are counted at dispatch: the blocker was counted before rowsBefore was read,
  // and none of the ten cancelled requests ever reached the worker.
  expect((await rowsRun()) - rowsBefore).toBe(0);
  expect((await postJson(url(), one)).status).toBe(200);
});
