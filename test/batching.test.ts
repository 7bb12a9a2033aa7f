import { describe, expect, it } from 'vitest';
import { Batcher, systemClock, type BatchLayout, type BatchOutcome, type PendingRequest, type RunBatch } from '../src/batching/index.js';
import { FakeClock, FakePool, type FakeRun } from '../src/batching/testing.js';
import { SluiceError } from '../src/errors.js';
import type { BatchingConfig, Tensor } from '../src/types.js';

const FAR = 1e15;
const DELAY = 1000;
/** Input "x" batched on dim 0; FakePool's echo answers "y_x", and one test answers a bad "y". */
const X_LAYOUT: BatchLayout = {
  inputs: [{ name: 'x', batchDim: 0 }],
  outputs: [
    { name: 'y_x', batchDim: 0 },
    { name: 'y', batchDim: 0 },
  ],
};

/** Input "x" of `rows` rows and `width` columns; every value encodes its request id: id*1000 + row*10 + col. */
function x(id: number, rows: number, width = 2): Tensor {
  const data = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) data[r * width + c] = id * 1000 + r * 10 + c;
  return { name: 'x', datatype: 'FP32', shape: [rows, width], data };
}

function req(
  id: number,
  rows = 1,
  opts: { width?: number; deadlineUs?: number; priority?: number; isCancelled?: () => boolean } = {},
): PendingRequest {
  return {
    inputs: [x(id, rows, opts.width)],
    rows,
    deadlineUs: opts.deadlineUs ?? FAR,
    priority: opts.priority,
    isCancelled: opts.isCancelled,
  };
}

function setup(cfg: Partial<BatchingConfig> = {}, workers = 1, wrapRun?: (run: RunBatch) => RunBatch, pipelined = false) {
  const clock = new FakeClock();
  const pool = new FakePool(workers);
  const batcher = new Batcher(
    { maxBatchSize: 8, maxQueueDelayUs: DELAY, preferredBatchSizes: [], maxQueueSize: 64, ...cfg },
    {
      run: wrapRun ? wrapRun(pool.run) : pool.run,
      clock,
      hasIdleWorker: pool.hasIdleWorker,
      ...(pipelined ? { canQueueBatch: pool.canQueueBatch } : {}),
      layout: X_LAYOUT,
    },
  );
  pool.onIdle = () => batcher.notifyIdle();
  return { clock, pool, batcher };
}

interface Tracked<T> {
  done: boolean;
  value?: T;
  error?: unknown;
}
function track<T>(p: Promise<T>): Tracked<T> {
  const s: Tracked<T> = { done: false };
  p.then(
    (v) => Object.assign(s, { done: true, value: v }),
    (e: unknown) => Object.assign(s, { done: true, error: e }),
  );
  return s;
}

/** Lets every pending promise callback run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** The request id of every row of a batch's merged input. */
function rowIds(run: FakeRun): number[] {
  const t = run.inputs[0]!;
  const width = t.shape[1]!;
  return Array.from({ length: t.shape[0]! }, (_, r) => Math.floor(Number(t.data[r * width]) / 1000));
}

function expectEcho(outcome: BatchOutcome | undefined, id: number, rows: number, width = 2): void {
  expect(outcome).toBeDefined();
  const out = outcome!.outputs;
  expect(out).toHaveLength(1);
  expect(out[0]!.name).toBe('y_x');
  expect(out[0]!.shape).toEqual([rows, width]);
  expect(Array.from(out[0]!.data as Float32Array)).toEqual(Array.from(x(id, rows, width).data as Float32Array));
}

function codeOf(err: unknown): string | undefined {
  return err instanceof SluiceError ? err.code : undefined;
}

describe('Batcher: dispatch when a worker is idle', () => {
  it('defers one flush, so requests submitted in the same turn share one batch', async () => {
    const { clock, pool, batcher } = setup({}, 2);
    const a = track(batcher.submit(req(1)));
    const b = track(batcher.submit(req(2, 2)));
    const c = track(batcher.submit(req(3)));
    expect(pool.runs).toHaveLength(0);
    expect(clock.pendingDeferred).toBe(1);
    expect(batcher.queuedRequests).toBe(3);
    expect(batcher.queuedRows).toBe(4);

    clock.runDeferred();
    expect(pool.runs).toHaveLength(1);
    expect(pool.runs[0]!.meta).toEqual({ batchId: 1, rows: 4, requests: 3, latestDeadlineUs: FAR, lane: 0 });
    expect(rowIds(pool.runs[0]!)).toEqual([1, 2, 2, 3]);
    expect(batcher.queuedRequests).toBe(0);
    expect(batcher.inflightBatches).toBe(1);
    expect(clock.pendingTimers).toBe(0);

    clock.advance(250);
    pool.finish(0);
    await settle();
    expectEcho(a.value, 1, 1);
    expectEcho(b.value, 2, 2);
    expectEcho(c.value, 3, 1);
    expect(b.value).toMatchObject({ batchId: 1, batchRows: 4, queueUs: 0, computeUs: 250 });
    expect(batcher.inflightBatches).toBe(0);
  });

  it('keeps forming batches while workers stay idle, each ≤ maxBatchSize, and times the rest', () => {
    const { clock, pool, batcher } = setup({ maxBatchSize: 2 }, 2);
    for (let id = 1; id <= 5; id++) void batcher.submit(req(id)).catch(() => {});
    clock.runDeferred();
    expect(pool.runs.map(rowIds)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(pool.runs.map((r) => r.meta.batchId)).toEqual([1, 2]);
    expect(batcher.queuedRequests).toBe(1);
    expect(clock.nextTimerDueUs).toBe(DELAY);
  });
});

describe('Batcher: gathering while busy', () => {
  // While every worker is busy the full and timer triggers only FORM a batch: it leaves the
  // lanes (later requests no longer join it) but still counts in queuedRequests/queuedRows, and
  // it is handed to run() only when a worker is idle. pool.runs stays empty until then.

  it('forms the batch at the oldest request enqueue + maxQueueDelayUs, not a microsecond before', async () => {
    const { clock, pool, batcher } = setup();
    const release = pool.occupy();
    const a = track(batcher.submit(req(1)));
    clock.advance(300);
    const b = track(batcher.submit(req(2)));
    expect(clock.pendingDeferred).toBe(0);
    clock.advance(DELAY - 300 - 1); // t = 999
    expect(clock.nextTimerDueUs).toBe(DELAY);
    void batcher.submit(req(3)); // still joins: the batch is not formed yet
    expect(batcher.queuedRequests).toBe(3);
    clock.advance(1); // t = 1000: formed, not run (the worker is busy)
    expect(pool.runs).toHaveLength(0);
    expect(batcher.queuedRequests).toBe(3);
    expect(batcher.queuedRows).toBe(3);
    expect(clock.pendingTimers).toBe(0); // nothing left in the lanes to time
    void batcher.submit(req(4)); // too late: gathers for the next batch
    expect(batcher.queuedRequests).toBe(4);
    expect(clock.nextTimerDueUs).toBe(DELAY + DELAY);

    clock.advance(200);
    expect(pool.runs).toHaveLength(0);
    release(); // the pool calls notifyIdle(): the formed batch goes, request 4 keeps waiting
    expect(pool.runs.map(rowIds)).toEqual([[1, 2, 3]]);
    expect(pool.runs[0]!.started).toBe(true); // straight onto the worker, never in the pool's queue
    expect(pool.runs[0]!.meta).toEqual({ batchId: 1, rows: 3, requests: 3, latestDeadlineUs: FAR, lane: 0 });
    expect(batcher.queuedRequests).toBe(1);
    expect(clock.nextTimerDueUs).toBe(DELAY + DELAY);
    clock.advance(50);
    pool.finish(0);
    expect(pool.runs.map(rowIds)).toEqual([[1, 2, 3], [4]]);
    await settle();
    // queueUs runs until the hand-over to the worker; computeUs is only the run.
    expect(a.value).toMatchObject({ queueUs: 1200, computeUs: 50 });
    expect(b.value).toMatchObject({ queueUs: 900, computeUs: 50 });
  });

  it('forms a full batch at once and keeps gathering the rest', () => {
    const { clock, pool, batcher } = setup({ maxBatchSize: 4 });
    const release = pool.occupy();
    for (let id = 1; id <= 3; id++) void batcher.submit(req(id));
    expect(clock.pendingTimers).toBe(1);
    void batcher.submit(req(4)); // 4 rows: formed at once, the lanes are empty
    expect(pool.runs).toHaveLength(0);
    expect(batcher.queuedRequests).toBe(4);
    expect(batcher.queuedRows).toBe(4);
    expect(clock.pendingTimers).toBe(0);

    clock.advance(10);
    for (let id = 5; id <= 10; id++) void batcher.submit(req(id));
    expect(pool.runs).toHaveLength(0);
    expect(batcher.queuedRows).toBe(10); // [1-4] and [5-8] formed, 9 and 10 gathering
    expect(clock.pendingTimers).toBe(0); // formed rows fill a batch already: no timer

    release();
    expect(pool.runs.map(rowIds)).toEqual([[1, 2, 3, 4]]);
    expect(clock.pendingTimers).toBe(0); // [5-8] still formed
    pool.finish(0);
    expect(pool.runs.map(rowIds)).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
    expect(batcher.queuedRows).toBe(2);
    expect(clock.nextTimerDueUs).toBe(10 + DELAY); // the oldest still in a lane: request 9
    clock.advance(DELAY);
    pool.finish(1);
    expect(pool.runs.map(rowIds)).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10],
    ]);
  });

  it('notifyIdle flushes before the timer and clears it', async () => {
    const { clock, pool, batcher } = setup();
    const release = pool.occupy();
    const a = track(batcher.submit(req(1)));
    void batcher.submit(req(2));
    clock.advance(500);
    expect(pool.runs).toHaveLength(0);
    release(); // the pool calls notifyIdle()
    expect(pool.runs.map(rowIds)).toEqual([[1, 2]]);
    expect(pool.runs[0]!.started).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    pool.finish(0);
    await settle();
    expect(a.value).toMatchObject({ queueUs: 500, computeUs: 0 });
  });

  it('re-arms the timer for the next oldest after a timer formation', () => {
    const { clock, pool, batcher } = setup({ maxBatchSize: 4 });
    const release = pool.occupy();
    void batcher.submit(req(1));
    clock.advance(1);
    void batcher.submit(req(2, 1, { width: 3 }));
    expect(clock.nextTimerDueUs).toBe(DELAY);
    clock.advance(DELAY - 2);
    void batcher.submit(req(3)); // t = 999: joins request 1
    clock.advance(1); // t = 1000: [1, 3] is formed; request 2 (other shape) is due 1 µs later
    expect(batcher.queuedRequests).toBe(3);
    expect(clock.nextTimerDueUs).toBe(1 + DELAY);
    void batcher.submit(req(4)); // t = 1000: too late for [1, 3]
    clock.advance(1); // t = 1001: [2] is formed; request 4 is timed next
    expect(clock.nextTimerDueUs).toBe(DELAY + DELAY);
    expect(pool.runs).toHaveLength(0);

    release();
    pool.finish(0);
    expect(pool.runs.map(rowIds)).toEqual([[1, 3], [2]]);
    clock.advance(999);
    pool.finish(1);
    expect(pool.runs.map(rowIds)).toEqual([[1, 3], [2], [4]]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('arms no timer while formed rows fill a batch; re-arms once they are handed over', () => {
    const { clock, pool, batcher } = setup({ maxBatchSize: 4 });
    const release = pool.occupy();
    void batcher.submit(req(1, 4)); // full on its own: formed at once
    void batcher.submit(req(2));
    expect(clock.pendingTimers).toBe(0);
    clock.advance(5 * DELAY); // request 2 is long overdue, but another batch is already waiting
    void batcher.submit(req(3)); // so it keeps gathering: 3 joins it
    expect(batcher.queuedRequests).toBe(3);
    expect(clock.pendingTimers).toBe(0);

    release(); // [1] goes; the timer is armed again, overdue
    expect(pool.runs.map(rowIds)).toEqual([[1, 1, 1, 1]]);
    expect(clock.nextTimerDueUs).toBe(5 * DELAY);
    clock.advance(0);
    expect(batcher.queuedRequests).toBe(2);
    void batcher.submit(req(4)); // [2, 3] is formed already
    pool.finish(0);
    expect(pool.runs.map(rowIds)).toEqual([[1, 1, 1, 1], [2, 3]]);
  });
});

describe('Batcher: forming batches', () => {
  it('keeps FIFO order across batches', () => {
    const { clock, pool, batcher } = setup({ maxBatchSize: 2 });
    const release = pool.occupy();
    for (let id = 1; id <= 5; id++) void batcher.submit(req(id)); // [1, 2] and [3, 4] formed at once
    expect(batcher.queuedRequests).toBe(5);
    release();
    pool.finish(0);
    clock.advance(DELAY); // [5] formed by the timer while [3, 4] runs
    expect(batcher.queuedRequests).toBe(1);
    pool.finish(1);
    expect(pool.runs.map(rowIds)).toEqual([[1, 2], [3, 4], [5]]);
    expect(pool.runs.map((r) => r.meta.batchId)).toEqual([1, 2, 3]);
  });

  it('ends a batch at the first request that does not fit; no smaller request overtakes it', () => {
    const { clock, pool, batcher } = setup({ maxBatchSize: 4 }, 1);
    void batcher.submit(req(1, 2));
    void batcher.submit(req(2, 3));
    void batcher.submit(req(3, 1));
    clock.runDeferred(); // all three are queued when the first batch forms
    expect(pool.runs.map(rowIds)).toEqual([[1, 1]]); // 3 would fit, but may not pass 2
    expect(batcher.queuedRows).toBe(4); // [2, 2, 2, 3] is full: formed at once
    expect(clock.pendingTimers).toBe(0);
    pool.finish(0);
    expect(pool.runs.map(rowIds)).toEqual([
      [1, 1],
      [2, 2, 2, 3],
    ]);
  });

  it('batches only equal trailing dims; other shapes keep their place', () => {
    const { clock, pool, batcher } = setup();
    const release = pool.occupy();
    const ids: Array<[number, number]> = [
      [1, 2],
      [2, 3],
      [3, 2],
      [4, 3],
      [5, 2],
    ];
    for (const [id, width] of ids) void batcher.submit(req(id, 1, { width }));
    expect(clock.pendingDeferred).toBe(0);
    clock.advance(DELAY); // both shapes are overdue: two batches formed
    expect(batcher.queuedRequests).toBe(5);
    expect(clock.pendingTimers).toBe(0);
    release();
    pool.finish(0);
    expect(pool.runs.map(rowIds)).toEqual([
      [1, 3, 5],
      [2, 4],
    ]);
    expect(pool.runs.map((r) => r.inputs[0]!.shape)).toEqual([
      [3, 2],
      [2, 3],
    ]);
  });

  it('an idle flush takes the oldest shape first and leaves the others timed', () => {
    const { clock, pool, batcher } = setup({}, 1);
    void batcher.submit(req(1, 1, { width: 2 }));
    void batcher.submit(req(2, 1, { width: 3 }));
    void batcher.submit(req(3, 1, { width: 2 }));
    clock.runDeferred();
    expect(pool.runs.map(rowIds)).toEqual([[1, 3]]);
    expect(batcher.queuedRequests).toBe(1);
    expect(clock.nextTimerDueUs).toBe(DELAY);
  });

  it('serves lane 0 before lane 1 and does not mix lanes in a batch; lane 1 waits for an idle worker, with no timer', () => {
    const { clock, pool, batcher } = setup();
    const release = pool.occupy();
    void batcher.submit(req(1, 1, { priority: 1 }));
    clock.advance(100);
    void batcher.submit(req(2));
    void batcher.submit(req(3, 1, { priority: 0 }));
    release();
    expect(pool.runs.map(rowIds)).toEqual([[2, 3]]);
    expect(batcher.queuedRequests).toBe(1);
    // Only lane 0 has a queue-delay timer: the low-priority request waits for a free worker.
    expect(clock.pendingTimers).toBe(0);
    clock.advance(10 * DELAY);
    expect(pool.runs).toHaveLength(1);
    void batcher.submit(req(4)); // lane 0 arrives later, yet goes first when the worker frees up
    expect(clock.nextTimerDueUs).toBe(10 * DELAY + 100 + DELAY);
    pool.finish(0);
    expect(pool.runs.map(rowIds)).toEqual([[2, 3], [4]]);
    expect(pool.runs[1]!.meta.lane).toBe(0);
    pool.finish(1);
    expect(pool.runs.map(rowIds)).toEqual([[2, 3], [4], [1]]);
    expect(pool.runs[2]!.meta.lane).toBe(1);
  });

  it('lane 1 is bounded on its own: it never makes lane 0 QUEUE_FULL, and is refused first', async () => {
    const { pool, batcher } = setup({ maxQueueSize: 2 });
    const release = pool.occupy();
    const low = [track(batcher.submit(req(1, 1, { priority: 1 }))), track(batcher.submit(req(2, 1, { priority: 1 })))];
    const third = track(batcher.submit(req(3, 1, { priority: 1 })));
    await settle();
    expect((third.error as { code: string }).code).toBe('SLUICE_ERR_QUEUE_FULL');
    // Two low-priority requests held: lane 0 still admits its own maxQueueSize.
    const high = [track(batcher.submit(req(4))), track(batcher.submit(req(5)))];
    const over = track(batcher.submit(req(6)));
    await settle();
    expect((over.error as { code: string }).code).toBe('SLUICE_ERR_QUEUE_FULL');
    expect(high.every((h) => !h.done)).toBe(true);
    release();
    expect(pool.runs.map(rowIds)).toEqual([[4, 5]]);
    pool.finish(0);
    expect(pool.runs.map(rowIds)).toEqual([[4, 5], [1, 2]]);
    pool.finish(1);
    await settle();
    expect(low.every((l) => l.done && l.error === undefined)).toBe(true);
  });

  it('maxShadowQueueSize bounds lane 1 apart from maxQueueSize', async () => {
    const { pool, batcher } = setup({ maxQueueSize: 8, maxShadowQueueSize: 1 });
    const release = pool.occupy();
    const first = track(batcher.submit(req(1, 1, { priority: 1 })));
    const second = track(batcher.submit(req(2, 1, { priority: 1 })));
    const primary = [1, 2, 3].map((i) => track(batcher.submit(req(10 + i))));
    await settle();
    expect((second.error as { code: string; message: string }).code).toBe('SLUICE_ERR_QUEUE_FULL');
    expect((second.error as { message: string }).message).toMatch(/low-priority queue full \(1 requests\)/);
    expect(first.done || primary.some((p) => p.done)).toBe(false);
    release();
  });

  it('a worker offered to primary work only takes no lane-1 batch; dropLowPriority rejects queued lane-1 work', async () => {
    const { pool, batcher } = setup();
    pool.onIdle = () => batcher.notifyIdle(true); // the pool's first pass over its versions
    const hold = pool.occupy();
    const first = track(batcher.submit(req(1, 1, { priority: 1 })));
    const second = track(batcher.submit(req(2, 1, { priority: 1 })));
    hold();
    expect(pool.runs).toHaveLength(0);
    batcher.notifyIdle(false); // the second pass: no version had primary work
    expect(pool.runs.map(rowIds)).toEqual([[1, 2]]);
    pool.finish(0);
    await settle();
    expect(first.done && second.done && first.error === undefined).toBe(true);

    const hold2 = pool.occupy();
    const waiting = track(batcher.submit(req(3, 1, { priority: 1 })));
    batcher.dropLowPriority(new SluiceError('SLUICE_ERR_SHUTTING_DOWN', 'unloading'));
    await settle();
    expect((waiting.error as { code: string }).code).toBe('SLUICE_ERR_SHUTTING_DOWN');
    expect(batcher.queuedRequests).toBe(0);
    hold2();
    await batcher.drain();
  });

  it('cuts an idle flush at the largest preferred size on a request boundary', () => {
    const { clock, pool, batcher } = setup({ maxBatchSize: 16, preferredBatchSizes: [8, 4] }, 1);
    for (let id = 1; id <= 11; id++) void batcher.submit(req(id));
    clock.runDeferred();
    expect(pool.runs.map((r) => r.meta.rows)).toEqual([8]);
    expect(batcher.queuedRows).toBe(3);
    pool.finish(0); // notifyIdle: 3 rows, below every preferred size, go as they are
    expect(pool.runs.map(rowIds)).toEqual([
      [1, 2, 3, 4, 5, 6, 7, 8],
      [9, 10, 11],
    ]);
  });

  it('does not cut when no request boundary falls on a preferred size', () => {
    const { clock, pool, batcher } = setup({ maxBatchSize: 16, preferredBatchSizes: [4, 8] }, 1);
    for (let id = 1; id <= 3; id++) void batcher.submit(req(id, 3)); // prefixes 3, 6, 9
    clock.runDeferred();
    expect(pool.runs.map((r) => r.meta.rows)).toEqual([9]);
  });

  it('falls back to a smaller preferred size that has a boundary', () => {
    const { clock, pool, batcher } = setup({ maxBatchSize: 16, preferredBatchSizes: [2, 6, 8] }, 1);
    for (let id = 1; id <= 3; id++) void batcher.submit(req(id, 3));
    clock.runDeferred();
    expect(pool.runs.map((r) => r.meta.rows)).toEqual([6]);
    expect(batcher.queuedRows).toBe(3);
  });

  it('ignores preferred sizes when the delay timer is the trigger', () => {
    const { clock, pool, batcher } = setup({ maxBatchSize: 16, preferredBatchSizes: [4] });
    const release = pool.occupy();
    for (let id = 1; id <= 5; id++) void batcher.submit(req(id));
    clock.advance(DELAY);
    expect(batcher.queuedRows).toBe(5);
    release();
    expect(pool.runs.map((r) => r.meta.rows)).toEqual([5]);
    expect(rowIds(pool.runs[0]!)).toEqual([1, 2, 3, 4, 5]);
  });

  it('never exceeds maxBatchSize and answers every request with its own rows (random schedule)', async () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const idleAtRun: boolean[] = [];
    const { clock, pool, batcher } = setup({ maxBatchSize: 8, preferredBatchSizes: [4], maxQueueSize: 1000 }, 2, (run) => {
      return (inputs, meta) => {
        idleAtRun.push(pool.hasIdleWorker());
        return run(inputs, meta);
      };
    });
    const sent: Array<{ id: number; rows: number; width: number; t: Tracked<BatchOutcome> }> = [];
    let nextSettle = 0;
    for (let step = 0; step < 400; step++) {
      const action = rand(10);
      if (action < 5) {
        const id = sent.length + 1;
        const rows = 1 + rand(8);
        const width = 2 + rand(2);
        sent.push({ id, rows, width, t: track(batcher.submit(req(id, rows, { width }))) });
      } else if (action < 7) {
        clock.advance(rand(700));
      } else if (action < 8) {
        clock.runDeferred();
      } else if (nextSettle < pool.runs.length) {
        pool.finish(nextSettle++);
      }
    }
    for (let guard = 0; guard < 1000 && (batcher.queuedRequests > 0 || nextSettle < pool.runs.length); guard++) {
      clock.runDeferred();
      clock.advance(DELAY);
      while (nextSettle < pool.runs.length) pool.finish(nextSettle++);
    }
    await settle();

    expect(pool.runs.length).toBeGreaterThan(20);
    for (const r of pool.runs) {
      expect(r.meta.rows).toBeLessThanOrEqual(8);
      expect(r.inputs[0]!.shape[0]).toBe(r.meta.rows);
    }
    const rowsRun = pool.runs.reduce((s, r) => s + r.meta.rows, 0);
    expect(rowsRun).toBe(sent.reduce((s, r) => s + r.rows, 0));
    expect(new Set(pool.runs.map((r) => r.meta.batchId)).size).toBe(pool.runs.length);
    // No batch ever waited in the pool's queue: run() was only called with a worker idle.
    expect(idleAtRun).toHaveLength(pool.runs.length);
    expect(idleAtRun.every(Boolean)).toBe(true);
    for (const s of sent) {
      expect(s.t.error).toBeUndefined();
      expectEcho(s.t.value, s.id, s.rows, s.width);
    }
    expect(batcher.inflightBatches).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('Batcher: admission and deadlines', () => {
  it('refuses at maxQueueSize with SLUICE_ERR_QUEUE_FULL, counting requests still in flight', async () => {
    const { clock, pool, batcher } = setup({ maxQueueSize: 3 });
    const release = pool.occupy();
    for (let id = 1; id <= 3; id++) void batcher.submit(req(id));
    const refused = (id: number): Promise<unknown> => {
      const t = track(batcher.submit(req(id)));
      return settle().then(() => t.error); // undefined (not refused) must not hang the test
    };
    const err = await refused(4);
    expect(codeOf(err)).toBe('SLUICE_ERR_QUEUE_FULL');
    expect((err as SluiceError).status).toBe(503);
    expect((err as SluiceError).retryAfterS).toBe(1);
    expect(batcher.queuedRequests).toBe(3);

    clock.advance(DELAY); // formed, waiting for a worker: still held by this version
    expect(batcher.queuedRequests).toBe(3);
    expect(batcher.inflightRequests).toBe(0);
    expect(codeOf(await refused(5))).toBe('SLUICE_ERR_QUEUE_FULL');
    release(); // handed to the worker: in flight, still held
    expect(batcher.queuedRequests).toBe(0);
    expect(batcher.inflightRequests).toBe(3);
    expect(codeOf(await refused(7))).toBe('SLUICE_ERR_QUEUE_FULL');
    pool.finish(0);
    await settle();
    expect(batcher.inflightRequests).toBe(0);
    const ok = track(batcher.submit(req(6)));
    expect(batcher.queuedRequests).toBe(1);
    clock.runDeferred();
    pool.finish(1);
    await settle();
    expectEcho(ok.value, 6, 1);
    expect(pool.runs.map(rowIds)).toEqual([[1, 2, 3], [6]]);
  });

  it('refuses a request whose deadline already passed, without queueing it', async () => {
    const { clock, batcher } = setup();
    clock.advance(5000);
    const err = await batcher.submit(req(1, 1, { deadlineUs: 5000 })).catch((e: unknown) => e);
    expect(codeOf(err)).toBe('SLUICE_ERR_DEADLINE_EXCEEDED');
    expect(batcher.queuedRequests).toBe(0);
    expect(clock.pendingDeferred + clock.pendingTimers).toBe(0);
  });

  it('answers 504 at formation for requests whose deadline passed in the queue; they never run', async () => {
    const { clock, pool, batcher } = setup();
    const release = pool.occupy();
    const a = track(batcher.submit(req(1, 1, { deadlineUs: 500 })));
    const b = track(batcher.submit(req(2, 1)));
    const c = track(batcher.submit(req(3, 1, { deadlineUs: DELAY })));
    clock.advance(DELAY);
    await settle();
    expect(codeOf(a.error)).toBe('SLUICE_ERR_DEADLINE_EXCEEDED');
    expect((a.error as SluiceError).status).toBe(504);
    expect(codeOf(c.error)).toBe('SLUICE_ERR_DEADLINE_EXCEEDED');
    expect(b.done).toBe(false);
    expect(batcher.queuedRequests).toBe(1);
    expect(batcher.queuedRows).toBe(1);
    release();
    expect(pool.runs.map(rowIds)).toEqual([[2]]);
    expect(pool.runs[0]!.meta).toEqual({ batchId: 1, rows: 1, requests: 1, latestDeadlineUs: FAR, lane: 0 });
    expect(batcher.queuedRows).toBe(0);
  });

  it('answers 504 at hand-over for a request that expired in a formed batch; the others of the batch run', async () => {
    const { clock, pool, batcher } = setup();
    const release = pool.occupy();
    const a = track(batcher.submit(req(1, 1, { deadlineUs: 1500 })));
    const b = track(batcher.submit(req(2, 2)));
    const c = track(batcher.submit(req(3, 1, { deadlineUs: 1501 })));
    clock.advance(DELAY); // [1, 2, 2, 3] formed: every deadline is still ahead
    expect(batcher.queuedRows).toBe(4);
    clock.advance(500); // t = 1500: request 1's deadline passes while it waits for a worker
    release();
    expect(pool.runs.map(rowIds)).toEqual([[2, 2, 3]]);
    expect(pool.runs[0]!.meta).toEqual({ batchId: 1, rows: 3, requests: 2, latestDeadlineUs: FAR, lane: 0 });
    expect(batcher.queuedRows).toBe(0);
    expect(batcher.inflightRequests).toBe(2);
    pool.finish(0);
    await settle();
    expect(codeOf(a.error)).toBe('SLUICE_ERR_DEADLINE_EXCEEDED');
    expect((a.error as SluiceError).status).toBe(504);
    expectEcho(b.value, 2, 2);
    expect(b.value).toMatchObject({ batchRows: 3, queueUs: 1500, computeUs: 0 });
    expectEcho(c.value, 3, 1);
  });

  it('drops a cancelled request of a formed batch at hand-over with SLUICE_ERR_REQUEST_CANCELLED; the others run', async () => {
    const { clock, pool, batcher } = setup();
    const release = pool.occupy();
    let gone = false;
    const a = track(batcher.submit(req(1)));
    const b = track(batcher.submit(req(2, 1, { isCancelled: () => gone })));
    const c = track(batcher.submit(req(3)));
    clock.advance(DELAY); // [1, 2, 3] formed; 2 still wanted
    expect(batcher.queuedRequests).toBe(3);
    gone = true; // its client goes away while the batch waits for a worker
    release();
    expect(pool.runs.map(rowIds)).toEqual([[1, 3]]);
    expect(pool.runs[0]!.meta).toEqual({ batchId: 1, rows: 2, requests: 2, latestDeadlineUs: FAR, lane: 0 });
    pool.finish(0);
    await settle();
    expect(codeOf(b.error)).toBe('SLUICE_ERR_REQUEST_CANCELLED');
    expect((b.error as SluiceError).status).toBe(499);
    expectEcho(a.value, 1, 1);
    expectEcho(c.value, 3, 1);
  });

  it('a formed batch left with no live request never runs; the worker takes the next formed batch', async () => {
    const { clock, pool, batcher } = setup({ maxBatchSize: 2 });
    const release = pool.occupy();
    let gone = false;
    const a = track(batcher.submit(req(1, 1, { deadlineUs: 1500 })));
    const b = track(batcher.submit(req(2, 1, { isCancelled: () => gone }))); // [1, 2] formed: full
    const c = track(batcher.submit(req(3)));
    const d = track(batcher.submit(req(4))); // [3, 4] formed: full
    const drained = track(batcher.drain());
    expect(batcher.queuedRequests).toBe(4);
    clock.advance(1500);
    gone = true;
    release();
    expect(pool.runs.map(rowIds)).toEqual([[3, 4]]);
    expect(pool.runs[0]!.meta.batchId).toBe(1);
    pool.finish(0);
    await settle();
    expect(codeOf(a.error)).toBe('SLUICE_ERR_DEADLINE_EXCEEDED');
    expect(codeOf(b.error)).toBe('SLUICE_ERR_REQUEST_CANCELLED');
    expectEcho(c.value, 3, 1);
    expectEcho(d.value, 4, 1);
    expect(drained.done).toBe(true);
  });

  it('never calls run when every request of the batch expired', async () => {
    const { clock, pool, batcher } = setup();
    const release = pool.occupy();
    const a = track(batcher.submit(req(1, 1, { deadlineUs: 10 })));
    const drained = track(batcher.drain());
    clock.advance(20);
    release(); // notifyIdle: the only request is expired
    await settle();
    expect(pool.runs).toHaveLength(0);
    expect(codeOf(a.error)).toBe('SLUICE_ERR_DEADLINE_EXCEEDED');
    expect(drained.done).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('answers 504 at reply for a request whose deadline passed while running; its batch mates succeed', async () => {
    const { clock, pool, batcher } = setup({}, 1);
    const a = track(batcher.submit(req(1, 1, { deadlineUs: 1000 })));
    const b = track(batcher.submit(req(2, 2)));
    clock.runDeferred();
    expect(rowIds(pool.runs[0]!)).toEqual([1, 2, 2]);
    clock.advance(1500);
    pool.finish(0);
    await settle();
    expect(codeOf(a.error)).toBe('SLUICE_ERR_DEADLINE_EXCEEDED');
    expectEcho(b.value, 2, 2);
    expect(b.value).toMatchObject({ computeUs: 1500, batchRows: 3 });
  });

  it('rejects rows outside 1..maxBatchSize instead of queueing them', async () => {
    const { batcher } = setup({ maxBatchSize: 4 });
    expect(codeOf(await batcher.submit(req(1, 5)).catch((e: unknown) => e))).toBe('SLUICE_ERR_BATCH_TOO_LARGE');
    const empty = { inputs: [x(1, 0)], rows: 0, deadlineUs: FAR };
    expect(codeOf(await batcher.submit(empty).catch((e: unknown) => e))).toBe('SLUICE_ERR_BATCH_EMPTY');
    expect(batcher.queuedRequests).toBe(0);
  });

  it('refuses invalid config at construction', () => {
    const deps = { run: new FakePool(1).run, clock: new FakeClock(), hasIdleWorker: () => true, layout: X_LAYOUT };
    const base: BatchingConfig = { maxBatchSize: 8, maxQueueDelayUs: 100, preferredBatchSizes: [], maxQueueSize: 10 };
    for (const bad of [{ maxBatchSize: 0 }, { maxQueueDelayUs: -1 }, { maxQueueSize: 0 }, { preferredBatchSizes: [9] }]) {
      expect(() => new Batcher({ ...base, ...bad }, deps)).toThrowError(
        expect.objectContaining({ code: 'SLUICE_ERR_MODEL_CONFIG_INVALID' }),
      );
    }
  });
});

describe('Batcher: failures', () => {
  it('fails only the requests of the failed batch', async () => {
    const { clock, pool, batcher } = setup({ maxBatchSize: 1 }, 2);
    const a = track(batcher.submit(req(1)));
    const b = track(batcher.submit(req(2)));
    clock.runDeferred();
    expect(pool.runs.map(rowIds)).toEqual([[1], [2]]);
    const boom = new Error('onnx said no');
    pool.fail(0, boom);
    pool.finish(1);
    await settle();
    expect(codeOf(a.error)).toBe('SLUICE_ERR_INFERENCE_FAILED');
    expect((a.error as SluiceError).status).toBe(500);
    expect((a.error as Error).cause).toBe(boom);
    expectEcho(b.value, 2, 1);
  });

  it('passes a SluiceError from run() through unchanged', async () => {
    const { clock, pool, batcher } = setup();
    const a = track(batcher.submit(req(1)));
    const b = track(batcher.submit(req(2)));
    clock.runDeferred();
    const died = new SluiceError('SLUICE_ERR_WORKER_DIED', 'worker died');
    pool.fail(0, died);
    await settle();
    expect(a.error).toBe(died);
    expect(b.error).toBe(died);
  });

  it('treats a run() that throws synchronously like a rejection, and keeps serving', async () => {
    const boom = new TypeError('sync');
    let calls = 0;
    const { clock, pool, batcher } = setup({}, 1, (run) => (inputs, meta) => {
      if (calls++ === 0) throw boom;
      return run(inputs, meta);
    });
    const a = track(batcher.submit(req(1)));
    const b = track(batcher.submit(req(2)));
    clock.runDeferred();
    await settle();
    expect(codeOf(a.error)).toBe('SLUICE_ERR_INFERENCE_FAILED');
    expect((b.error as Error).cause).toBe(boom);
    expect(batcher.inflightBatches).toBe(0);
    expect(batcher.inflightRequests).toBe(0);

    const c = track(batcher.submit(req(3)));
    clock.runDeferred();
    expect(pool.runs[0]!.meta.batchId).toBe(2);
    pool.finish(0);
    await settle();
    expectEcho(c.value, 3, 1);
  });

  it('fails the batch when an output lost the batch dimension', async () => {
    const { clock, pool, batcher } = setup();
    const a = track(batcher.submit(req(1)));
    const b = track(batcher.submit(req(2)));
    clock.runDeferred();
    pool.finish(0, [{ name: 'y', datatype: 'FP32', shape: [1], data: new Float32Array(1) }]);
    await settle();
    expect(codeOf(a.error)).toBe('SLUICE_ERR_INFERENCE_FAILED');
    expect(codeOf(b.error)).toBe('SLUICE_ERR_INFERENCE_FAILED');
    expect(batcher.inflightBatches).toBe(0);
  });
});

describe('Batcher: close and drain', () => {
  it('close() rejects everything queued with its error; in-flight batches still answer', async () => {
    const { clock, pool, batcher } = setup({}, 1);
    const a = track(batcher.submit(req(1)));
    clock.runDeferred(); // 1 runs; the worker is busy now
    const b = track(batcher.submit(req(2)));
    const c = track(batcher.submit(req(3, 1, { priority: 1 })));
    expect(batcher.queuedRequests).toBe(2);
    expect(clock.pendingTimers).toBe(1);
    const shutdown = new SluiceError('SLUICE_ERR_SHUTTING_DOWN', 'draining');
    batcher.close(shutdown);
    expect(batcher.queuedRequests).toBe(0);
    expect(batcher.queuedRows).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    await settle();
    expect(b.error).toBe(shutdown);
    expect(c.error).toBe(shutdown);
    expect(a.done).toBe(false);
    expect(await batcher.submit(req(4)).catch((e: unknown) => e)).toBe(shutdown);

    pool.finish(0); // notifyIdle after close: nothing to run
    await settle();
    expectEcho(a.value, 1, 1);
    expect(pool.runs).toHaveLength(1);
  });

  it('close() also rejects formed batches waiting for a worker; they never run', async () => {
    const { pool, batcher } = setup({ maxBatchSize: 2 });
    const release = pool.occupy();
    const a = track(batcher.submit(req(1)));
    const b = track(batcher.submit(req(2))); // [1, 2] formed
    const c = track(batcher.submit(req(3)));
    expect(batcher.queuedRequests).toBe(3);
    const shutdown = new SluiceError('SLUICE_ERR_SHUTTING_DOWN', 'draining');
    batcher.close(shutdown);
    expect(batcher.queuedRequests).toBe(0);
    expect(batcher.queuedRows).toBe(0);
    const drained = track(batcher.drain());
    release();
    await settle();
    expect([a.error, b.error, c.error]).toEqual([shutdown, shutdown, shutdown]);
    expect(pool.runs).toHaveLength(0);
    expect(drained.done).toBe(true);
  });

  it('drain() resolves only once the queue is empty and no batch is in flight', async () => {
    const { clock, pool, batcher } = setup({}, 1);
    await batcher.drain(); // nothing to wait for
    void batcher.submit(req(1));
    clock.runDeferred();
    void batcher.submit(req(2)); // worker busy: queued behind the timer
    const drained = track(batcher.drain());
    await settle();
    expect(drained.done).toBe(false);
    pool.finish(0); // notifyIdle runs request 2
    await settle();
    expect(pool.runs.map(rowIds)).toEqual([[1], [2]]);
    expect(drained.done).toBe(false);
    pool.finish(1);
    await settle();
    expect(drained.done).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('drain() after close() waits for in-flight batches only', async () => {
    const { clock, pool, batcher } = setup({}, 1);
    void batcher.submit(req(1));
    clock.runDeferred();
    void batcher.submit(req(2)).catch(() => {});
    batcher.close(new SluiceError('SLUICE_ERR_SHUTTING_DOWN', 'bye'));
    const drained = track(batcher.drain());
    await settle();
    expect(drained.done).toBe(false);
    pool.finish(0);
    await settle();
    expect(drained.done).toBe(true);
  });
});

describe('systemClock', () => {
  it('measures µs, fires timers no earlier than asked, clears them, and defers', async () => {
    const t0 = systemClock.nowUs();
    const firedAt = await new Promise<number>((resolve) => systemClock.setTimer(() => resolve(systemClock.nowUs()), 3000));
    // Node counts timers from the loop's cached time, so one may fire up to ~1 ms early; the
    // batcher re-checks what is overdue when its timer fires.
    expect(firedAt - t0).toBeGreaterThanOrEqual(1000);
    let cleared = false;
    const h = systemClock.setTimer(() => (cleared = true), 1000);
    systemClock.clearTimer(h);
    let deferred = false;
    systemClock.defer(() => (deferred = true));
    expect(deferred).toBe(false);
    await new Promise((r) => setTimeout(r, 10));
    expect(deferred).toBe(true);
    expect(cleared).toBe(false);
  });
});

describe('Batcher: pipelined pool (canQueueBatch)', () => {
  it('queues a full batch behind the running one; partial batches still wait for an idle worker', async () => {
    const { clock, pool, batcher } = setup({ maxBatchSize: 2 }, 1, undefined, true);
    const done = [1, 2, 3, 4, 5, 6].map((id) => {
      const p = track(batcher.submit(req(id, 1, { deadlineUs: 1e9 + id })));
      if (id === 1) clock.runDeferred(); // [1] starts alone on the idle worker
      return p;
    });
    // [2, 3] is full: it waits at the worker; [4, 5] finds the worker's queue taken and waits
    // in the batcher; [6] is partial and gathers.
    expect(pool.runs.map(rowIds)).toEqual([[1], [2, 3]]);
    expect(pool.runs.map((r) => r.started)).toEqual([true, false]);
    expect(pool.runs[1]!.meta.latestDeadlineUs).toBe(1e9 + 3);
    expect(batcher.queuedRequests).toBe(3);
    pool.finish(0); // [2, 3] starts and [4, 5] takes the free place behind it
    expect(pool.runs.map(rowIds)).toEqual([[1], [2, 3], [4, 5]]);
    expect(pool.runs.map((r) => r.started)).toEqual([true, true, false]);
    expect(batcher.queuedRequests).toBe(1);
    pool.finish(1);
    pool.finish(2); // the worker goes idle: [6] runs without waiting for its timer
    expect(pool.runs.map(rowIds)).toEqual([[1], [2, 3], [4, 5], [6]]);
    pool.finish(3);
    await settle();
    done.forEach((d, i) => expectEcho(d.value, i + 1, 1));
  });

  it('without canQueueBatch a full batch waits in the batcher for an idle worker', () => {
    const { clock, pool, batcher } = setup({ maxBatchSize: 2 }, 1, undefined, false);
    void batcher.submit(req(1));
    clock.runDeferred();
    void batcher.submit(req(2));
    void batcher.submit(req(3));
    expect(pool.runs.map(rowIds)).toEqual([[1]]);
    expect(batcher.queuedRequests).toBe(2);
    pool.finish(0);
    expect(pool.runs.map(rowIds)).toEqual([[1], [2, 3]]);
    expect(pool.runs[1]!.started).toBe(true);
  });
});

describe('Batcher: batch layouts', () => {
  /** State "h" of shape [2, rows, 4] batched on dim 1; every value encodes id*1000 + layer*100 + row*10 + col. */
  function h(id: number, rows: number, width = 4): Tensor {
    const data = new Float32Array(2 * rows * width);
    for (let l = 0; l < 2; l++) {
      for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) data[(l * rows + r) * width + c] = id * 1000 + l * 100 + r * 10 + c;
    }
    return { name: 'h', datatype: 'FP32', shape: [2, rows, width], data };
  }
  const H_LAYOUT: BatchLayout = { inputs: [{ name: 'h', batchDim: 1 }], outputs: [{ name: 'y_h', batchDim: 1 }] };
  const cfg: BatchingConfig = { maxBatchSize: 8, maxQueueDelayUs: DELAY, preferredBatchSizes: [], maxQueueSize: 64 };

  it('merges along the layout batch dim and answers each request exactly its own slice', async () => {
    const clock = new FakeClock();
    const pool = new FakePool(1);
    const batcher = new Batcher(cfg, { run: pool.run, clock, hasIdleWorker: pool.hasIdleWorker, layout: H_LAYOUT });
    pool.onIdle = () => batcher.notifyIdle();
    const sizes: Array<[id: number, rows: number, width: number]> = [
      [1, 1, 4],
      [2, 3, 4],
      [3, 1, 5], // another non-batch dim: another batch
      [4, 2, 4],
    ];
    const done = sizes.map(([id, rows, width]) => track(batcher.submit({ inputs: [h(id, rows, width)], rows, deadlineUs: FAR })));
    clock.runDeferred();
    expect(pool.runs).toHaveLength(1);
    const batch = pool.runs[0]!;
    expect(batch.inputs[0]!.shape).toEqual([2, 6, 4]);
    expect(batch.meta).toMatchObject({ rows: 6, requests: 3 });
    // Layer 1, column 0 of the 6 rows: requests 1, 2, 2, 2, 4, 4 in turn.
    const data = batch.inputs[0]!.data as Float32Array;
    expect(Array.from({ length: 6 }, (_, r) => data[(6 + r) * 4])).toEqual([1100, 2100, 2110, 2120, 4100, 4110]);
    pool.finish(0); // echo: y_h = the merged h; the worker frees and request 3 runs alone
    expect(pool.runs[1]!.inputs[0]!.shape).toEqual([2, 1, 5]);
    pool.finish(1);
    await settle();
    done.forEach((d, i) => {
      const [id, rows, width] = sizes[i]!;
      const out = d.value!.outputs;
      expect(out.map((t) => [t.name, t.shape])).toEqual([['y_h', [2, rows, width]]]);
      expect(Array.from(out[0]!.data as Float32Array)).toEqual(Array.from(h(id, rows, width).data as Float32Array));
      expect(out[0]!.data.buffer.byteLength).toBe(out[0]!.data.byteLength); // its own copy
    });
  });

  it('rejects a request lacking a layout input without queueing it', async () => {
    const pool = new FakePool(1);
    const batcher = new Batcher(cfg, { run: pool.run, clock: new FakeClock(), hasIdleWorker: pool.hasIdleWorker, layout: H_LAYOUT });
    const err = await batcher.submit(req(1)).catch((e: unknown) => e);
    expect(codeOf(err)).toBe('SLUICE_ERR_SERVER_INTERNAL');
    expect(batcher.queuedRequests).toBe(0);
  });

  it('refuses a layout it cannot batch at construction', () => {
    const base = { run: new FakePool(1).run, clock: new FakeClock(), hasIdleWorker: () => true };
    const bad: BatchLayout[] = [
      { inputs: [{ name: 'x', batchDim: -1 }], outputs: [] },
      { inputs: [{ name: 'x', batchDim: 1.5 }], outputs: [] },
      { inputs: [{ name: 'x', batchDim: 0 }, { name: 'x', batchDim: 1 }], outputs: [] },
      { inputs: [{ name: 'x', batchDim: 0 }], outputs: [{ name: 'y', batchDim: null }] }, // maxBatchSize 8
    ];
    for (const layout of bad) {
      expect(() => new Batcher(cfg, { ...base, layout })).toThrowError(
        expect.objectContaining({ code: 'SLUICE_ERR_MODEL_CONFIG_INVALID' }),
      );
    }
    const unbatched: BatchLayout = { inputs: [{ name: 'x', batchDim: null }], outputs: [{ name: 'y', batchDim: null }] };
    expect(() => new Batcher({ ...cfg, maxBatchSize: 1 }, { ...base, layout: unbatched })).not.toThrow();
  });
});
