// A worker holds its running batch and one queued behind it, so it never idles between full
// batches; a queued batch whose deadline passed is skipped by the worker, and load rounds
// never land twice on one worker (their barrier would deadlock). Stalls are injected by the
// test's worker entry (fixtures/fault-worker.mjs): a batch holding a fault row blocks its worker.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, expect, it } from 'vitest';
import type * as PoolModule from '../src/inference/pool.js';
import type { SluiceError } from '../src/errors.js';
import { FAULT_WORKER, faultRow } from './fixtures/fault-worker.mjs';
import { MODELS, ROOT } from './helpers/gateway.js';

const { InferencePool } = (await import(path.join(ROOT, 'dist/src/inference/pool.js'))) as typeof PoolModule;
const MODEL = path.join(MODELS, 'digits/1/model.onnx');
const row = () => [{ name: 'pixels', datatype: 'FP32' as const, shape: [1, 64], data: new Float32Array(64) }];
/** A batch that blocks the worker taking it for `ms` before it runs. */
const stallRow = (ms: number) => [{ ...row()[0]!, data: Float32Array.from(faultRow({ kind: 'stall', ms }, 64)) }];
const pools: PoolModule.InferencePool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

function newPool(threads: number, barrierTimeoutMs = 30_000) {
  const pool = new InferencePool({ device: 'cpu', threads, intraOpThreads: 1, allowSpinning: false, barrierTimeoutMs, workerFile: FAULT_WORKER });
  pools.push(pool);
  return pool;
}

it('queues one batch behind the running one per worker, and the worker skips it once its deadline passed', async () => {
  const pool = newPool(1);
  const spec = pool.sessionSpec('digits@1', MODEL);
  await pool.load(spec, []);
  const running = pool.run(spec, stallRow(300), ['label']);
  expect(pool.hasIdleWorker()).toBe(false);
  expect(pool.canQueueBatch()).toBe(true);
  const late = pool.run(spec, row(), ['label'], performance.timeOrigin + performance.now() + 50);
  expect(pool.canQueueBatch()).toBe(false);
  const lateErr = late.catch((e: SluiceError) => e);
  expect((await running)[0]!.shape).toEqual([1]);
  expect(await lateErr).toMatchObject({ code: 'SLUICE_ERR_DEADLINE_EXCEEDED', status: 504 });
  // A queued batch still in time runs.
  const first = pool.run(spec, stallRow(100), ['label']);
  const second = pool.run(spec, row(), ['label'], performance.timeOrigin + performance.now() + 10_000);
  expect((await Promise.all([first, second])).map((o) => o[0]!.shape)).toEqual([[1], [1]]);
});

it('a load round waits for idle workers instead of landing twice on one (barrier deadlock)', async () => {
  const pool = newPool(2, 5_000);
  const spec = pool.sessionSpec('digits@1', MODEL);
  await pool.load(spec, []);
  // Worker 1 stalls with a batch and gets one queued behind it; worker 2 finishes its batch
  // and goes idle. A balancer that filled free slots would put both load tasks on worker 2.
  const stalled = pool.run(spec, stallRow(1500), ['label']); // worker 1
  const quick = pool.run(spec, row(), ['label']); // worker 2
  const queued = pool.run(spec, row(), ['label']); // both hold one: the first, worker 1, takes it
  await quick;
  const started = performance.now();
  const loaded = await pool.load(pool.sessionSpec('digits@2', MODEL), []);
  expect(loaded.allWorkers).toBe(true);
  expect(performance.now() - started).toBeLessThan(4_000); // well before the 5 s barrier timeout
  await Promise.all([stalled, queued]);
});
