// The batcher's public shapes, each with its contract, and the one check of its config.

import { SluiceError } from '../errors.js';
import type { BatchingConfig, Tensor } from '../types.js';
import type { Clock } from './clock.js';

export interface BatchMeta {
  /** Increasing integer per batcher, from 1. */
  batchId: number;
  /** Rows in the batch (the batch dim of every merged input that has one). */
  rows: number;
  /** Requests merged into the batch. */
  requests: number;
  /** The latest deadline among them (µs, batcher clock): past it, running the batch serves nobody. */
  latestDeadlineUs: number;
  /** The lane its requests came from: 0 primary, 1 low priority (shadow copies). A batch holds one lane. */
  lane: 0 | 1;
}

/** One tensor's place in a batch: its name and batch dim (null: none; see TensorSpec.batchDim). */
export interface TensorLayout {
  readonly name: string;
  readonly batchDim: number | null;
}

/**
 * The model's tensors as batching sees them. `inputs` is the order run() receives merged inputs
 * in; `outputs` names every output run() may return, each with its batch dim.
 */
export interface BatchLayout {
  readonly inputs: readonly TensorLayout[];
  readonly outputs: readonly TensorLayout[];
}

/**
 * What run() may resolve with instead of the bare outputs, to say whether the batch's time may
 * calibrate admission. `calibrates: false` marks a batch whose time says nothing about the rate
 * BatcherDeps.parallelism batches are served at, e.g. one run on the main thread while that rate
 * describes the workers. Such a batch is answered like any other, but its time neither feeds the
 * service-rate estimate (serviceRowsPerSecond, the 429 prediction) nor counts as the end of the
 * batch before the next measured one. Bare outputs: `calibrates: true`.
 */
export interface RunResult {
  outputs: Tensor[];
  calibrates: boolean;
}

/**
 * Runs one merged batch (inputs in BatcherDeps.layout.inputs order) and resolves with outputs
 * named in layout.outputs, each with its batch dim = meta.rows (an output without one: only when
 * maxBatchSize is 1), bare or as a RunResult.
 * - Called synchronously by the batcher. If it takes an idle worker, hasIdleWorker() must say so
 *   before run() returns, or the batcher keeps dispatching into the same "idle" worker.
 * - The inputs are fresh, exactly-sized typed arrays owned by the callee: transfer their buffers.
 * - Throwing synchronously and rejecting are treated alike: every request of this batch (and only
 *   those) rejects; a SluiceError passes through unchanged, anything else becomes
 *   SLUICE_ERR_INFERENCE_FAILED with the original as `cause`.
 */
export type RunBatch = (inputs: Tensor[], meta: BatchMeta) => Promise<Tensor[] | RunResult>;

/** A validated request. rows is 1..maxBatchSize (checked upstream; re-checked cheaply here). */
export interface PendingRequest {
  /**
   * Every input of the layout (any order), each batched one with its batch dim = rows; an unbatched
   * one only shares a batch with requests carrying an equal value (shapeKey). Only read; copied
   * into the batch.
   */
  inputs: Tensor[];
  rows: number;
  /** Absolute, µs on the batcher's clock. */
  deadlineUs: number;
  /**
   * When the transport started reading the request, µs on the batcher's clock (default: the
   * submit time). Admission keeps headroom for the delay between this and submit (see admission.ts).
   */
  receivedUs?: number;
  /**
   * Lane: 0 primary (default), 1 (any value > 0) low priority, e.g. a shadow copy. Lane 1 is
   * bounded on its own (BatchingConfig.maxShadowQueueSize) and never counts against lane 0's
   * maxQueueSize; its requests go only to an idle worker (its own pool's, or lane 0's while lane 0
   * is empty: BatcherDeps.hasIdleLowPriorityWorker), never wait at a worker behind a running
   * batch, and are rejected first (dropLowPriority) when the version drains.
   */
  priority?: number;
  /** True once nobody waits for the answer (client went away): dropped before it reaches a worker. */
  isCancelled?: () => boolean;
}

export interface BatchOutcome {
  /**
   * This request's rows of every output (see splitOutputs): views sharing the batch's buffers for
   * batch dim 0, fresh copies for a later batch dim, the whole output for none.
   */
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
  /**
   * Where each tensor's batch dim sits: inputs in the order run() receives them, and every output
   * run() may return. Checked and frozen at construction (SLUICE_ERR_MODEL_CONFIG_INVALID: a name
   * twice, a batch dim not null or an integer ≥ 0, an output without one while maxBatchSize > 1).
   */
  layout: BatchLayout;
  /** Batches that run at the same time (the pool's workers); used to predict waits. Default 1. */
  parallelism?: number;
  /**
   * Lane 1 has workers of its own (a low-priority pool): true when one could start a lane-1
   * batch now. Lane-1 batches then go whenever this holds, whatever lane 0 holds, and run()
   * must send them there (meta.lane 1). Absent: lane 1 shares lane 0's workers and goes only to
   * an idle one while lane 0 is empty. Must be cheap.
   */
  hasIdleLowPriorityWorker?(): boolean;
}

/** Checks the knobs once and freezes them; preferredBatchSizes comes back sorted and deduplicated. */
export function freezeBatchingConfig(c: BatchingConfig): Readonly<BatchingConfig> {
  const bad = (what: string): never => {
    throw new SluiceError('SLUICE_ERR_MODEL_CONFIG_INVALID', `batching: ${what}`);
  };
  if (!Number.isInteger(c.maxBatchSize) || c.maxBatchSize < 1) bad('maxBatchSize must be an integer ≥ 1');
  if (!Number.isFinite(c.maxQueueDelayUs) || c.maxQueueDelayUs < 0) bad('maxQueueDelayUs must be ≥ 0');
  if (!Number.isInteger(c.maxQueueSize) || c.maxQueueSize < 1) bad('maxQueueSize must be an integer ≥ 1');
  const shadowQueue = c.maxShadowQueueSize;
  if (shadowQueue !== undefined && (!Number.isInteger(shadowQueue) || shadowQueue < 1)) bad('maxShadowQueueSize must be an integer ≥ 1');
  for (const p of c.preferredBatchSizes) {
    if (!Number.isInteger(p) || p < 1 || p > c.maxBatchSize) bad('preferredBatchSizes must be integers in 1..maxBatchSize');
  }
  const preferred = Object.freeze([...new Set(c.preferredBatchSizes)].sort((a, b) => a - b));
  return Object.freeze({
    maxBatchSize: c.maxBatchSize,
    maxQueueDelayUs: c.maxQueueDelayUs,
    maxQueueSize: c.maxQueueSize,
    ...(shadowQueue === undefined ? {} : { maxShadowQueueSize: shadowQueue }),
    preferredBatchSizes: preferred as number[],
  });
}

/**
 * Checks a layout once and freezes a copy: every batchDim null or an integer ≥ 0, names unique.
 * An output without a batch dim cannot be split between requests, so it needs maxBatchSize 1
 * (a model that does not batch). A breach: SLUICE_ERR_MODEL_CONFIG_INVALID.
 */
export function freezeLayout(layout: BatchLayout, maxBatchSize: number): BatchLayout {
  const freeze = (side: 'inputs' | 'outputs'): readonly TensorLayout[] => {
    const seen = new Set<string>();
    const out = layout[side].map(({ name, batchDim }) => {
      const bad = (what: string): never => {
        throw new SluiceError('SLUICE_ERR_MODEL_CONFIG_INVALID', `batching: ${side} "${name}" ${what}`);
      };
      if (seen.has(name)) bad('is listed twice');
      seen.add(name);
      if (batchDim !== null && !(Number.isInteger(batchDim) && batchDim >= 0)) bad('has a batch dim that is not an integer ≥ 0');
      if (batchDim === null && side === 'outputs' && maxBatchSize !== 1) bad('has no batch dim, so maxBatchSize must be 1');
      return Object.freeze({ name, batchDim });
    });
    return Object.freeze(out);
  };
  return Object.freeze({ inputs: freeze('inputs'), outputs: freeze('outputs') });
}
