// Deadline-aware admission and cancellation in the batcher, with a hand-driven clock and pool.
import { describe, expect, it } from 'vitest';
import { Batcher, type BatchLayout, type PendingRequest, type RunBatch } from '../src/batching/index.js';
import { ADMISSION_HEADROOM_FRACTION, ServiceRateEstimator, WaitCalibration } from '../src/batching/admission.js';
import { FakeClock, FakePool } from '../src/batching/testing.js';
import type { SluiceError } from '../src/errors.js';
import type { Tensor } from '../src/types.js';

/** Input "x" batched on dim 0, echoed by FakePool as "y_x". */
const X_LAYOUT: BatchLayout = { inputs: [{ name: 'x', batchDim: 0 }], outputs: [{ name: 'y_x', batchDim: 0 }] };

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
    { run: pool.run, clock, hasIdleWorker: pool.hasIdleWorker, layout: X_LAYOUT, parallelism: 1 },
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

describe('ServiceRateEstimator: an upper estimate', () => {
  it('adds a p99 spread term for noisy batches, and learns slowdowns faster than speedups', () => {
    const steady = new ServiceRateEstimator(1);
    const noisy = new ServiceRateEstimator(1);
    for (let i = 0; i < 20; i++) {
      steady.observe(32, 2000);
      noisy.observe(32, i % 2 === 0 ? 1000 : 3000);
    }
    // 10 waves ahead. Steady: exactly 10 × 2 ms. Noisy: its mean is lower (a slow batch raises the
    // mean more than a fast one lowers it, but the mean still ends < 3 ms), yet the spread makes
    // the prediction clearly larger than the steady one.
    expect(steady.predictWaitUs(288, 0, 32, 32)).toBe(20_000);
    expect(noisy.predictWaitUs(288, 0, 32, 32)).toBeGreaterThan(30_000);
    const r = new ServiceRateEstimator(1);
    for (let i = 0; i < 5; i++) r.observe(64, 1000);
    r.observe(64, 2000); // 1 ms slower: the mean rises by a quarter of it
    expect(r.rowsPerSecond).toBeCloseTo(64e6 / 1250, 6);
    const s = new ServiceRateEstimator(1);
    for (let i = 0; i < 5; i++) s.observe(64, 1000);
    s.observe(64, 500); // 0.5 ms faster: the mean falls by a twentieth of it
    expect(s.rowsPerSecond).toBeCloseTo(64e6 / 975, 6);
  });
});

describe('WaitCalibration', () => {
  it('rises when close calls finish later than predicted, never below 1, at most 2', () => {
    const c = new WaitCalibration();
    expect(c.isCloseCall(40_000, 100_000)).toBe(false);
    expect(c.isCloseCall(60_000, 100_000)).toBe(true);
    for (let i = 0; i < 10; i++) c.observe(100_000, 150_000);
    expect(c.factor).toBeGreaterThan(1.2);
    for (let i = 0; i < 1000; i++) c.observe(100_000, 150_000);
    expect(c.factor).toBeCloseTo(1.5, 1); // the p99 of a constant ratio is that ratio
    for (let i = 0; i < 1000; i++) c.observe(100_000, 300_000);
    expect(c.factor).toBeCloseTo(2, 12);
    for (let i = 0; i < 100_000; i++) c.observe(100_000, 90_000);
    expect(c.factor).toBe(1);
  });
});

describe('which batches calibrate the service rate', () => {
  it('a batch resolved with calibrates: false (run inline) leaves serviceRowsPerSecond alone; a worker batch moves it', async () => {
    const clock = new FakeClock();
    const pool = new FakePool(1);
    let inline = false;
    // As the servable answers: every batch says whether it ran where the estimate is about.
    const run: RunBatch = (inputs, meta) => pool.run(inputs, meta).then((outputs) => ({ outputs: outputs as Tensor[], calibrates: !inline }));
    const batcher = new Batcher(
      { maxBatchSize: 4, maxQueueDelayUs: 100, preferredBatchSizes: [], maxQueueSize: 1000 },
      { run, clock, hasIdleWorker: pool.hasIdleWorker, layout: X_LAYOUT, parallelism: 1 },
    );
    pool.onIdle = () => batcher.notifyIdle();
    const s = { clock, pool, batcher };
    await calibrate(s, 5, 1000); // worker batches: 4 rows per 1 ms
    expect(batcher.serviceRowsPerSecond).toBe(4000);
    inline = true;
    await calibrate(s, 3, 50_000); // much slower (or faster) inline batches are answered, not measured
    expect(batcher.serviceRowsPerSecond).toBe(4000);
    inline = false;
    await calibrate(s, 1, 2000); // one worker batch 1 ms slower: the mean rises by a quarter of it
    expect(batcher.serviceRowsPerSecond).toBeCloseTo(4e6 / 1250, 6);
  });
});

describe('admission', () => {
  it('admits only when the predicted completion leaves the headroom: a share of the budget plus the lag before submit', async () => {
    expect(ADMISSION_HEADROOM_FRACTION).toBe(0.1);
    const s = setup();
    await calibrate(s, 5, 500_000); // 0.5 s per batch of 4 rows, no spread
    const now = s.clock.nowUs();
    s.pool.occupy();
    const queued = Array.from({ length: 12 }, () => s.batcher.submit(row(now + 1e9)));
    // Predicted completion: 3 queued batches + its own = 2 s. Headroom 10 % of the budget.
    const ask = (budgetUs: number, lagUs = 0) => ({ rows: 1, receivedUs: now - lagUs, deadlineUs: now - lagUs + budgetUs });
    expect(s.batcher.refusalFor(ask(2_200_000))?.code).toBe('SLUICE_ERR_ADMISSION_REFUSED'); // 2 + 0.22 > 2.2
    expect(s.batcher.refusalFor(ask(2_250_000))).toBeUndefined(); // 2 + 0.225 ≤ 2.25
    // 0.1 s already spent before submit counts twice: once gone from the budget, once as headroom.
    expect(s.batcher.refusalFor(ask(2_500_000, 100_000))).toBeUndefined(); // 2 + 0.25 + 0.1 ≤ 2.4
    expect(s.batcher.refusalFor(ask(2_500_000, 200_000))?.code).toBe('SLUICE_ERR_ADMISSION_REFUSED'); // 2 + 0.25 + 0.2 > 2.3
    // refusalFor() queues nothing; submit() applies the same rule.
    expect(s.batcher.queuedRequests).toBe(12);
    const refused = await codeOf(s.batcher.submit({ ...row(now + 2_200_000), receivedUs: now }));
    expect(refused?.code).toBe('SLUICE_ERR_ADMISSION_REFUSED');
    expect(refused?.stack).toBe('SluiceError: predicted wait 2000 ms exceeds the deadline'); // built without a trace
    void Promise.allSettled(queued);
  });

  it('close calls that expire make later predictions more cautious', async () => {
    const s = setup();
    await calibrate(s, 5, 100_000); // 0.1 s per batch of 4 rows
    const now = s.clock.nowUs();
    const release = s.pool.occupy();
    // Budget 0.35 s, headroom 0.035 s. Requests 1–4 are predicted 0.1 s, 5–8 0.2 s (close calls:
    // ≥ half the budget), and a 9th would be predicted 0.3 s: 0.335 s ≤ 0.35 s, admitted.
    const ask = (at: number) => ({ ...row(at + 350_000), receivedUs: at });
    const first = Array.from({ length: 8 }, () => s.batcher.submit(ask(now)));
    expect(s.batcher.refusalFor({ rows: 1, receivedUs: now, deadlineUs: now + 350_000 })).toBeUndefined();
    // The worker stalls past every deadline: the queued requests expire at hand-over.
    s.clock.advance(400_000);
    release();
    s.batcher.notifyIdle();
    const codes = await Promise.all(first.map(codeOf));
    expect(codes.every((e) => e?.code === 'SLUICE_ERR_DEADLINE_EXCEEDED')).toBe(true);
    // Four close calls came back 2x late (factor ≈ 1.08). Same queue state as before: the 9th is
    // now predicted 0.3 × 1.08 + 0.035 > 0.35 s and refused.
    const at = s.clock.nowUs();
    s.pool.occupy();
    const again = Array.from({ length: 8 }, () => s.batcher.submit(ask(at)));
    expect(s.batcher.refusalFor({ rows: 1, receivedUs: at, deadlineUs: at + 350_000 })?.code).toBe('SLUICE_ERR_ADMISSION_REFUSED');
    void Promise.allSettled(again);
  });


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
      { run: pool.run, clock, hasIdleWorker: pool.hasIdleWorker, layout: X_LAYOUT },
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
