// The dynamic batcher of one model version: admits requests into a bounded queue, forms batches
// of requests with equal shapeKey (dims other than the batch dim, unbatched values), hands each
// batch to the injected run(), and splits the answers back along the layout's batch dims.
// It knows no worker pool, no ONNX and no real time: run(), hasIdleWorker() and the clock are
// injected (DESIGN §2, §6).

import { refusalError, SluiceError } from '../errors.js';
import type { BatchingConfig, Tensor } from '../types.js';
import { admissionRefusal, cancelledError, deadlineError, ServiceRateEstimator, WaitCalibration, type AdmissionAsk } from './admission.js';
import {
  freezeBatchingConfig,
  freezeLayout,
  type BatchLayout,
  type BatchOutcome,
  type BatcherDeps,
  type PendingRequest,
  type RunResult,
  type TensorLayout,
} from './api.js';
import { takeBatch, type Queued } from './form.js';
import { mergeInputs, shapeKey, splitOutputs } from './merge.js';

export type { BatchLayout, BatchMeta, BatchOutcome, BatcherDeps, PendingRequest, RunBatch, RunResult, TensorLayout } from './api.js';
export { systemClock, type Clock } from './clock.js';

interface Entry extends Queued {
  lane: 0 | 1;
  inputs: Tensor[];
  enqueuedUs: number;
  resolve: (outcome: BatchOutcome) => void;
  reject: (err: SluiceError) => void;
}

type Trigger = 'idle' | 'full' | 'timer';

/**
 * Policy (docs/batching.md says it for users):
 * - Admission: a request is refused at once (rejected promise, nothing queued) with
 *   SLUICE_ERR_QUEUE_FULL when queued + in-flight requests ≥ maxQueueSize, so that memory held by
 *   this version stays bounded even while dispatched batches wait in the pool's queue; with
 *   SLUICE_ERR_DEADLINE_EXCEEDED when its deadline already passed; with SLUICE_ERR_ADMISSION_REFUSED
 *   when its predicted p99 completion misses the deadline (admission.ts); with the close() error
 *   after close(). refusalFor() answers the same question without queueing. These count lane 0
 *   only: a lane-1 request (priority > 0) is refused only by its own bound (QUEUE_FULL at
 *   maxShadowQueueSize, else maxQueueSize), a passed deadline, or close().
 * - Idle worker at submit: one flush is deferred (clock.defer) so that requests parsed in the same
 *   event-loop turn share a batch; it forms batches while hasIdleWorker() and the queue is non-empty.
 * - Otherwise gather: queued rows ≥ maxBatchSize closes full batches at once; else one timer is
 *   armed for the oldest request's enqueuedUs + maxQueueDelayUs and, on fire, every batch
 *   holding an overdue request is closed. A closed batch goes to run() when a worker is idle;
 *   a full one also when canQueueBatch() (it waits at the worker behind the running batch, so
 *   the worker never idles between full batches; a client that goes away after that hand-over
 *   is not noticed until the answer). The others wait in `formed`. notifyIdle() flushes.
 * - Formation: see takeBatch() — lane 0 before lane 1, FIFO, same shapeKey (equal dims other than
 *   each input's batch dim, equal unbatched inputs), ≤ maxBatchSize rows, cut at
 *   preferredBatchSizes unless the timer is the trigger. Inputs merge along their batch dims
 *   (mergeInputs); outputs split along theirs (splitOutputs).
 * - Deadlines: expired at dispatch → rejected, never run; expired at reply → rejected (504).
 * Single-threaded: every method runs on the event loop; run() may re-enter submit()/notifyIdle().
 */
export class Batcher {
  private readonly cfg: Readonly<BatchingConfig>;
  private readonly deps: BatcherDeps;
  /** deps.layout, checked and frozen: the order run() receives inputs in, and how outputs split. */
  private readonly inputLayout: readonly TensorLayout[];
  private readonly outputLayout: readonly TensorLayout[];
  private readonly lanes: [Entry[], Entry[]] = [[], []];
  private rowsQueued = 0;
  /**
   * Batches closed by the full or timer trigger while no worker could take them (see
   * canQueueBatch). They wait here, not in the pool's queue, so that deadlines and cancellation
   * are checked again at hand-over and a request that can no longer be useful never reaches a
   * worker.
   */
  private readonly formed: { batch: Entry[]; rows: number; full: boolean }[] = [];
  private formedRequests = 0;
  private formedRows = 0;
  private batchesInflight = 0;
  private requestsInflight = 0;
  /** Lane-1 requests queued (in lane 1) and running: their own bound, apart from maxQueueSize. */
  private lowHeld = 0;
  /** Lane-1 rows queued: they never count towards a full batch of lane 0. */
  private lowRowsQueued = 0;
  private readonly maxLowPriorityQueue: number;
  /**
   * The one refusal of a full low-priority lane (its message and Retry-After never change): under
   * shadow traffic it is the common outcome of a copy, and building an error for each cost ~8 µs
   * on the event loop in a running server (measured, 16-row digits-wide copies at 731 req/s).
   */
  private readonly lowPriorityFull: SluiceError;
  /** False while a freed worker is offered to primary work only (notifyIdle(true)). */
  private lowAllowed = true;
  private lastBatchId = 0;
  private timer: unknown = undefined;
  private timerDueUs = 0;
  private deferPending = false;
  private pumping = false;
  private repump = false;
  private closedWith: SluiceError | undefined;
  private drainWaiters: Array<() => void> = [];
  private readonly rate: ServiceRateEstimator;
  private readonly calibration = new WaitCalibration();
  private lastReplyUs = 0;

  constructor(config: BatchingConfig, deps: BatcherDeps) {
    this.cfg = freezeBatchingConfig(config);
    this.deps = deps;
    const layout = freezeLayout(deps.layout, this.cfg.maxBatchSize);
    this.inputLayout = layout.inputs;
    this.outputLayout = layout.outputs;
    this.rate = new ServiceRateEstimator(deps.parallelism ?? 1);
    this.maxLowPriorityQueue = this.cfg.maxShadowQueueSize ?? this.cfg.maxQueueSize;
    this.lowPriorityFull = refusalError('SLUICE_ERR_QUEUE_FULL', `low-priority queue full (${this.maxLowPriorityQueue} requests)`, { retryAfterS: 1 });
  }

  /** Requests not yet handed to a worker (in a lane or in a formed batch). */
  get queuedRequests(): number {
    return this.lanes[0].length + this.lanes[1].length + this.formedRequests;
  }
  get queuedRows(): number {
    return this.rowsQueued + this.formedRows;
  }
  /** Batches handed to run() and not yet settled (running or waiting in the pool's queue). */
  get inflightBatches(): number {
    return this.batchesInflight;
  }
  get inflightRequests(): number {
    return this.requestsInflight;
  }
  get serviceRowsPerSecond(): number {
    return this.rate.rowsPerSecond;
  }

  /**
   * Why a request of `ask.rows` rows with this deadline would be refused if submitted now, or
   * undefined: the rule submit() applies (admission.ts), without queueing anything. A transport
   * asks with rows = 1 before decoding a body: a refusal then holds for any size of request, and
   * undefined promises nothing (submit() decides again).
   */
  refusalFor(ask: AdmissionAsk): SluiceError | undefined {
    return this.admission(ask, this.deps.clock.nowUs()).refusal;
  }

  /** The admission decision and the model's predicted wait it rests on (undefined: not calibrated). */
  private admission(ask: AdmissionAsk, nowUs: number, lane: 0 | 1 = 0): { refusal: SluiceError | undefined; modelWaitUs: number | undefined } {
    if (this.closedWith) return { refusal: this.closedWith, modelWaitUs: undefined };
    if (lane === 1) {
      // Low priority waits for idle workers only: no wait prediction, just its own bound and the deadline.
      if (this.lowHeld >= this.maxLowPriorityQueue) {
        return { refusal: this.lowPriorityFull, modelWaitUs: undefined };
      }
      return { refusal: ask.deadlineUs <= nowUs ? deadlineError('before queueing') : undefined, modelWaitUs: undefined };
    }
    const modelWaitUs = this.rate.calibrated
      ? this.rate.predictWaitUs(this.queuedRows, this.batchesInflight, ask.rows, this.cfg.maxBatchSize)
      : undefined;
    const refusal = admissionRefusal(ask, nowUs, this.cfg, {
      held: this.queuedRequests + this.requestsInflight - this.lowHeld,
      waitUs: modelWaitUs === undefined ? undefined : modelWaitUs * this.calibration.factor,
    });
    return { refusal, modelWaitUs };
  }

  /**
   * Queues a request; resolves with its outputs or rejects with a SluiceError (see class policy).
   * A request lacking an input of the layout rejects with SLUICE_ERR_SERVER_INTERNAL, queued never.
   */
  submit(req: PendingRequest): Promise<BatchOutcome> {
    const nowUs = this.deps.clock.nowUs();
    const lane: 0 | 1 = (req.priority ?? 0) > 0 ? 1 : 0;
    const { refusal, modelWaitUs } = this.admission(req, nowUs, lane);
    if (refusal) return Promise.reject(refusal);
    const closeCall = modelWaitUs !== undefined && this.calibration.isCloseCall(modelWaitUs, req.deadlineUs - (req.receivedUs ?? nowUs));
    return new Promise<BatchOutcome>((resolve, reject) => {
      const entry: Entry = {
        lane,
        inputs: req.inputs,
        key: shapeKey(req.inputs, this.inputLayout),
        rows: req.rows,
        deadlineUs: req.deadlineUs,
        isCancelled: req.isCancelled,
        enqueuedUs: nowUs,
        resolve,
        reject,
      };
      if (closeCall) {
        // Report how long a close call really waited (WaitCalibration); expiry counts as late.
        const report = (): void => this.calibration.observe(modelWaitUs, this.deps.clock.nowUs() - nowUs);
        entry.resolve = (outcome) => {
          report();
          resolve(outcome);
        };
        entry.reject = (err) => {
          if (err.code === 'SLUICE_ERR_DEADLINE_EXCEEDED') report();
          reject(err);
        };
      }
      this.lanes[lane].push(entry);
      if (lane === 1) {
        this.lowHeld++;
        this.lowRowsQueued += req.rows;
        const done = (): void => {
          this.lowHeld--;
        };
        const { resolve: res, reject: rej } = entry;
        entry.resolve = (o) => {
          done();
          res(o);
        };
        entry.reject = (e) => {
          done();
          rej(e);
        };
      } else {
        this.rowsQueued += req.rows;
      }
      this.afterSubmit(lane);
    });
  }

  /**
   * The pool calls this whenever a worker frees up: forms batches while one stays idle.
   * `primaryOnly`: the pool offers the worker to lane-0 work first (every version's), then calls
   * again without it, so low-priority work takes a worker only when no version has primary work.
   */
  notifyIdle(primaryOnly = false): void {
    if (this.queuedRequests === 0) return;
    this.lowAllowed = !primaryOnly;
    try {
      this.pump(false);
    } finally {
      this.lowAllowed = true;
    }
  }

  /** True when lane 0 holds requests not yet handed to a worker. */
  get hasPrimaryWork(): boolean {
    return this.lanes[0].length > 0 || this.formedRequests > 0;
  }

  /** Rejects every queued lane-1 request with `err` (a drain must not wait for shadow copies). */
  dropLowPriority(err: SluiceError): void {
    const queued = this.lanes[1].splice(0);
    this.lowRowsQueued = 0;
    for (const e of queued) e.reject(err);
    this.settleDrain();
  }

  /** Resolves once the queue is empty and no batch is in flight. Does not hurry the timer. */
  drain(): Promise<void> {
    if (this.isDrained()) return Promise.resolve();
    return new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * Rejects every queued request with `err` and every later submit() too. Batches already handed
   * to run() still finish and answer normally. Idempotent; the first error sticks.
   */
  close(err: SluiceError): void {
    this.closedWith ??= err;
    this.clearTimer();
    const queued = [...this.formed.flatMap((f) => f.batch), ...this.lanes[0], ...this.lanes[1]];
    this.lanes[0].length = 0;
    this.lanes[1].length = 0;
    this.formed.length = 0;
    this.rowsQueued = this.formedRows = this.formedRequests = this.lowRowsQueued = 0;
    for (const e of queued) e.reject(err);
    this.settleDrain();
  }

  private afterSubmit(lane: 0 | 1): void {
    if (this.deferPending) return; // the deferred flush will see this request
    if (this.pumping) {
      this.repump = true; // submit() from inside run(): the running pump loops again
      return;
    }
    if (lane === 0 ? this.deps.hasIdleWorker() : this.lowWorkerIdle()) {
      this.deferPending = true;
      this.deps.clock.defer(this.onDefer);
    } else if (this.rowsQueued >= this.cfg.maxBatchSize) {
      this.pump(false);
    } else {
      this.syncTimer();
    }
  }

  private readonly onDefer = (): void => {
    this.deferPending = false;
    this.pump(false);
  };

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.pump(true);
  };

  /** Dispatches what the policy allows now, then re-arms or clears the timer. Not re-entrant. */
  private pump(timerFired: boolean): void {
    if (this.pumping) {
      this.repump = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.repump = false;
        if (timerFired) {
          timerFired = false;
          const nowUs = this.deps.clock.nowUs();
          // An early or late timer is harmless: only requests that are really overdue go.
          for (let o = this.oldest(); o && o.enqueuedUs + this.cfg.maxQueueDelayUs <= nowUs; o = this.oldest()) {
            this.dispatchOne('timer', nowUs);
          }
        }
        while (this.rowsQueued >= this.cfg.maxBatchSize) this.dispatchOne('full', this.deps.clock.nowUs());
        while (this.formed.length > 0 && this.mayHandOver(this.formed[0]!.full)) this.handOver(this.deps.clock.nowUs());
        for (let lane = this.idleLane(); lane !== undefined; lane = this.idleLane()) {
          this.dispatchOne('idle', this.deps.clock.nowUs(), lane);
        }
      } while (this.repump);
    } finally {
      this.pumping = false;
    }
    this.syncTimer();
  }

  /** The lane whose next batch an idle worker could take now: lane 0 first. */
  private idleLane(): 0 | 1 | undefined {
    if (this.lanes[0].length > 0 && this.deps.hasIdleWorker()) return 0;
    if (this.lowAllowed && this.lanes[1].length > 0 && this.lowWorkerIdle()) return 1;
    return undefined;
  }

  /** A lane-1 batch could start now: on its own pool's idle worker, else on an idle shared one with lane 0 empty. */
  private lowWorkerIdle(): boolean {
    const own = this.deps.hasIdleLowPriorityWorker;
    return own !== undefined ? own() : this.lanes[0].length === 0 && this.deps.hasIdleWorker();
  }

  /** Any formed batch may start on an idle worker; only a full one may queue behind a running batch. */
  private mayHandOver(full: boolean): boolean {
    if (this.deps.hasIdleWorker()) return true;
    return full && this.deps.canQueueBatch !== undefined && this.deps.canQueueBatch();
  }

  /** Takes one batch (removing ≥ 1 request from the queue) and runs it. */
  private dispatchOne(trigger: Trigger, nowUs: number, idleLane?: 0 | 1): void {
    // Only the idle trigger reaches lane 1 (full and timer batches are lane 0's: rowsQueued and oldest() count only it).
    const laneNo: 0 | 1 = idleLane ?? (this.lanes[0].length > 0 ? 0 : 1);
    const lane = this.lanes[laneNo];
    const { batch, rows, expired } = takeBatch(lane, {
      maxBatchSize: this.cfg.maxBatchSize,
      preferredBatchSizes: this.cfg.preferredBatchSizes,
      cutAtPreferred: trigger !== 'timer',
      nowUs,
    });
    const counted = (r: number): void => {
      if (laneNo === 0) this.rowsQueued -= r;
      else this.lowRowsQueued -= r;
    };
    counted(rows);
    for (const e of expired) {
      counted(e.rows);
      e.reject(e.isCancelled?.() === true ? cancelledError() : deadlineError('while queued'));
    }
    if (batch.length === 0) this.settleDrain();
    else if (trigger === 'idle') this.runBatch(batch, rows, nowUs, laneNo);
    else {
      this.formed.push({ batch, rows, full: trigger === 'full' });
      this.formedRequests += batch.length;
      this.formedRows += rows;
    }
  }

  /** Runs the oldest formed batch without the requests that expired or were cancelled meanwhile. */
  private handOver(nowUs: number): void {
    const f = this.formed.shift()!;
    this.formedRequests -= f.batch.length;
    this.formedRows -= f.rows;
    const live: Entry[] = [];
    let rows = 0;
    for (const e of f.batch) {
      if (e.isCancelled?.() === true) e.reject(cancelledError());
      else if (e.deadlineUs <= nowUs) e.reject(deadlineError('while queued'));
      else {
        live.push(e);
        rows += e.rows;
      }
    }
    if (live.length > 0) this.runBatch(live, rows, nowUs, 0);
    else this.settleDrain();
  }

  private runBatch(batch: Entry[], rows: number, dispatchUs: number, lane: 0 | 1): void {
    const batchId = ++this.lastBatchId;
    this.batchesInflight++;
    this.requestsInflight += batch.length;
    let latestDeadlineUs = 0;
    for (const e of batch) if (e.deadlineUs > latestDeadlineUs) latestDeadlineUs = e.deadlineUs;
    let pending: Promise<Tensor[] | RunResult>;
    try {
      const inputs = mergeInputs(batch.map((e) => e.inputs), this.inputLayout);
      pending = Promise.resolve(this.deps.run(inputs, { batchId, rows, requests: batch.length, latestDeadlineUs, lane }));
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (r) => {
        if (Array.isArray(r)) this.reply(batch, r, true, batchId, rows, dispatchUs);
        else this.reply(batch, r.outputs, r.calibrates, batchId, rows, dispatchUs);
      },
      (err: unknown) => this.fail(batch, err),
    );
  }

  private reply(batch: Entry[], outputs: Tensor[], calibrates: boolean, batchId: number, batchRows: number, dispatchUs: number): void {
    const replyUs = this.deps.clock.nowUs();
    if (calibrates) {
      // Service time, not time spent waiting behind another batch in the pool's queue.
      this.rate.observe(batchRows, replyUs - Math.max(dispatchUs, this.lastReplyUs));
      this.lastReplyUs = replyUs;
    }
    let parts: Tensor[][];
    try {
      parts = splitOutputs(outputs, batch.map((e) => e.rows), this.outputLayout);
    } catch (err) {
      this.fail(batch, err);
      return;
    }
    this.release(batch);
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i]!;
      if (e.deadlineUs <= replyUs) {
        e.reject(deadlineError('while running'));
      } else {
        e.resolve({ outputs: parts[i]!, batchId, batchRows, queueUs: dispatchUs - e.enqueuedUs, computeUs: replyUs - dispatchUs });
      }
    }
    this.settleDrain();
  }

  private fail(batch: Entry[], err: unknown): void {
    this.release(batch);
    const error =
      err instanceof SluiceError ? err : new SluiceError('SLUICE_ERR_INFERENCE_FAILED', 'inference failed', { cause: err });
    for (const e of batch) e.reject(error);
    this.settleDrain();
  }

  private release(batch: Entry[]): void {
    this.batchesInflight--;
    this.requestsInflight -= batch.length;
  }

  /** The oldest lane-0 request: only lane 0 has a queue-delay timer (lane 1 waits for idle workers). */
  private oldest(): Entry | undefined {
    return this.lanes[0][0];
  }

  /** One timer at most, due at the oldest request's enqueuedUs + maxQueueDelayUs; none when empty. */
  private syncTimer(): void {
    const oldest = this.oldest();
    if (oldest === undefined || this.formedRows >= this.cfg.maxBatchSize) {
      this.clearTimer();
      return;
    }
    const dueUs = oldest.enqueuedUs + this.cfg.maxQueueDelayUs;
    if (this.timer !== undefined && this.timerDueUs === dueUs) return;
    this.clearTimer();
    this.timerDueUs = dueUs;
    this.timer = this.deps.clock.setTimer(this.onTimer, dueUs - this.deps.clock.nowUs());
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    this.deps.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private isDrained(): boolean {
    return this.queuedRequests === 0 && this.batchesInflight === 0;
  }

  private settleDrain(): void {
    if (this.drainWaiters.length === 0 || !this.isDrained()) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}
