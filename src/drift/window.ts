// Sliding-window bin counts of F columns (drift features, or outputs): a row is one bin index per
// column, and a negative index means "no value for this column in this row" (skipped, not counted).
// Each column has its own bin count (1..65535, binsPerColumn).
// - CountWindow: the last `capacityRows` rows, as a ring of their bin indices (Uint16, 0xFFFF for
//   missing); a row added past capacity overwrites the oldest. add() is O(F), addRows() (a block
//   of rows at once, as the drift monitor commits a batch) O(rows·F).
// - TimeWindow: the rows of the last spanMs, as `slices` buckets of sliceMs = spanMs/slices each,
//   aligned to multiples of sliceMs. A row lands in the bucket of its nowMs; the window is the
//   `slices` newest buckets (the current one included), and a bucket is dropped whole when it
//   leaves them. So at nowMs it holds every row newer than nowMs − (spanMs − sliceMs) and none
//   older than nowMs − spanMs: between spanMs − sliceMs and spanMs of history.
//   add() is O(F); expiring a bucket O(total bins). A clock that steps back (or a non-finite nowMs)
//   counts as the newest bucket seen: the window never throws on time and never moves backwards.
// Both leave their totals stale while rows come in and recount them on the first read after
// (CountWindow O(capacityRows·F), TimeWindow O(slices·total bins)): rows are added on the event
// loop for every sampled request, a window is read once per evaluation or report.
// TimeWindow.everCounts() adds the rows of the buckets it dropped to those it holds: every row ever
// added, the drift monitor's cumulative counts, at no cost to the adds.
// counts() returns a live view of the totals: valid until the next add() (or, for the time
// window, the next call that moves time forward); never write to it, copy it to keep it.
// A bin index that is not an integer below its column's bin count is a RangeError, before any count
// changes.

const MISSING = 0xffff;

interface Layout {
  /** Column c's bins are totals[offsets[c] .. offsets[c] + bins[c]). */
  readonly offsets: Int32Array;
  readonly bins: Int32Array;
  readonly size: number;
}

function layout(binsPerColumn: readonly number[]): Layout {
  const offsets = new Int32Array(binsPerColumn.length);
  const bins = new Int32Array(binsPerColumn.length);
  let size = 0;
  binsPerColumn.forEach((b, c) => {
    // 65535 bins are indices 0..65534: 0xFFFF stays free to mean "missing".
    if (!Number.isInteger(b) || b < 1 || b > MISSING) throw new RangeError(`column ${c}: ${b} bins (must be an integer 1..65535)`);
    offsets[c] = size;
    bins[c] = b;
    size += b;
  });
  return { offsets, bins, size };
}

/** Throws unless every entry of the first `rows` rows of `block` (row-major, one bin per column) is negative (missing) or a bin index of its column. */
function check(block: ArrayLike<number>, bins: Int32Array, rows = 1): void {
  const f = bins.length;
  if (!(Number.isInteger(rows) && rows >= 0) || block.length < rows * f) throw new RangeError(`${block.length} bins for ${rows} rows of ${f} columns`);
  for (let r = 0, i = 0; r < rows; r++) {
    for (let c = 0; c < f; c++, i++) {
      const b = block[i]!;
      // NaN and fractions too: a typed array ignores such an index, and the eviction would not.
      if (!(b < 0) && !((b | 0) === b && b < bins[c]!)) throw new RangeError(`${rows === 1 ? '' : `row ${r}, `}column ${c}: bin ${b} (has ${bins[c]} bins)`);
    }
  }
}

export class CountWindow {
  private readonly l: Layout;
  private readonly ring: Uint16Array;
  private readonly totals: Uint32Array;
  /** Ring slot the next row goes to. */
  private next = 0;
  private live = 0;
  private added = 0;
  /** totals no longer match the ring: recounted on the next read. */
  private stale = false;

  constructor(readonly capacityRows: number, binsPerColumn: readonly number[]) {
    if (!Number.isInteger(capacityRows) || capacityRows < 1) throw new RangeError(`capacityRows must be an integer >= 1, got ${capacityRows}`);
    this.l = layout(binsPerColumn);
    this.totals = new Uint32Array(this.l.size);
    this.ring = new Uint16Array(capacityRows * binsPerColumn.length);
  }

  /** Rows in the window now (≤ capacityRows). */
  get rows(): number {
    return this.live;
  }

  /** Rows ever added. */
  get total(): number {
    return this.added;
  }

  add(rowBins: ArrayLike<number>): void {
    this.addRows(rowBins, 1);
  }

  /**
   * Adds `rows` rows at once from `block` (row-major, one bin per column), as that many add()
   * calls would; a bad bin anywhere throws before any count changes.
   */
  addRows(block: ArrayLike<number>, rows: number): void {
    const f = this.l.offsets.length;
    check(block, this.l.bins, rows);
    const ring = this.ring;
    for (let r = 0; r < rows; r++) {
      const base = this.next * f;
      const from = r * f;
      for (let c = 0; c < f; c++) {
        const b = block[from + c]!;
        ring[base + c] = b < 0 ? MISSING : b;
      }
      this.next = this.next + 1 === this.capacityRows ? 0 : this.next + 1;
    }
    this.live = Math.min(this.capacityRows, this.live + rows);
    this.added += rows;
    if (rows > 0) this.stale = true;
  }

  /** Column `column`'s counts per bin over the window (a live view, see above). */
  counts(column: number): Uint32Array {
    if (this.stale) this.recount();
    return view(this.totals, this.l, column);
  }

  /** Why on read: rows are added far more often than the window is read (once per evaluation). */
  private recount(): void {
    const { offsets } = this.l;
    const f = offsets.length;
    const { ring, totals } = this;
    totals.fill(0);
    // The live rows are the first `live` slots: the ring fills from slot 0 and, once full, stays full.
    for (let i = 0, n = this.live * f; i < n; i += f) {
      for (let c = 0; c < f; c++) {
        const b = ring[i + c]!;
        if (b !== MISSING) totals[offsets[c]! + b]!++;
      }
    }
    this.stale = false;
  }
}

function view(totals: Uint32Array, l: Layout, column: number): Uint32Array {
  if (!(column >= 0 && column < l.bins.length)) throw new RangeError(`no column ${column} (${l.bins.length} columns)`);
  return totals.subarray(l.offsets[column]!, l.offsets[column]! + l.bins[column]!);
}

interface Bucket {
  /** floor(nowMs / sliceMs) of its rows; -Infinity while unused. */
  id: number;
  rows: number;
  readonly counts: Uint32Array;
}

export class TimeWindow {
  private readonly l: Layout;
  private readonly buckets: Bucket[];
  private readonly totals: Uint32Array;
  /** Per bin, the rows of every bucket dropped so far: with the buckets in use, every row ever added. */
  private readonly retired: Float64Array;
  private readonly sliceMs: number;
  /** Id of the newest bucket seen; time never goes back past it. */
  private newest = Number.NEGATIVE_INFINITY;
  private live = 0;
  /** totals no longer the sum of the buckets: recounted on the next read. */
  private stale = false;

  constructor(readonly spanMs: number, readonly slices: number, binsPerColumn: readonly number[]) {
    if (!(spanMs > 0 && Number.isFinite(spanMs))) throw new RangeError(`spanMs must be a finite number > 0, got ${spanMs}`);
    if (!Number.isInteger(slices) || slices < 1) throw new RangeError(`slices must be an integer >= 1, got ${slices}`);
    this.l = layout(binsPerColumn);
    this.totals = new Uint32Array(this.l.size);
    this.retired = new Float64Array(this.l.size);
    this.sliceMs = spanMs / slices;
    this.buckets = Array.from({ length: slices }, () => ({ id: Number.NEGATIVE_INFINITY, rows: 0, counts: new Uint32Array(this.l.size) }));
  }

  add(rowBins: ArrayLike<number>, nowMs: number): void {
    this.addRows(rowBins, 1, nowMs);
  }

  /** Adds `rows` rows at nowMs from `block` (row-major), as that many add() calls would; a bad bin throws before any count changes. */
  addRows(block: ArrayLike<number>, rows: number, nowMs: number): void {
    check(block, this.l.bins, rows);
    const id = this.advance(nowMs);
    const n = this.buckets.length;
    const bucket = this.buckets[((id % n) + n) % n]!;
    if (bucket.id !== id) {
      this.drop(bucket);
      bucket.id = id;
    }
    const { offsets } = this.l;
    const f = offsets.length;
    const counts = bucket.counts;
    for (let r = 0; r < rows; r++) {
      const from = r * f;
      for (let c = 0; c < f; c++) {
        const b = block[from + c]!;
        if (b >= 0) counts[offsets[c]! + b]!++;
      }
    }
    bucket.rows += rows;
    this.live += rows;
    if (rows > 0) this.stale = true;
  }

  /** Column `column`'s counts per bin over the window at nowMs (a live view, see above). */
  counts(column: number, nowMs: number): Uint32Array {
    this.advance(nowMs);
    if (this.stale) this.recount();
    return view(this.totals, this.l, column);
  }

  /** Rows in the window at nowMs. */
  rows(nowMs: number): number {
    this.advance(nowMs);
    return this.live;
  }

  /**
   * Writes into `out` (one entry per bin of every column, columns in order) the rows ever added,
   * expired ones included. Why kept this way, not as a running total: it costs the adds nothing.
   */
  everCounts(out: Float64Array): void {
    if (out.length !== this.l.size) throw new RangeError(`${out.length} entries for ${this.l.size} bins`);
    out.set(this.retired);
    for (const b of this.buckets) {
      if (b.rows === 0) continue;
      const counts = b.counts;
      for (let i = 0; i < out.length; i++) out[i]! += counts[i]!;
    }
  }

  /** Moves time to nowMs (never back), dropping the buckets that leave the `slices` newest; returns the current bucket id. */
  private advance(nowMs: number): number {
    const t = Math.floor(nowMs / this.sliceMs);
    if (!(Number.isFinite(t) && t > this.newest)) {
      if (this.newest === Number.NEGATIVE_INFINITY) this.newest = Number.isFinite(t) ? t : 0;
      return this.newest;
    }
    this.newest = t;
    for (const b of this.buckets) if (b.id <= t - this.buckets.length) this.drop(b);
    return t;
  }

  private drop(b: Bucket): void {
    if (b.rows > 0) {
      const counts = b.counts;
      for (let i = 0; i < counts.length; i++) this.retired[i]! += counts[i]!;
      counts.fill(0);
      this.live -= b.rows;
      b.rows = 0;
      this.stale = true;
    }
    b.id = Number.NEGATIVE_INFINITY;
  }

  /** The totals as the sum of the buckets in use; on read, for the reason CountWindow's are. */
  private recount(): void {
    const totals = this.totals;
    totals.fill(0);
    for (const b of this.buckets) {
      if (b.rows === 0) continue;
      const counts = b.counts;
      for (let i = 0; i < totals.length; i++) totals[i]! += counts[i]!;
    }
    this.stale = false;
  }
}
