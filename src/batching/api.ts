// The batcher's public shapes, each with its contract, and the one check of its config.

import { SluiceError } from '../errors.js';
import type { BatchingConfig, Tensor } from '../types.js';
import type { Clock } from './clock.js';

export interface BatchMeta {
  /** Increasing integer per batcher, from 1. */
  batchId: number;
  /** Rows in the batch (dim 0 of every merged input). */
  rows: number;
  /** Requests merged into the batch. */
  requests: number;
  /** The latest deadline among them (µs, batcher clock): past it, running the batch serves nobody. */
  latestDeadlineUs: number;
}

/**
 * Runs one merged batch and resolves with its outputs, each with dim 0 = meta.rows.
 * - Called synchronously by the batcher. If it takes an idle worker, hasIdleWorker() must say so
 *   before run() returns, or the batcher keeps dispatching into the same "idle" worker.
 * - The inputs are fresh, exactly-sized typed arrays owned by the callee: transfer their buffers.
 * - Throwing synchronously and rejecting are treated alike: every request of this batch (and only
 *   those) rejects; a SluiceError passes through unchanged, anything else becomes
 *   SLUICE_ERR_INFERENCE_FAILED with the original as `cause`.
 */
export type RunBatch = (inputs: Tensor[], meta: BatchMeta) => Promise<Tensor[]>;

/** A validated request. rows is 1..maxBatchSize (checked upstream; re-checked cheaply here). */
export interface PendingRequest {
  /** Every input of the model, each with dim 0 = rows. Only read; copied into the batch. */
  inputs: Tensor[];
  rows: number;
  /** Absolute, µs on the batcher's clock. */
  deadlineUs: number;
  /**
   * When the transport started reading the request, µs on the batcher's clock (default: the
   * submit time). Admission keeps headroom for the delay between this and submit (see admission.ts).
   */
  receivedUs?: number;
  /** Lane: 0 primary (default), 1 (any value > 0) lower, e.g. shadow. Lane 0 is always served first. */
  priority?: number;
  /** True once nobody waits for the answer (client went away): dropped before it reaches a worker. */
  isCancelled?: () => boolean;
}

export interface BatchOutcome {
  /** This request's rows of every output: views sharing the batch's buffers (see splitOutputs). */
  outputs: Tensor[];
  batchId: number;
  batchRows: number;
  /** dispatch − enqueue, µs on the batcher's clock. */
  queueUs: number;
  /** reply − dispatch, µs on the batcher's clock (includes time waiting in the pool's queue). */
  computeUs: number;
}

export interface BatcherDeps {
  run: RunBatch;
  clock: Clock;
  /** True when a run() issued now would start at once. Must be cheap: called on every submit. */
  hasIdleWorker(): boolean;
  /**
   * True when a run() issued now would start at once or wait at a worker right behind the
   * batch it runs. Full batches go whenever this holds, so the worker never idles between
   * them; partial batches still wait for an idle worker and keep gathering. Absent: full
   * batches wait for an idle worker too. Must be cheap.
   */
  canQueueBatch?(): boolean;
  /** The model's input names, in the order run() receives them. */
  inputOrder: string[];
  /** Batches that run at the same time (the pool's workers); used to predict waits. Default 1. */
  parallelism?: number;
}

/** Checks the knobs once and freezes them; preferredBatchSizes comes back sorted and deduplicated. */
export function freezeBatchingConfig(c: BatchingConfig): Readonly<BatchingConfig> {
  const bad = (what: string): never => {
    throw new SluiceError('SLUICE_ERR_MODEL_CONFIG_INVALID', `batching: ${what}`);
  };
  if (!Number.isInteger(c.maxBatchSize) || c.maxBatchSize < 1) bad('maxBatchSize must be an integer ≥ 1');
  if (!Number.isFinite(c.maxQueueDelayUs) || c.maxQueueDelayUs < 0) bad('maxQueueDelayUs must be ≥ 0');
  if (!Number.isInteger(c.maxQueueSize) || c.maxQueueSize < 1) bad('maxQueueSize must be an integer ≥ 1');
  for (const p of c.preferredBatchSizes) {
    if (!Number.isInteger(p) || p < 1 || p > c.maxBatchSize) bad('preferredBatchSizes must be integers in 1..maxBatchSize');
  }
  const preferred = Object.freeze([...new Set(c.preferredBatchSizes)].sort((a, b) => a - b));
  return Object.freeze({
    maxBatchSize: c.maxBatchSize,
    maxQueueDelayUs: c.maxQueueDelayUs,
    maxQueueSize: c.maxQueueSize,
    preferredBatchSizes: preferred as number[],
  });
}
