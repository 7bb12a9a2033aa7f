// The one way a loaded version's batches run (DESIGN §2): in the device pool's workers, or on the
// main thread through the version's inline runner when that is cheaper (see inline.ts for why).
// Which of the two runs a batch is decided here and nowhere else; callers only learn where it ran.
//
// Ownership: an executor is created after pool.load(spec) succeeded and from then on owns the
// version's sessions, the workers' and the inline one: release() frees both.
import type { Tensor } from '../types.js';
import { createInlineRunner, type InlineRunner } from './inline.js';
import type { SessionSpec, WireTensor } from './messages.js';
import type { IdleListener, InferencePool } from './pool.js';

/** Where a batch ran: on the main thread, or in one of the pool's workers. */
export type BatchWhere = 'inline' | 'worker';

/** One batch handed to the executor. */
export interface ExecutorRun {
  /** Decided before run() returns, so callers can count the batch at dispatch. */
  readonly where: BatchWhere;
  /**
   * The outputs, in outputNames order, or a rejection with the SluiceError the batch's requests
   * get: the same codes from either place (run-failure.ts), SLUICE_ERR_WORKER_DIED (+ Retry-After)
   * and SLUICE_ERR_DEADLINE_EXCEEDED from a worker only.
   */
  readonly outputs: Promise<Tensor[]>;
}

export interface Executor {
  /** Largest batch that may run inline (0: never) and its measured batch-1 µs (0: no runner). */
  readonly inline: { readonly maxRows: number; readonly batch1Us: number };
  /** Batches that run at the same time in the workers (the pool's threads). */
  readonly parallelism: number;
  /** True when a worker could start a batch now (the pool's; the inline runner is not counted). */
  hasIdleWorker(): boolean;
  /** True when a batch run now would start at once or wait at a worker behind one running batch. */
  canQueueBatch(): boolean;
  /** `listener` runs whenever a worker batch completes (of any version of the pool): see InferencePool.onIdle. */
  onIdle(listener: IdleListener): () => void;
  /**
   * Starts one batch of `rows` rows and takes ownership of the inputs' buffers (transferred to a
   * worker, or read on this thread). It runs inline when all of these hold, else in a worker:
   * - the version has an inline runner and it is not running a batch (one inline run at a time);
   * - rows ≤ inline.maxRows (the largest batch measured within the runner's time budget);
   * - the pool is idle: no batch running or queued at any worker. Under load batches go to the
   *   workers, and the main thread stays free for the transports.
   * `notAfterEpochMs` (performance.timeOrigin + now(), ms; undefined: none): a worker that reaches
   * the batch later skips it (SLUICE_ERR_DEADLINE_EXCEEDED); an inline batch starts at once.
   * Synchronous up to the choice: when a worker takes the batch, hasIdleWorker() says so on return.
   * `mayRunInline` false (low-priority work, e.g. a shadow copy): always a worker, never the main thread.
   */
  run(inputs: Tensor[], rows: number, notAfterEpochMs: number | undefined, mayRunInline?: boolean): ExecutorRun;
  /** Releases the version's sessions in every worker and the inline one. Call once, after the last run settled. */
  release(): Promise<void>;
}

/** What an executor needs of the pool (an InferencePool; tests pass a fake). */
export type ExecutorPool = Pick<InferencePool, 'threads' | 'hasIdleWorker' | 'canQueueBatch' | 'isIdle' | 'onIdle' | 'run' | 'unload'>;

/**
 * A model the caller offers for inline runs: only where a timing bounds every batch (CPU, every
 * dim but the batch dims fixed). The runner is created, timed and kept or dropped by
 * createInlineRunner (inline.ts).
 */
export interface InlineOffer {
  /** Fresh inputs of a batch of `rows` rows (built by the caller, which knows the batch layout). */
  inputsAt(rows: number): WireTensor[];
  /** Largest batch to time (the model's maxBatchSize). */
  largestRows: number;
  /** Budget of one inline run, µs; ≤ 0: no runner. */
  maxRunUs: number;
}

export interface ExecutorOptions {
  pool: InferencePool;
  /** The loaded version's session in the pool (pool.load already succeeded). */
  spec: SessionSpec;
  /** Outputs every run returns, in order. */
  outputNames: string[];
  /** Absent: every batch runs in a worker. */
  inline?: InlineOffer;
}

/** Builds the executor of one loaded version, timing its inline runner when one is offered. */
export async function createExecutor(opts: ExecutorOptions): Promise<Executor> {
  const { pool, spec, outputNames, inline } = opts;
  const runner = inline ? await createInlineRunner(spec, inline.inputsAt, inline.largestRows, inline.maxRunUs) : undefined;
  return new VersionExecutor(pool, spec, outputNames, runner);
}

/** The executor of one version over its parts (createExecutor builds them; tests pass fakes). */
export class VersionExecutor implements Executor {
  readonly inline: { readonly maxRows: number; readonly batch1Us: number };
  readonly parallelism: number;

  constructor(
    private readonly pool: ExecutorPool,
    private readonly spec: SessionSpec,
    private readonly outputNames: string[],
    private readonly runner: InlineRunner | undefined,
  ) {
    this.inline = Object.freeze({ maxRows: runner?.maxRows ?? 0, batch1Us: runner?.batch1Us ?? 0 });
    this.parallelism = pool.threads;
  }

  hasIdleWorker(): boolean {
    return this.pool.hasIdleWorker();
  }

  canQueueBatch(): boolean {
    return this.pool.canQueueBatch();
  }

  onIdle(listener: IdleListener): () => void {
    return this.pool.onIdle(listener);
  }

  run(inputs: Tensor[], rows: number, notAfterEpochMs: number | undefined, mayRunInline = true): ExecutorRun {
    const runner = this.runner;
    if (mayRunInline && runner !== undefined && !runner.busy && rows <= runner.maxRows && this.pool.isIdle()) {
      return { where: 'inline', outputs: runner.run(inputs, this.outputNames) };
    }
    return { where: 'worker', outputs: this.pool.run(this.spec, inputs, this.outputNames, notAfterEpochMs) };
  }

  async release(): Promise<void> {
    await Promise.all([this.pool.unload(this.spec.key), this.runner?.release()]);
  }
}
