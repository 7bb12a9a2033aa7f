// Sliding-window bin counts of F columns (drift features and outputs), one bin index per column
// per row, -1 for "no value in this row" (skipped, not counted).
// - CountWindow: the last `capacityRows` rows, as a ring of bin indices; adding a row past capacity
//   subtracts the evicted row's bins. add() is O(F).
// - TimeWindow: the rows of the last spanMs, kept as `slices` sub-buckets of spanMs/slices; a whole
//   bucket expires at once, so the window covers between spanMs − spanMs/slices and spanMs. add()
//   is O(F), expiring a bucket O(total bins). A clock that steps back adds to the newest bucket.
// counts(column) returns a live view: valid until the next add(); copy it to keep it.

const MISSING = 0xffff;

/** Column c's bins live at offsets[c] .. offsets[c] + bins[c] of one flat counts array. */
function layout(binsPerColumn: readonly number[]): { offsets: Uint32Array; size: number } {
  const offsets = new Uint32Array(binsPerColumn.length);
  let size = 0;
  binsPerColumn.forEach((b, c) => {
    if (!Number.isInteger(b) || b < 1 || b >= MISSING) throw new RangeError(`column ${c}: ${b} bins (1..65534)`);
    offsets[c] = size;
    size += b;
  });
  return { offsets, size };
}

export class CountWindow {
  private readonly ring: Uint16Array;
  private readonly totals: Uint32Array;
  private readonly offsets: Uint32Array;
  private next = 0;
  /** Rows in the window now (≤ capacityRows). */
  rows = 0;
  /** Rows ever added. */
  total = 0;

  constructor(readonly capacityRows: number, private readonly binsPerColumn: readonly number[]) {
    if (!Number.isInteger(capacityRows) || capacityRows < 1) throw new RangeError(`capacityRows must be an integer >= 1, got ${capacityRows}`);
    const l = layout(binsPerColumn);
    this.offsets = l.offsets;
    this.totals = new Uint32Array(l.size);
    this.ring = new Uint16Array(capacityRows * binsPerColumn.length);
  }

  add(rowBins: ArrayLike<number>): void {
    const f = this.binsPerColumn.length;
    const base = this.next * f;
    if (this.rows === this.capacityRows) {
      for (let c = 0; c < f; c++) {
        const old = this.ring[base + c]!;
        if (old !== MISSING) this.totals[this.offsets[c]! + old]!--;
      }
    } else this.rows++;
    for (let c = 0; c < f; c++) {
      const b = rowBins[c]!;
      if (b < 0) this.ring[base + c] = MISSING;
      else {
        this.ring[base + c] = b;
        this.totals[this.offsets[c]! + b]!++;
      }
    }
    this.next = (this.next + 1) % this.capacityRows;
    this.total++;
  }

  counts(column: number): Uint32Array {
    return this.totals.subarray(this.offsets[column]!, this.offsets[column]! + this.binsPerColumn[column]!);
  }
}

interface Slice {
  id: number;
  rows: number;
  readonly counts: Uint32Array;
}

export class TimeWindow {
  private readonly slices: Slice[];
  private readonly totals: Uint32Array;
  private readonly offsets: Uint32Array;
  private readonly sliceMs: number;
  private newest = Number.NEGATIVE_INFINITY;
  private liveRows = 0;

  constructor(readonly spanMs: number, sliceCount: number, private readonly binsPerColumn: readonly number[]) {
    if (!(spanMs > 0) || !Number.isInteger(sliceCount) || sliceCount < 1) throw new RangeError(`time window: spanMs ${spanMs}, slices ${sliceCount}`);
    const l = layout(binsPerColumn);
    this.offsets = l.offsets;
    this.totals = new Uint32Array(l.size);
    this.sliceMs = spanMs / sliceCount;
    this.slices = Array.from({ length: sliceCount }, () => ({ id: -1, rows: 0, counts: new Uint32Array(l.size) }));
  }

  add(rowBins: ArrayLike<number>, nowMs: number): void {
    const id = this.advance(nowMs);
    const slot = this.slices[id % this.slices.length]!;
    if (slot.id !== id) {
      this.clear(slot);
      slot.id = id;
    }
    for (let c = 0; c < this.binsPerColumn.length; c++) {
      const b = rowBins[c]!;
      if (b < 0) continue;
      slot.counts[this.offsets[c]! + b]!++;
      this.totals[this.offsets[c]! + b]!++;
    }
    slot.rows++;
    this.liveRows++;
  }

  counts(column: number, nowMs: number): Uint32Array {
    this.advance(nowMs);
    return this.totals.subarray(this.offsets[column]!, this.offsets[column]! + this.binsPerColumn[column]!);
  }

  rows(nowMs: number): number {
    this.advance(nowMs);
    return this.liveRows;
  }

  /** Expires buckets older than the span; returns the bucket id of `nowMs` (never older than the newest seen). */
  private advance(nowMs: number): number {
    const id = Math.max(Math.floor(nowMs / this.sliceMs), this.newest);
    if (id !== this.newest) {
      this.newest = id;
      for (const s of this.slices) if (s.id !== -1 && s.id <= id - this.slices.length) this.clear(s);
    }
    return id;
  }

  private clear(s: Slice): void {
    if (s.rows > 0) {
      for (let i = 0; i < s.counts.length; i++) this.totals[i]! -= s.counts[i]!;
      s.counts.fill(0);
      this.liveRows -= s.rows;
      s.rows = 0;
    }
    s.id = -1;
  }
}
