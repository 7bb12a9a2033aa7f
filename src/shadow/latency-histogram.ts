// A fixed log-scale latency histogram: constant memory, O(1) record, quantiles with a stated
// relative error. Used for each side's latency in PairStats.
//
// Layout: bucket 0 holds [0, 1) µs; bucket b ≥ 1 holds [2^((b−1)/16), 2^(b/16)) µs, i.e. 16
// buckets per doubling (bucket ratio r = 2^(1/16) ≈ 1.0443) up to 2^36 µs (≈ 19 h). Values
// above that land in the last bucket (counted in `overflow`). 577 Float64 counts = 4.6 KiB.
//
// Error: quantile(q) is the nearest-rank sample's bucket reported at its geometric midpoint, so
// for any sample in [1 µs, 2^36 µs) the answer is within a factor r^½ = 2^(1/32) of the true
// nearest-rank value: relative error ≤ 2.19% (QUANTILE_RELATIVE_ERROR, up to float rounding at
// bucket edges). The first and last ranks answer the exact observed min and max, and every answer
// is clamped to [min, max]. Below 1 µs the answer is within [0, 1); above 2^36 µs only the max is exact.

const BUCKETS_PER_DOUBLING = 16;
const MAX_DOUBLINGS = 36;
const BUCKETS = 1 + BUCKETS_PER_DOUBLING * MAX_DOUBLINGS;

/** Upper bound of |estimate − true| / true for quantile() on samples in [1 µs, 2^36 µs). */
export const QUANTILE_RELATIVE_ERROR = 2 ** (1 / (2 * BUCKETS_PER_DOUBLING)) - 1;

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private n = 0;
  private minUs = Infinity;
  private maxUs = -Infinity;
  /** Samples above the top bucket's range (still counted in the top bucket). */
  overflow = 0;

  get count(): number {
    return this.n;
  }

  /** Adds one sample in µs. Negative or NaN samples are ignored (a clock that went backwards). */
  record(us: number): void {
    if (!(us >= 0)) return;
    let b = us < 1 ? 0 : 1 + Math.floor(Math.log2(us) * BUCKETS_PER_DOUBLING);
    if (b >= BUCKETS) {
      b = BUCKETS - 1;
      this.overflow++;
    }
    this.counts[b]!++;
    this.n++;
    if (us < this.minUs) this.minUs = us;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** Nearest-rank quantile, q in [0, 1], in µs (within QUANTILE_RELATIVE_ERROR); null when empty. */
  quantile(q: number): number | null {
    if (this.n === 0) return null;
    const rank = Math.min(this.n, Math.max(1, Math.ceil(q * this.n)));
    if (rank === 1) return this.minUs;
    if (rank === this.n) return this.maxUs;
    let seen = 0;
    let b = 0;
    for (; b < BUCKETS; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) break;
    }
    const mid = b === 0 ? 0.5 : 2 ** ((b - 0.5) / BUCKETS_PER_DOUBLING);
    return Math.min(this.maxUs, Math.max(this.minUs, mid));
  }

  reset(): void {
    this.counts.fill(0);
    this.n = 0;
    this.minUs = Infinity;
    this.maxUs = -Infinity;
    this.overflow = 0;
  }
}
