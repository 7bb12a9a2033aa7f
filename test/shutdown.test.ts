// Graceful shutdown seen from the wire: readiness turns 503 at once, new inference is
// refused with a coded 503 that closes its connection, in-flight requests complete.
import { expect, it } from 'vitest';
import { FAULT_WORKER, faultRow } from './fixtures/fault-worker.mjs';
import { getJson, postJson, startTestGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/load.js';
import { digitsRows } from './helpers/ort.js';

it('readiness 503 and SHUTTING_DOWN refusals while in-flight requests drain', async () => {
  // Stalls are injected in the worker (fixtures/fault-worker.mjs), so no batch may run inline.
  const t = await startTestGateway({ models: ['digits'], config: { workers: 1, inlineMaxRunUs: 0 }, gateway: { workerFile: FAULT_WORKER } });
  const body = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: digitsRows(1)[0] }] };
  const stalled = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: faultRow({ kind: 'stall', ms: 500 }, 64) }] };
  // Hold the only worker for 500 ms so that requests are provably in flight.
  const accepted = [postJson(`${t.url}/v2/models/digits/infer`, stalled)];
  await waitFor(() => t.gw.dataplane.inflightRequests === 1);
  for (let i = 1; i < 20; i++) accepted.push(postJson(`${t.url}/v2/models/digits/infer`, body));
  await waitFor(() => t.gw.dataplane.inflightRequests === 20);
  const stopping = t.gw.shutdown();
  const ready = await getJson(`${t.url}/v2/health/ready`);
  expect(ready).toMatchObject({ status: 503, json: { ready: false } });
  expect((await getJson(`${t.url}/v2/health/live`)).status).toBe(200);
  const refused = await postJson(`${t.url}/v2/models/digits/infer`, body);
  expect(refused).toMatchObject({ status: 503, json: { code: 'SLUICE_ERR_SHUTTING_DOWN' } });
  expect(refused.headers.get('retry-after')).toBe('1');
  expect(refused.headers.get('connection')).toBe('close');
  expect((await Promise.all(accepted)).map((a) => a.status)).toEqual(new Array(20).fill(200));
  await stopping;
  expect(t.logs.find((l) => l.msg === 'shutting down: draining in-flight requests')?.inflight).toBe(20);
  expect(t.logs.at(-1)?.msg).toBe('stopped');
  await expect(fetch(`${t.url}/v2/health/live`)).rejects.toThrow();
  await t.stop(); // idempotent shutdown; removes the model copy
});
