// Deadline-aware admission: predicts how long a new request would wait from the queue ahead
// of it and the measured service rate, so that a request that cannot meet its deadline is
// refused at once (429 + Retry-After) instead of timing out in the queue.
//
// The service rate is learned from completed batches: EWMA of batch wall time (dispatch to
// reply, so it includes the worker round trip) and of rows per batch. Under load batches run
// full, so rows/batch × batches/s is the rate that matters; at light load the queue is short
// and the prediction small either way.

import { SluiceError } from '../errors.js';
import type { BatchingConfig } from '../types.js';
import type { PendingRequest } from './api.js';

/** Weight of the newest batch in the moving averages. */
const EWMA_ALPHA = 0.2;

export class ServiceRateEstimator {
  private batchUs = 0;
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
      this.batchUs += EWMA_ALPHA * (computeUs - this.batchUs);
      this.batchRows += EWMA_ALPHA * (rows - this.batchRows);
    }
    this.samples++;
  }

  /** True once a few batches were measured; before that nothing is refused. */
  get calibrated(): boolean {
    return this.samples >= 5;
  }

  /** Rows per second the version serves, as measured (0 before calibration). */
  get rowsPerSecond(): number {
    return this.calibrated ? (this.batchRows * this.parallelism * 1e6) / this.batchUs : 0;
  }

  /**
   * Predicted µs until a request of `rows` rows is answered: the batches already dispatched and
   * the queued rows ahead of it (in batches of the measured size), run `parallelism` at a time.
   */
  predictWaitUs(queuedRows: number, inflightBatches: number, rows: number, maxBatchSize: number): number {
    if (!this.calibrated) return 0;
    const rowsPerBatch = Math.max(1, Math.min(maxBatchSize, this.batchRows));
    const batchesAhead = inflightBatches + Math.ceil((queuedRows + rows) / rowsPerBatch);
    return Math.ceil(batchesAhead / this.parallelism) * this.batchUs;
  }
}

/**
 * Why `req` must be refused at submit, or undefined to admit it. `held` counts the version's
 * queued plus running requests; `waitUs` is the predicted wait. Order: bad row count, queue
 * full (503), deadline already passed (504), predicted wait past the deadline (429).
 */
export function admissionRefusal(
  req: PendingRequest,
  nowUs: number,
  cfg: Readonly<BatchingConfig>,
  load: { held: number; waitUs: number },
): SluiceError | undefined {
  const { maxBatchSize, maxQueueSize } = cfg;
  if (!(req.rows >= 1 && req.rows <= maxBatchSize && Number.isInteger(req.rows))) {
    const code = req.rows > maxBatchSize ? 'SLUICE_ERR_BATCH_TOO_LARGE' : 'SLUICE_ERR_BATCH_EMPTY';
    return new SluiceError(code, `batch of ${req.rows} rows, allowed 1..${maxBatchSize}`);
  }
  if (load.held >= maxQueueSize) {
    return new SluiceError('SLUICE_ERR_QUEUE_FULL', `queue full (${maxQueueSize} requests)`, { retryAfterS: seconds(load.waitUs) });
  }
  if (req.deadlineUs <= nowUs) return deadlineError('before it was queued');
  if (nowUs + load.waitUs > req.deadlineUs) {
    return new SluiceError('SLUICE_ERR_ADMISSION_REFUSED', `predicted wait ${Math.round(load.waitUs / 1000)} ms exceeds the deadline`, {
      retryAfterS: seconds(nowUs + load.waitUs - req.deadlineUs),
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
