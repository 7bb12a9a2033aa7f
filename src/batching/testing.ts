// Test doubles for the batching seams: a clock driven by hand and a worker pool whose batches
// finish when the test says so. Production code never imports this module.

import type { Tensor } from '../types.js';
import type { BatchMeta, RunBatch } from './batcher.js';
import type { Clock } from './clock.js';

/** A Clock whose time moves only through advance(); timers fire in due order, each at its due time. */
export class FakeClock implements Clock {
  private now: number;
  private nextId = 0;
  private readonly timers = new Map<number, { dueUs: number; fn: () => void }>();
  private deferred: Array<() => void> = [];

  constructor(startUs = 0) {
    this.now = startUs;
  }

  nowUs(): number {
    return this.now;
  }
  setTimer(fn: () => void, delayUs: number): unknown {
    const id = ++this.nextId;
    this.timers.set(id, { dueUs: this.now + Math.max(0, delayUs), fn });
    return id;
  }
  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  defer(fn: () => void): void {
    this.deferred.push(fn);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }
  get pendingDeferred(): number {
    return this.deferred.length;
  }
  /** Due time of the earliest pending timer, or undefined. */
  get nextTimerDueUs(): number | undefined {
    let due: number | undefined;
    for (const t of this.timers.values()) if (due === undefined || t.dueUs < due) due = t.dueUs;
    return due;
  }

  /** Runs deferred callbacks, including those deferred meanwhile (the "setImmediate" phase). */
  runDeferred(): void {
    while (this.deferred.length > 0) {
      const batch = this.deferred;
      this.deferred = [];
      for (const fn of batch) fn();
    }
  }

  /**
   * Moves time forward by `us`, firing every timer that falls due on the way at its due time.
   * Throws if timers keep re-arming at a time already reached (a busy loop), instead of hanging.
   */
  advance(us: number): void {
    const target = this.now + us;
    for (let fired = 0; ; fired++) {
      if (fired >= 10_000) throw new Error('FakeClock: over 10000 timers fired in one advance(); a timer keeps re-arming');
      let id = -1;
      let due = Infinity;
      for (const [k, t] of this.timers) if (t.dueUs <= target && t.dueUs < due) [id, due] = [k, t.dueUs];
      if (id < 0) break;
      const timer = this.timers.get(id)!;
      this.timers.delete(id);
      this.now = Math.max(this.now, timer.dueUs);
      timer.fn();
    }
    this.now = target;
  }
}

export interface FakeRun {
  inputs: Tensor[];
  meta: BatchMeta;
  /** True once a worker took it (false while it waits in the pool's queue). */
  started: boolean;
  settled: boolean;
  resolve(outputs: Tensor[]): void;
  reject(err: unknown): void;
}

/**
 * A pool of `workers` workers. run() takes an idle worker synchronously (so hasIdleWorker()
 * turns false before it returns) or queues the batch FIFO. finish()/fail() settle a batch,
 * free its worker (starting the next queued batch on it) and call onIdle(), as the real pool
 * does after every completion.
 */
export class FakePool {
  readonly runs: FakeRun[] = [];
  onIdle: () => void = () => {};
  private active = 0;
  private readonly waiting: FakeRun[] = [];

  constructor(readonly workers: number) {}

  readonly hasIdleWorker = (): boolean => this.active < this.workers;

  /** Pipelined pools (see BatcherDeps.canQueueBatch): one batch may wait per worker. */
  readonly canQueueBatch = (): boolean => this.active + this.waiting.length < this.workers * 2;

  readonly run: RunBatch = (inputs, meta) =>
    new Promise<Tensor[]>((resolve, reject) => {
      const r: FakeRun = { inputs, meta, started: false, settled: false, resolve, reject };
      this.runs.push(r);
      if (this.active < this.workers) {
        this.active++;
        r.started = true;
      } else {
        this.waiting.push(r);
      }
    });

  /** Occupies a worker from outside (another version's batch); returns the release function. */
  occupy(): () => void {
    this.active++;
    return () => this.free();
  }

  /** Resolves run `i` with `outputs` (default: echo every input as "y_<name>"). */
  finish(i: number, outputs?: Tensor[]): void {
    const r = this.take(i);
    r.resolve(outputs ?? echo(r.inputs));
    if (r.started) this.free();
    else this.waiting.splice(this.waiting.indexOf(r), 1);
  }

  fail(i: number, err: unknown): void {
    const r = this.take(i);
    r.reject(err);
    if (r.started) this.free();
    else this.waiting.splice(this.waiting.indexOf(r), 1);
  }

  private take(i: number): FakeRun {
    const r = this.runs[i];
    if (r === undefined || r.settled) throw new Error(`FakePool: no unsettled run ${i}`);
    r.settled = true;
    return r;
  }

  private free(): void {
    const next = this.waiting.shift();
    if (next !== undefined) {
      next.started = true;
      this.onIdle(); // like the real pool: every completion frees a slot
      return;
    }
    this.active--;
    this.onIdle();
  }
}

/** Identity model: every input comes back as output "y_<name>", copied. */
export function echo(inputs: Tensor[]): Tensor[] {
  return inputs.map((t) => ({ name: `y_${t.name}`, datatype: t.datatype, shape: [...t.shape], data: t.data.slice() }));
}
