// Deadline-aware admission and cancellation in the batcher, with a hand-driven clock and pool.
import { describe, expect, it } from 'vitest';
import { Batcher, type PendingRequest } from '../src/batching/index.js';
import { ServiceRateEstimator } from '../src/batching/admission.js';
import { FakeClock, FakePool } from '../src/batching/testing.js';
import type { SluiceError } from '../src/errors.js';

const row = (deadlineUs: number, isCancelled?: () => boolean): PendingRequest => ({
  inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: new Float32Array(2) }],
  rows: 1,
  deadlineUs,
  isCancelled,
});

function setup() {
  const clock = new FakeClock();
  const pool = new FakePool(1);
  const batcher = new Batcher(
    { maxBatchSize: 4, maxQueueDelayUs: 100, preferredBatchSizes: [], maxQueueSize: 1000 },
    { run: pool.run, clock, hasIdleWorker: pool.hasIdleWorker, inputOrder: ['x'], parallelism: 1 },
  );
  pool.onIdle = () => batcher.notifyIdle();
  return { clock, pool, batcher };
}

/** Runs `n` full batches of 4 rows that each take `batchUs`, so the estimator learns the rate. */
async function calibrate(s: ReturnType<typeof setup>, n: number, batchUs: number): Promise<void> {
  for (let b = 0; b < n; b++) {
    const answers = Array.from({ length: 4 }, () => s.batcher.submit(row(1e12)));
    s.clock.runDeferred();
    s.clock.advance(batchUs);
    s.pool.finish(s.pool.runs.length - 1);
    await Promise.all(answers);
  }
}

const codeOf = async (p: Promise<unknown>) => ((await p.then(() => undefined, (e) => e)) as SluiceError | undefined);

describe('ServiceRateEstimator', () => {
  it('predicts nothing until calibrated, then waves of batches ahead × batch time', () => {
    const r = new ServiceRateEstimator(2);
    expect(r.predictWaitUs(1000, 4, 1, 64)).toBe(0);
    for (let i = 0; i < 5; i++) r.observe(64, 1000);
    expect(r.rowsPerSecond).toBe(128_000);
    // 2 in flight + ceil(129/64)=3 queued batches = 5 batches, 2 at a time → 3 waves of 1 ms.
    expect(r.predictWaitUs(128, 2, 1, 64)).toBe(3000);
  });
});

describe('admission', () => {
  it('refuses with 429 and a computed Retry-After when the predicted wait exceeds the deadline', async () => {
    const s = setup();
    await calibrate(s, 5, 500_000); // 0.5 s per batch of 4 rows
    const now = s.clock.nowUs();
    // Fill the queue: the worker is busy, 12 rows wait (3 batches).
    s.pool.occupy();
    const queued = Array.from({ length: 12 }, () => s.batcher.submit(row(now + 1e9)));
    // Ahead: 3 queued batches + its own = 4 waves of 0.5 s = 2 s > 1.2 s deadline.
    const refused = await codeOf(s.batcher.submit(row(now + 1_200_000)));
    expect(refused?.code).toBe('SLUICE_ERR_ADMISSION_REFUSED');
    expect(refused?.status).toBe(429);
    expect(refused?.retryAfterS).toBe(1); // 0.8 s over → 1 s
    const late = await codeOf(s.batcher.submit(row(now + 10_000)));
    expect(late?.retryAfterS).toBe(2); // ~1.99 s over → 2 s
    // A deadline the queue can meet is admitted.
    const admitted = s.batcher.submit(row(now + 5_000_000));
    expect(s.batcher.queuedRequests + s.batcher.inflightRequests).toBe(13);
    void admitted.catch(() => {});
    void Promise.allSettled(queued);
  });

  it('admits everything before it has measured the service rate', async () => {
    const s = setup();
    s.pool.occupy();
    const p = s.batcher.submit(row(s.clock.nowUs() + 1));
    expect(s.batcher.queuedRequests).toBe(1);
    void p.catch(() => {});
  });

  it('QUEUE_FULL carries a Retry-After from the predicted wait', async () => {
    const clock = new FakeClock();
    const pool = new FakePool(1);
    const batcher = new Batcher(
      { maxBatchSize: 4, maxQueueDelayUs: 100, preferredBatchSizes: [], maxQueueSize: 8 },
      { run: pool.run, clock, hasIdleWorker: pool.hasIdleWorker, inputOrder: ['x'] },
    );
    pool.onIdle = () => batcher.notifyIdle();
    await calibrate({ clock, pool, batcher }, 5, 2_000_000);
    pool.occupy();
    const queued = Array.from({ length: 8 }, () => batcher.submit(row(1e15)));
    const full = await codeOf(batcher.submit(row(1e15)));
    expect(full?.code).toBe('SLUICE_ERR_QUEUE_FULL');
    expect(full?.retryAfterS).toBe(6); // 2 queued batches + its own, 2 s each
    void Promise.allSettled(queued);
  });
});

describe('cancellation', () => {
  it('a request whose client went away is dropped before it reaches a worker', async () => {
    const s = setup();
    const release = s.pool.occupy();
    let gone = false;
    const a = s.batcher.submit(row(1e12, () => gone));
    const b = s.batcher.submit(row(1e12));
    gone = true;
    release();
    s.batcher.notifyIdle();
    expect((await codeOf(a))?.code).toBe('SLUICE_ERR_REQUEST_CANCELLED');
    expect(s.pool.runs.at(-1)!.meta.rows).toBe(1); // only b went to the worker
    s.pool.finish(s.pool.runs.length - 1);
    expect((await b).batchRows).toBe(1);
  });
});
