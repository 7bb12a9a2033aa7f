// A worker that dies while holding batches fails only those batches' requests (503, coded, with
// Retry-After), is counted once however many batches it held, is replaced, and the pool keeps
// serving. The death is injected by the test's worker entry (fixtures/fault-worker.mjs): the
// worker that takes a batch holding a fault row exits.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type * as ConfigModule from '../src/config/config.js';
import type * as GatewayModule from '../src/gateway.js';
import { FAULT_WORKER, faultRow, type WorkerFault } from './fixtures/fault-worker.mjs';
import { copyModels, postJson, ROOT } from './helpers/gateway.js';
import { startLoad, sleep, waitFor } from './helpers/load.js';
import { digitsRows } from './helpers/ort.js';

const gatewayMod = (await import(path.join(ROOT, 'dist/src/gateway.js'))) as typeof GatewayModule;
const configMod = (await import(path.join(ROOT, 'dist/src/config/config.js'))) as typeof ConfigModule;

const body = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: digitsRows(1)[0] }] };
const full = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [64, 64], data: digitsRows(64) }] };
const faulty = (fault: WorkerFault) => ({ inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: faultRow(fault, 64) }] });

let gw: GatewayModule.Gateway;
let modelsDir: string;
const logs: Record<string, unknown>[] = [];
const url = () => `http://127.0.0.1:${gw.port}/v2/models/digits/infer`;

/** sluice_worker_restarts_total as the registry exposes it (what /metrics serves). */
async function restarts(): Promise<number> {
  const text = await gw.metrics.registry.getSingleMetricAsString('sluice_worker_restarts_total');
  return [...text.matchAll(/^sluice_worker_restarts_total\{[^}]*\} (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
}
const logged = (msg: string) => logs.filter((l) => l.msg === msg);
const deaths = () => logs.filter((l) => /worker died/.test(String(l.msg))).length;

beforeAll(async () => {
  modelsDir = await copyModels(['digits']);
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      cb();
    },
  });
  // One worker, so that a death holds every batch in flight; no inline runs: faults live in the worker.
  // A small heap cap, so that the `oom` fault reaches it quickly.
  const config = configMod.loadConfig([], {}, { host: '127.0.0.1', port: 0, modelsDir, workers: 1, inlineMaxRunUs: 0, workerHeapMb: 96, logLevel: 'info' });
  gw = await gatewayMod.startGateway(config, { logDestination: sink, workerFile: FAULT_WORKER });
});
afterAll(async () => {
  await gw?.shutdown();
  await rm(modelsDir, { recursive: true, force: true });
});

it('a worker killed under load fails only the requests of the batches it held, and the pool recovers', async () => {
  const load = startLoad(url(), body, 24);
  await sleep(300);
  expect(load.result.total).toBeGreaterThan(0);
  const [restartsBefore, deathsBefore, failedBefore] = [await restarts(), deaths(), logged('batch failed').length];
  const killed = await postJson(url(), faulty({ kind: 'exit' }));
  expect(killed).toMatchObject({ status: 503, json: { code: 'SLUICE_ERR_WORKER_DIED' } });
  const atFailure = load.result.total;
  await waitFor(() => load.result.total - atFailure >= 100, 20_000); // it keeps serving
  const r = await load.stop();
  expect(new Set(r.failures.map((f) => `${f.status} ${f.code}`))).toEqual(
    r.failures.length > 0 ? new Set(['503 SLUICE_ERR_WORKER_DIED']) : new Set(),
  );
  // Exactly the requests of the dead worker's batches (its running one and at most one queued
  // behind it) failed, the faulty request among them; nobody else.
  const failedBatches = logged('batch failed').slice(failedBefore);
  expect(failedBatches.length).toBeGreaterThanOrEqual(1);
  expect(failedBatches.length).toBeLessThanOrEqual(2);
  for (const l of failedBatches) expect(l).toMatchObject({ model: 'digits', where: 'worker', code: 'SLUICE_ERR_WORKER_DIED' });
  expect(failedBatches.reduce((a, l) => a + Number(l.requests), 0)).toBe(r.failures.length + 1);
  expect((await restarts()) - restartsBefore).toBe(1);
  expect(deaths() - deathsBefore).toBe(1);
  // Every later request succeeds (the replacement creates its session lazily).
  const after = await Promise.all(Array.from({ length: 50 }, () => postJson(url(), body)));
  expect(after.map((a) => a.status)).toEqual(new Array(50).fill(200));
});

it('a worker that fills its heap is stopped at --worker-heap-mb and replaced like a dead one, under load; the process lives on', async () => {
  const load = startLoad(url(), body, 16);
  await sleep(300);
  const [restartsBefore, deathsBefore] = [await restarts(), deaths()];
  const hoarder = await postJson(url(), faulty({ kind: 'oom' }));
  expect(hoarder).toMatchObject({ status: 503, json: { code: 'SLUICE_ERR_WORKER_DIED' } });
  const atFailure = load.result.total;
  await waitFor(() => load.result.total - atFailure >= 100, 20_000);
  const r = await load.stop();
  expect(new Set(r.failures.map((f) => `${f.status} ${f.code}`))).toEqual(
    r.failures.length > 0 ? new Set(['503 SLUICE_ERR_WORKER_DIED']) : new Set(),
  );
  expect((await restarts()) - restartsBefore).toBe(1);
  expect(deaths() - deathsBefore).toBe(1);
  expect(logs.some((l) => /ERR_WORKER_OUT_OF_MEMORY|out of memory/i.test(JSON.stringify(l)))).toBe(true);
  const after = await Promise.all(Array.from({ length: 20 }, () => postJson(url(), body)));
  expect(after.map((a) => a.status)).toEqual(new Array(20).fill(200));
});

it('one death with two batches in flight: both answer 503 + Retry-After, the restart counts once', async () => {
  const [restartsBefore, deathsBefore] = [await restarts(), deaths()];
  // The worker blocks 500 ms on the faulty batch, then exits; meanwhile a full batch is handed
  // to the same worker and waits there behind it (BATCHES_PER_WORKER = 2).
  const first = postJson(url(), faulty({ kind: 'exit', ms: 500 }));
  await waitFor(() => gw.dataplane.inflightRequests === 1, 5_000, 5);
  const second = postJson(url(), full);
  const answers = await Promise.all([first, second]);
  for (const a of answers) {
    expect(a).toMatchObject({ status: 503, json: { code: 'SLUICE_ERR_WORKER_DIED' } });
    expect(a.headers.get('retry-after')).toBe('1');
  }
  expect((await restarts()) - restartsBefore).toBe(1);
  expect(deaths() - deathsBefore).toBe(1);
  expect((await postJson(url(), body)).status).toBe(200);
});
