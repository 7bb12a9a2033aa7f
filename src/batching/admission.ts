// Deadline-aware admission: predicts when a new request would be answered from the work ahead
// of it and the measured service rate, so that a request that cannot meet its deadline is
// refused at once (429 + Retry-After) instead of timing out in the queue.
//
// Why the prediction is an upper bound, not a mean: under overload admission is what regulates
// the queue, so the queue settles where the predicted completion of a new request just meets
// its deadline. Every admitted request is then a marginal one, and a mean prediction would let
// about half of them miss (measured: 30 % of admitted requests expired in the queue and the
// served p99 sat just past the deadline). So admission asks for a *p99* completion time, plus
// headroom for time the batcher cannot see, to be within the deadline.
//
// The service rate is learned from completed batches: exponentially weighted mean (quick to rise,
// slow to fall) and variance
// of batch wall time (dispatch, or the previous reply when it queued behind it, to reply: so it
// includes the worker round trip and the main thread's delay in reading the reply) and the mean
// of rows per batch. Under load batches run full, so rows/batch × batches/s is the rate that
// matters; at light load the queue is short and the prediction small either way.

import { refusalError, SluiceError } from '../errors.js';
import type { BatchingConfig } from '../types.js';
import type { PendingRequest } from './api.js';

/** Weight of the newest batch in the moving averages (≈ the last 20 batches count). */
const EWMA_ALPHA = 0.05;
/**
 * Weight of a batch slower than the mean estimate. Slowdowns are learned 5x faster than speedups
 * because the two errors do not cost the same: a mean too low admits a queue that then expires
 * (504s, compute spent on answers nobody gets), a mean too high refuses a few requests that would
 * have fit. Measured: when overload starts, the worker shares the cores with the main thread's 3x
 * traffic and batches slow from ~6 to ~10 ms; at α = 0.05 the queue admitted meanwhile expired.
 */
const EWMA_ALPHA_SLOWER = 0.25;
/** One-sided normal quantile for 99 %: the prediction is a p99 of the completion time. */
const Z_P99 = 2.33;
/**
 * Share of a request's whole timeout kept back for what the prediction does not see: time before
 * the transport stamped `receivedUs` (bytes waiting in the socket and for the event loop), after
 * the reply (encoding, writing; clients time from their send), and slowdowns that hit every batch
 * of a wait at once (another process taking the cores), which no spread of past batches predicts
 * and which grow with the wait (WaitCalibration learns those from outcomes).
 */
export const ADMISSION_HEADROOM_FRACTION = 0.1;

export class ServiceRateEstimator {
  private batchUs = 0;
  /** Exponentially weighted variance of batch wall time, µs². */
  private batchVarUs2 = 0;
  private batchRows = 0;
  private samples = 0;

  /** `parallelism`: batches that run at the same time (workers of the pool). */
  constructor(private readonly parallelism: number) {}

  observe(rows: number, computeUs: number): void {
    if (!(computeUs > 0) || !(rows > 0)) return;
    if (this.samples === 0) {
      this.batchUs = computeUs;
      this.batchRows = rows;
    } else {
      // West's incremental form of the exponentially weighted mean and variance.
      const diff = computeUs - this.batchUs;
      this.batchUs += (diff > 0 ? EWMA_ALPHA_SLOWER : EWMA_ALPHA) * diff;
      this.batchVarUs2 = (1 - EWMA_ALPHA) * (this.batchVarUs2 + EWMA_ALPHA * diff * diff);
      this.batchRows += EWMA_ALPHA * (rows - this.batchRows);
    }
    this.samples++;
  }

  /** True once a few batches were measured; before that nothing is refused by prediction. */
  get calibrated(): boolean {
    return this.samples >= 5;
  }

  /** Rows per second the version serves, as measured (0 before calibration). */
  get rowsPerSecond(): number {
    return this.calibrated ? (this.batchRows * this.parallelism * 1e6) / this.batchUs : 0;
  }

  /**
   * Predicted p99 of the µs until a request of `rows` rows is answered (0 before calibration).
   * The work ahead is the batches already dispatched and the queued rows plus its own (in batches
   * of the measured size), run `parallelism` at a time: `waves` batch times one after another.
   * Mean: waves × μ. Its error has two independent parts: the waves' own spread (variance
   * waves·σ²) and the error of μ itself, which every wave shares (variance waves²·σ²·α/(2−α) for
   * an EWMA over σ-noisy samples). With σ = 0 this is exactly waves × μ.
   */
  predictWaitUs(queuedRows: number, inflightBatches: number, rows: number, maxBatchSize: number): number {
    if (!this.calibrated) return 0;
    const rowsPerBatch = Math.max(1, Math.min(maxBatchSize, this.batchRows));
    const batchesAhead = inflightBatches + Math.ceil((queuedRows + rows) / rowsPerBatch);
    const waves = Math.ceil(batchesAhead / this.parallelism);
    const spreadUs = Math.sqrt(this.batchVarUs2 * (waves + (waves * waves * EWMA_ALPHA) / (2 - EWMA_ALPHA)));
    return waves * this.batchUs + Z_P99 * spreadUs;
  }
}

/**
 * Measured correction of the prediction: a running p99 of actual ÷ predicted wait over the
 * requests whose admission was a close call, applied as a factor ≥ 1 to later predictions.
 *
 * Why: the spread term above assumes batches vary independently around a steady mean. On a shared
 * machine they do not (another process takes a core for a while, GC pauses the event loop), and
 * only outcomes show it. Close calls are the requests whose predicted wait was at least
 * CLOSE_CALL_SHARE of their budget: under overload every admitted request is one, while at light
 * load (a short queue, predictions of a batch or two) ratios are noisy and beside the point.
 *
 * The p99 is tracked in log space by the usual stochastic quantile step (each sample above the
 * estimate raises it by η·q, each one below lowers it by η·(1−q), so it settles where 1 − q of the
 * samples lie above). It never goes below 0 (factor 1): the model's own p99 stays the floor, so a
 * quiet spell cannot make admission more optimistic than the model. Expired requests count as
 * samples at their expiry time: late by at least that much.
 */
export class WaitCalibration {
  private logFactor = 0;

  /** Multiply a predicted wait by this (≥ 1, ≤ MAX_CORRECTION). */
  get factor(): number {
    return Math.exp(this.logFactor);
  }

  /** True when a request admitted with this predicted wait and budget should report back. */
  isCloseCall(predictedWaitUs: number, budgetUs: number): boolean {
    return predictedWaitUs >= CLOSE_CALL_SHARE * budgetUs && predictedWaitUs > 0;
  }

  /** One close call's outcome: its predicted and its actual wait (submit → answer or expiry), µs. */
  observe(predictedWaitUs: number, actualWaitUs: number): void {
    const above = Math.log(actualWaitUs / predictedWaitUs) > this.logFactor;
    this.logFactor += above ? QUANTILE_STEP * 0.99 : -QUANTILE_STEP * 0.01;
    this.logFactor = Math.min(Math.log(MAX_CORRECTION), Math.max(0, this.logFactor));
  }
}

/** Predicted wait ÷ budget from which an admitted request is a close call (see WaitCalibration). */
const CLOSE_CALL_SHARE = 0.5;
/** η of the quantile step, log units: a run of misses raises the factor ~2 % per miss. */
const QUANTILE_STEP = 0.02;
/** Cap on the correction: beyond 2x the model is wrong and should be fixed, not hidden. */
const MAX_CORRECTION = 2;

/** What admission needs of a request: its size and its time budget. */
export type AdmissionAsk = Pick<PendingRequest, 'rows' | 'deadlineUs' | 'receivedUs'>;

/**
 * Why `req` must be refused at submit, or undefined to admit it. `held` counts the version's
 * queued plus running requests; `waitUs` is the predicted p99 wait, undefined before the
 * estimator is calibrated (then nothing is refused by prediction). Order: bad row count, queue
 * full (503), deadline already passed (504), predicted completion past the deadline (429).
 *
 * The 429 rule: admit iff now + waitUs + headroom ≤ deadline, where headroom =
 * ADMISSION_HEADROOM_FRACTION × (deadline − receivedUs) + (now − receivedUs). The second term is
 * the delay the request already saw on the main thread between the transport's stamp and
 * admission (body, decoding, event-loop lag): the answer crosses the same busy loop on its way
 * out, so admission assumes it pays that delay again. Refusals are built without a stack: under
 * overload they are the common answer and nobody reads their trace.
 */
export function admissionRefusal(
  req: AdmissionAsk,
  nowUs: number,
  cfg: Readonly<BatchingConfig>,
  load: { held: number; waitUs: number | undefined },
): SluiceError | undefined {
  const { maxBatchSize, maxQueueSize } = cfg;
  if (!(req.rows >= 1 && req.rows <= maxBatchSize && Number.isInteger(req.rows))) {
    const code = req.rows > maxBatchSize ? 'SLUICE_ERR_BATCH_TOO_LARGE' : 'SLUICE_ERR_BATCH_EMPTY';
    return new SluiceError(code, `batch of ${req.rows} rows, allowed 1..${maxBatchSize}`);
  }
  if (load.held >= maxQueueSize) {
    return refusalError('SLUICE_ERR_QUEUE_FULL', `queue full (${maxQueueSize} requests)`, { retryAfterS: seconds(load.waitUs ?? 0) });
  }
  if (req.deadlineUs <= nowUs) return deadlineError('before it was queued');
  if (load.waitUs === undefined) return undefined;
  const receivedUs = Math.min(nowUs, req.receivedUs ?? nowUs);
  const headroomUs = ADMISSION_HEADROOM_FRACTION * (req.deadlineUs - receivedUs) + (nowUs - receivedUs);
  const overUs = nowUs + load.waitUs + headroomUs - req.deadlineUs;
  if (overUs > 0) {
    return refusalError('SLUICE_ERR_ADMISSION_REFUSED', `predicted wait ${Math.round(load.waitUs / 1000)} ms exceeds the deadline`, {
      retryAfterS: seconds(overUs),
    });
  }
  return undefined;
}

/** Whole seconds for Retry-After, at least 1. */
function seconds(us: number): number {
  return Math.max(1, Math.ceil(us / 1e6));
}

export function cancelledError(): SluiceError {
  return new SluiceError('SLUICE_ERR_REQUEST_CANCELLED', 'the client went away before the request ran');
}

export function deadlineError(when: string): SluiceError {
  return new SluiceError('SLUICE_ERR_DEADLINE_EXCEEDED', `deadline passed ${when}`);
}
