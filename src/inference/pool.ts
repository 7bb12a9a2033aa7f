// A pool of worker threads for one device, each holding ONNX Runtime sessions.
// Contract: a batch handed to run() is owned by the pool (its buffers are transferred);
// run() rejects with SLUICE_ERR_WORKER_DIED when the worker holding it dies, and
// SLUICE_ERR_INFERENCE_FAILED when the runtime fails it. No task is ever aborted: a task
// inside session.run cannot be interrupted without taking the process down (DESIGN §6).
import { Piscina } from 'piscina';
import { SluiceError } from '../errors.js';
import type { Device, Tensor } from '../types.js';
import type { LoadReply, RunTask, SessionSpec, WireTensor, WorkerReply, WorkerTask } from './messages.js';
import { runFailure } from './run-failure.js';
import type { WorkerData } from './messages.js';

export interface PoolOptions {
  device: Device;
  /** Worker threads, each holding its own session of every version (on the device). */
  threads: number;
  intraOpThreads: number;
  allowSpinning: boolean;
  /** How long a load waits for every worker to take its part. */
  barrierTimeoutMs?: number;
  /**
   * Old-generation heap cap of each worker, MiB (Worker resourceLimits). A worker that reaches it
   * is terminated by V8 (ERR_WORKER_OUT_OF_MEMORY), its batches fail as in any worker death, and
   * it is replaced; without a cap a worker's heap exhaustion aborts the whole process.
   */
  heapMb?: number;
  /**
   * The worker entry: a module with the exports and message contract of inference/worker.ts
   * (`default` takes run tasks, `control` load and unload). Default: that module. Tests pass a
   * wrapper that injects faults (test/fixtures/fault-worker.mjs); production never sets it.
   */
  workerFile?: URL;
  /**
   * Nice value (0..19) of the pool's worker threads, set by each worker on itself (Linux; a no-op
   * where threads cannot be reniced). A shadow pool runs at 19 and in SCHED_IDLE (`idleClass`),
   * so low-priority work cannot delay a primary batch already running on a core (the batcher
   * cannot preempt one): the kernel does.
   */
  niceness?: number;
  /**
   * Workers move themselves to Linux's SCHED_IDLE class: they run only on an otherwise idle core
   * and yield it the moment any normal thread (event loop, primary worker, GC) wakes.
   */
  idleClass?: boolean;
}

export interface PoolEvents {
  /**
   * A worker died (outside close()) and is being replaced. Called once per dead worker, however
   * many tasks it held, on the next turn of the event loop after piscina removed it (its tasks
   * are rejected by then), with the error those tasks were rejected with, or piscina's 'error'
   * for a worker that died holding none. Must not throw.
   */
  onWorkerExit?: (err: Error) => void;
}

/** Told that a worker may be idle; `primaryOnly`: offer it to primary work only (see notifyIdle). */
export type IdleListener = (primaryOnly: boolean) => void;

const WORKER_FILE = new URL('./worker.js', import.meta.url);

/**
 * Run tasks a worker holds at once: the one it runs and one queued right behind it, so that it
 * starts the next batch without waiting for the event loop to see the reply and hand over
 * another (on a busy loop that gap was ~25% of a worker's time with a compute-heavy model).
 */
export const BATCHES_PER_WORKER = 2;

/**
 * Run tasks go to the least busy worker with a free slot. Load and unload tasks (named exports,
 * see worker.ts) go only to a worker holding nothing: each blocks its worker on a barrier until
 * its round's other parties arrive, so two of one round on the same worker would deadlock.
 */
type LoadBalancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;
const balancer: LoadBalancer = (task, workers) => {
  const control = task.name !== 'default';
  let best: (typeof workers)[number] | null = null;
  for (const w of workers) {
    if (w.terminating || w.destroyed) continue;
    if (w.currentUsage === 0) return w;
    if (!control && w.currentUsage < BATCHES_PER_WORKER && (best === null || w.currentUsage < best.currentUsage)) best = w;
  }
  return best;
};

export class InferencePool {
  readonly device: Device;
  readonly threads: number;
  private readonly piscina: Piscina;
  private readonly opts: PoolOptions;
  private inflight = 0;
  private idleListeners: IdleListener[] = [];
  /** Which listener hears first next time: rotates so versions sharing the pool take turns. */
  private firstListener = 0;
  private closed = false;
  /** Worker deaths seen since the last report, and the first error that came with them. */
  private exitsUnreported = 0;
  private exitCause: Error | undefined;

  constructor(opts: PoolOptions, private readonly events: PoolEvents = {}) {
    this.opts = opts;
    this.device = opts.device;
    this.threads = opts.threads;
    this.piscina = new Piscina({
      filename: (opts.workerFile ?? WORKER_FILE).href,
      minThreads: this.threads,
      maxThreads: this.threads,
      concurrentTasksPerWorker: BATCHES_PER_WORKER,
      loadBalancer: balancer,
      // A load task the balancer cannot place yet keeps its place at the head of the queue.
      stricterFIFO: true,
      idleTimeout: Number.POSITIVE_INFINITY,
      // Tasks are never aborted, so close() only waits for running batches; keep it short.
      closeTimeout: 2000,
      workerData: { niceness: opts.niceness ?? 0, idleClass: opts.idleClass ?? false } satisfies WorkerData,
      ...(opts.heapMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: opts.heapMb } }),
    });
    // Deaths are counted from piscina's worker lifecycle, once per worker: a dying worker rejects
    // every task it holds (up to BATCHES_PER_WORKER) and piscina emits 'error' only for one that
    // held none, so counting rejections would count one death several times. close() destroys
    // every worker too: not a death.
    this.piscina.on('workerDestroy', () => {
      if (this.closed) return;
      if (this.exitsUnreported++ === 0) setImmediate(this.reportExits);
    });
    // Also keeps an 'error' event (a task-less death, an unexpected message) from throwing.
    this.piscina.on('error', (err: Error) => {
      if (!this.closed) this.exitCause ??= err;
    });
  }

  /** Runs a turn after 'workerDestroy': the dead worker's tasks have been rejected by then. */
  private readonly reportExits = (): void => {
    const n = this.exitsUnreported;
    const cause = this.exitCause ?? new Error('worker exited');
    this.exitsUnreported = 0;
    this.exitCause = undefined;
    for (let i = 0; i < n; i++) this.events.onWorkerExit?.(cause);
  };

  sessionSpec(key: string, modelPath: string): SessionSpec {
    return {
      key,
      modelPath,
      device: this.device,
      intraOpThreads: this.opts.intraOpThreads,
      allowSpinning: this.opts.allowSpinning,
    };
  }

  /**
   * Creates the session in every worker and runs in each the first warmup candidate the model
   * accepts (LoadReply.warmupIndex). Rejects with SLUICE_ERR_MODEL_WARMUP_FAILED when none runs,
   * SLUICE_ERR_MODEL_LOAD_FAILED when the session cannot be created.
   */
  async load(spec: SessionSpec, warmup: WireTensor[][]): Promise<LoadReply> {
    const barrier = new SharedArrayBuffer(4);
    const parties = this.threads;
    const barrierTimeoutMs = this.opts.barrierTimeoutMs ?? 30_000;
    const replies = await Promise.all(
      Array.from({ length: parties }, () =>
        this.submit({ kind: 'load', spec, warmup: warmup.map((c) => c.map(copyTensor)), barrier, parties, barrierTimeoutMs }, 'control'),
      ),
    );
    const failed = replies.find((r) => !r.ok);
    if (failed && !failed.ok) {
      if (failed.warmupFailed) {
        throw new SluiceError('SLUICE_ERR_MODEL_WARMUP_FAILED', `warmup failed: ${failed.message}`);
      }
      throw new SluiceError('SLUICE_ERR_MODEL_LOAD_FAILED', failed.message);
    }
    return replies[0] as LoadReply;
  }

  async unload(key: string): Promise<void> {
    const barrier = new SharedArrayBuffer(4);
    const parties = this.threads;
    await Promise.all(
      Array.from({ length: parties }, () => this.submit({ kind: 'unload', key, barrier, parties, barrierTimeoutMs: 10_000 }, 'control')),
    );
  }

  /** True when a worker could start a batch right now. */
  hasIdleWorker(): boolean {
    return this.inflight < this.threads;
  }

  /** True when no batch is running or queued at any worker. */
  isIdle(): boolean {
    return this.inflight === 0;
  }

  /** True when a batch run now would start at once or queue right behind one running batch. */
  canQueueBatch(): boolean {
    return this.inflight < this.threads * BATCHES_PER_WORKER;
  }

  /**
   * `listener` runs whenever a batch completes (a worker may be idle), twice: first with
   * primaryOnly true (take the worker for primary work only), then with false (anything). Returns
   * an unsubscribe.
   */
  onIdle(listener: IdleListener): () => void {
    this.idleListeners.push(listener);
    return () => {
      this.idleListeners = this.idleListeners.filter((l) => l !== listener);
    };
  }

  /**
   * Runs one batch. Takes ownership of the inputs' buffers (transferred to the worker).
   * `notAfterEpochMs`: when the worker reaches the batch later than this (it may wait behind
   * another batch, see BATCHES_PER_WORKER), it skips it and run() rejects with
   * SLUICE_ERR_DEADLINE_EXCEEDED: nobody is left to read the answer.
   */
  async run(spec: SessionSpec, inputs: Tensor[], outputNames: string[], notAfterEpochMs?: number): Promise<Tensor[]> {
    if (this.closed) throw new SluiceError('SLUICE_ERR_SHUTTING_DOWN', 'inference pool is closed');
    const task: RunTask = { kind: 'run', spec, inputs, outputNames };
    if (notAfterEpochMs !== undefined) task.notAfterEpochMs = notAfterEpochMs;
    this.inflight++;
    let reply: WorkerReply;
    try {
      reply = await this.submit(task, 'default', inputs.map((t) => t.data.buffer as ArrayBuffer));
    } finally {
      this.inflight--;
      this.notifyIdle();
    }
    if (!reply.ok) {
      if (reply.expired) throw new SluiceError('SLUICE_ERR_DEADLINE_EXCEEDED', 'deadline passed while queued at the worker');
      throw runFailure(reply.message, reply.rejected === true);
    }
    if (!('outputs' in reply)) throw new SluiceError('SLUICE_ERR_SERVER_INTERNAL', 'unexpected worker reply');
    return reply.outputs;
  }

  /**
   * Tells every listener a worker may be idle, starting one further each time: the first
   * listener with work takes the worker, so a fixed order would let one version starve the
   * others that share this pool. Priority is decided here, where a freed worker picks its next
   * batch: every listener hears primaryOnly first, so primary batches of any version go before
   * low-priority ones (shadow copies) of any version.
   */
  private notifyIdle(): void {
    const n = this.idleListeners.length;
    if (n === 0) return;
    const first = this.firstListener++ % n;
    const listeners = this.idleListeners;
    for (let i = 0; i < n; i++) listeners[(first + i) % n]!(true);
    for (let i = 0; i < n && this.hasIdleWorker(); i++) listeners[(first + i) % n]!(false);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.close();
  }

  /** `name`: the worker export that takes the task, 'default' for runs (see balancer). */
  private async submit(task: WorkerTask, name: 'default' | 'control', transferList?: ArrayBuffer[]): Promise<WorkerReply> {
    try {
      return (await this.piscina.run(task, transferList ? { name, transferList } : { name })) as WorkerReply;
    } catch (err) {
      // Workers return their own errors as replies, so a rejection means the worker died
      // (or the pool was destroyed) while holding this task.
      const cause = err instanceof Error ? err : new Error(String(err));
      if (!this.closed) this.exitCause ??= cause; // reported once per worker, see 'workerDestroy'
      throw new SluiceError('SLUICE_ERR_WORKER_DIED', 'the worker running this request died; retry', {
        cause,
        retryAfterS: 1,
      });
    }
  }
}

function copyTensor(t: WireTensor): WireTensor {
  return { ...t, shape: t.shape.slice(), data: t.data.slice() };
}
