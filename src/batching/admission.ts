// Deadline-aware admission: predicts how long a new request would wait from the queue ahead
// of it and the measured service rate, so that a request that cannot meet its deadline is
// refused at once (429 + Retry-After) instead of timing out in the queue.
//
// The service rate is learned from completed batches: EWMA of batch wall time (dispatch to
// reply, so it includes the worker round trip) and of rows per batch. Under load batches run
// full, so rows/batch × batches/s is the rate that matters; at light load the queue is short
// and the prediction small either way.

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
