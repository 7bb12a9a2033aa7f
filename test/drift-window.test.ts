// The sliding windows (drift/window.ts) against a brute-force recount of the rows they should
// hold, after seeded random sequences: the count window across many wrap-arounds, capacity 1,
// missing values; the time window's buckets, its coverage bounds, a clock that steps back, long
// gaps. And what they refuse.
import { describe, expect, it } from 'vitest';
import { CountWindow, TimeWindow } from '../src/drift/window.js';
import { prng as rng } from './helpers/third-party.js';

const BINS = [3, 5, 2, 1, 12];

/** A row of bin indices, about 10% of them -1 (no value). */
function randomRow(r: () => number, bins = BINS): number[] {
  return bins.map((b) => (r() < 0.1 ? -1 : Math.floor(r() * b)));
}

function recount(rows: number[][], bins = BINS): number[][] {
  return bins.map((b, c) => {
    const want = new Array<number>(b).fill(0);
    for (const row of rows) if (row[c]! >= 0) want[row[c]!]!++;
    return want;
  });
}

const countsOf = (get: (c: number) => Uint32Array, bins = BINS): number[][] => bins.map((_, c) => Array.from(get(c)));

describe('CountWindow', () => {
  it.each([1, 2, 7, 50, 1000])('capacity %i: exactly the last N rows after every add, across wrap-arounds', (capacity) => {
    const w = new CountWindow(capacity, BINS);
    const r = rng(capacity);
    const rows: number[][] = [];
    for (let i = 0; i < 600; i++) {
      const row = randomRow(r);
      rows.push(row);
      w.add(row);
      const last = rows.slice(-capacity);
      expect(w.rows).toBe(last.length);
      expect(w.total).toBe(i + 1);
      expect(countsOf((c) => w.counts(c))).toEqual(recount(last));
    }
  });

  it('capacity 1 holds only the newest row; a missing value evicts nothing it did not count', () => {
    const w = new CountWindow(1, [4]);
    w.add([2]);
    expect(Array.from(w.counts(0))).toEqual([0, 0, 1, 0]);
    w.add([-1]);
    expect(Array.from(w.counts(0))).toEqual([0, 0, 0, 0]);
    expect(w.rows).toBe(1);
    w.add([3]);
    expect(Array.from(w.counts(0))).toEqual([0, 0, 0, 1]);
    expect(w.total).toBe(3);
  });

  it('takes Int32Array rows (the monitor scratch) like arrays; the 65535th bin is not confused with "missing"', () => {
    const w = new CountWindow(2, [65535, 1]);
    const row = new Int32Array([65534, 0]);
    w.add(row);
    w.add(row);
    w.add(Int32Array.from([0, -1]));
    expect(w.counts(0)[65534]).toBe(1);
    expect(w.counts(0)[0]).toBe(1);
    expect(Array.from(w.counts(1))).toEqual([1]);
  });

  it('refuses bad sizes and bad bins, a bad bin before any count changes', () => {
    expect(() => new CountWindow(0, [2])).toThrow(RangeError);
    expect(() => new CountWindow(1.5, [2])).toThrow(RangeError);
    expect(() => new CountWindow(3, [0])).toThrow(RangeError);
    expect(() => new CountWindow(3, [65536])).toThrow(RangeError);
    const w = new CountWindow(3, [2, 2]);
    w.add([1, 1]);
    for (const bad of [[0, 2], [0, 0.5], [Number.NaN, 0], [0]]) expect(() => w.add(bad)).toThrow(RangeError);
    expect(countsOf((c) => w.counts(c), [2, 2])).toEqual([[0, 1], [0, 1]]);
    expect(w.rows).toBe(1);
    expect(() => w.counts(2)).toThrow(RangeError);
  });
});

describe('TimeWindow', () => {
  /** The rows the window must hold at `nowMs`: those whose bucket is among the `slices` newest. */
  function live(rows: { t: number; row: number[] }[], nowMs: number, sliceMs: number, slices: number): { t: number; row: number[] }[] {
    const newest = Math.floor(nowMs / sliceMs);
    return rows.filter((x) => Math.floor(x.t / sliceMs) > newest - slices);
  }

  it.each([
    [1000, 10, 20],
    [1000, 1, 7],
    [60_000, 10, 900],
    [999, 7, 50],
  ])('span %i ms in %i slices: the rows of its live buckets, checked against a recount (steps up to %i ms)', (spanMs, slices, maxStepMs) => {
    const w = new TimeWindow(spanMs, slices, BINS);
    const sliceMs = spanMs / slices;
    const r = rng(spanMs + slices);
    const rows: { t: number; row: number[] }[] = [];
    let t = 1_700_000_000_000;
    for (let i = 0; i < 800; i++) {
      // Now and then a gap longer than the whole span.
      t += r() < 0.02 ? spanMs * 3 : Math.floor(r() * maxStepMs);
      const row = randomRow(r);
      rows.push({ t, row });
      w.add(row, t);
      if (i % 13 !== 0) continue;
      const want = live(rows, t, sliceMs, slices);
      expect(w.rows(t)).toBe(want.length);
      expect(countsOf((c) => w.counts(c, t))).toEqual(recount(want.map((x) => x.row)));
      // The documented coverage: everything newer than spanMs − sliceMs is in, nothing older than spanMs.
      const held = new Set(want);
      for (const x of rows) {
        if (x.t > t - (spanMs - sliceMs)) expect(held.has(x)).toBe(true);
        if (x.t <= t - spanMs) expect(held.has(x)).toBe(false);
      }
    }
  });

  it('reading later expires whole buckets without an add; after a long gap it is empty', () => {
    const w = new TimeWindow(1000, 10, [3]);
    w.add([0], 0);
    w.add([1], 450);
    w.add([2], 999);
    expect(Array.from(w.counts(0, 999))).toEqual([1, 1, 1]);
    expect(Array.from(w.counts(0, 1000))).toEqual([0, 1, 1]); // bucket [0, 100) dropped
    expect(w.rows(1399)).toBe(2);
    expect(w.rows(1400)).toBe(1); // bucket [400, 500) dropped: 450 is between 900 and 1000 ms old
    expect(w.rows(1_000_000)).toBe(0);
    expect(Array.from(w.counts(0, 1_000_000))).toEqual([0, 0, 0]);
  });

  it('a clock that steps back counts as the newest bucket: no throw, nothing lost, time never rewinds', () => {
    const w = new TimeWindow(1000, 10, [2]);
    w.add([0], 5000);
    w.add([1], 1000); // 4 s in the past: lands in 5000's bucket
    expect(w.rows(5000)).toBe(2);
    expect(w.rows(0)).toBe(2); // reading at an older time reads the newest state
    expect(Array.from(w.counts(0, 5099))).toEqual([1, 1]);
    expect(w.rows(6000)).toBe(0);
    expect(() => w.add([1], Number.NaN)).not.toThrow();
    expect(() => w.add([1], Number.POSITIVE_INFINITY)).not.toThrow();
    expect(w.rows(6000)).toBe(2);
  });

  it('negative and fractional times bucket like any others', () => {
    const w = new TimeWindow(100, 4, [2]);
    w.add([0], -130.5);
    w.add([1], -60);
    expect(w.rows(-60)).toBe(2);
    expect(w.rows(-30)).toBe(1); // -130.5 is in bucket [-150, -125), older than 4 buckets back
    expect(Array.from(w.counts(0, -30))).toEqual([0, 1]);
    // Crossing 0: buckets -2, -1, 0 and 1 are four distinct live buckets.
    const z = new TimeWindow(100, 4, [2]);
    for (const t of [-30, -10, 5, 30]) z.add([t < 0 ? 0 : 1], t);
    expect(z.rows(30)).toBe(4);
    expect(Array.from(z.counts(0, 30))).toEqual([2, 2]);
  });

  it('everCounts: every row ever added, per bin of every column in order, through expiries, steps back and long gaps', () => {
    const r = rng(11);
    const w = new TimeWindow(1000, 10, BINS);
    const added: number[][] = [];
    let t = 0;
    for (let i = 0; i < 3000; i++) {
      t += r() < 0.01 ? 5000 : r() < 0.05 ? -300 : r() * 20; // mostly forward, some gaps, some steps back
      const row = randomRow(r);
      w.add(row, t);
      added.push(row);
      if (i % 500 === 499) w.rows(t + 2000); // a read that expires buckets on its own
    }
    const out = new Float64Array(BINS.reduce((a, b) => a + b, 0));
    w.everCounts(out);
    expect(Array.from(out)).toEqual(recount(added).flat());
    expect(w.rows(t + 1_000_000)).toBe(0); // every bucket expired: still counted ever
    w.everCounts(out);
    expect(Array.from(out)).toEqual(recount(added).flat());
    expect(() => w.everCounts(new Float64Array(3))).toThrow(RangeError);
  });

  it('refuses bad sizes and bad bins', () => {
    expect(() => new TimeWindow(0, 10, [2])).toThrow(RangeError);
    expect(() => new TimeWindow(Number.POSITIVE_INFINITY, 10, [2])).toThrow(RangeError);
    expect(() => new TimeWindow(1000, 0, [2])).toThrow(RangeError);
    const w = new TimeWindow(1000, 10, [2]);
    expect(() => w.add([2], 0)).toThrow(RangeError);
    expect(w.rows(0)).toBe(0);
  });
});

describe('addRows: a block of rows at once (what the drift monitor commits per batch)', () => {
  /** Random blocks of 0..9 rows (row-major), some bigger than a small window's capacity. */
  function blocks(seed: number, n: number): number[][][] {
    const r = rng(seed);
    return Array.from({ length: n }, () => Array.from({ length: Math.floor(r() * 10) }, () => randomRow(r)));
  }

  it.each([1, 3, 8, 100])('CountWindow of capacity %i: the same counts as one add() per row, read after every block and not', (capacity) => {
    const a = new CountWindow(capacity, BINS);
    const b = new CountWindow(capacity, BINS);
    blocks(capacity, 300).forEach((block, i) => {
      a.addRows(Int32Array.from(block.flat()), block.length);
      for (const row of block) b.add(row);
      // Reading only now and then leaves several blocks between reads.
      if (i % 7 === 0 || capacity === 1) expect(countsOf((c) => a.counts(c))).toEqual(countsOf((c) => b.counts(c)));
      expect([a.rows, a.total]).toEqual([b.rows, b.total]);
    });
    expect(countsOf((c) => a.counts(c))).toEqual(countsOf((c) => b.counts(c)));
  });

  it('TimeWindow: the same counts as one add() per row, across expiring buckets', () => {
    const a = new TimeWindow(1000, 10, BINS);
    const b = new TimeWindow(1000, 10, BINS);
    const r = rng(5);
    let t = 0;
    blocks(11, 400).forEach((block, i) => {
      t += Math.floor(r() * 60);
      a.addRows(Int32Array.from(block.flat()), block.length, t);
      for (const row of block) b.add(row, t);
      if (i % 5 === 0) {
        expect(a.rows(t)).toBe(b.rows(t));
        expect(countsOf((c) => a.counts(c, t))).toEqual(countsOf((c) => b.counts(c, t)));
      }
    });
  });

  it('a bad bin in any row of a block throws before any count changes; a block shorter than its rows is refused', () => {
    const cw = new CountWindow(4, [2, 2]);
    const tw = new TimeWindow(1000, 10, [2, 2]);
    cw.add([1, 1]);
    tw.add([1, 1], 0);
    const bad = [0, 0, 1, 1, 0, 2]; // row 2, column 1: bin 2 of 2
    expect(() => cw.addRows(bad, 3)).toThrow(/row 2, column 1/);
    expect(() => tw.addRows(bad, 3, 0)).toThrow(RangeError);
    expect(() => cw.addRows([0, 0, 1], 2)).toThrow(RangeError);
    expect(countsOf((c) => cw.counts(c), [2, 2])).toEqual([[0, 1], [0, 1]]);
    expect(countsOf((c) => tw.counts(c, 0), [2, 2])).toEqual([[0, 1], [0, 1]]);
    expect([cw.rows, cw.total, tw.rows(0)]).toEqual([1, 1, 1]);
  });
});
