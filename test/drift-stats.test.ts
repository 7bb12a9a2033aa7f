// PSI, KS and JS (drift/stats.ts) and the windows (drift/window.ts) against an offline computation
// written here from raw values — a seeded generator, a naive linear-scan binning, the textbook
// formulas — to 1e-9; and the edge cases: empty bins, a window smaller than the bin count,
// a constant feature, an empty window.
import { describe, expect, it } from 'vitest';
import { binIndex } from '../src/drift/bins.js';
import { js, ks, PSI_EPSILON, psi } from '../src/drift/stats.js';
import { CountWindow, TimeWindow } from '../src/drift/window.js';

/** mulberry32: a tiny seeded generator, independent of the project's PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Naive binning: the first edge greater than v is the bin (left-closed rule). */
function naiveBin(edges: number[], v: number): number {
  for (let i = 0; i < edges.length; i++) if (v < edges[i]!) return i;
  return edges.length;
}

function counts(values: number[], edges: number[]): number[] {
  const c = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) c[naiveBin(edges, v)]!++;
  return c;
}

const offline = {
  psi(p: number[], c: number[]): number {
    const n = c.reduce((a, b) => a + b, 0);
    return p.reduce((s, pi, i) => {
      const pe = Math.max(pi, 1e-4);
      const qe = Math.max(c[i]! / n, 1e-4);
      return s + (qe - pe) * Math.log(qe / pe);
    }, 0);
  },
  ks(p: number[], c: number[]): number {
    const n = c.reduce((a, b) => a + b, 0);
    let best = 0;
    for (let i = 0; i < p.length; i++) {
      const cp = p.slice(0, i + 1).reduce((a, b) => a + b, 0);
      const cq = c.slice(0, i + 1).reduce((a, b) => a + b, 0) / n;
      best = Math.max(best, Math.abs(cp - cq));
    }
    return best;
  },
  js(p: number[], c: number[]): number {
    const n = c.reduce((a, b) => a + b, 0);
    const q = c.map((x) => x / n);
    const kl = (a: number[], m: number[]) => a.reduce((s, ai, i) => (ai === 0 ? s : s + ai * Math.log2(ai / m[i]!)), 0);
    const m = p.map((pi, i) => (pi + q[i]!) / 2);
    return 0.5 * kl(p, m) + 0.5 * kl(q, m);
  },
};

/** A reference from `n` standard-normal-ish training values: decile edges and their shares. */
function reference(seed: number, n: number): { edges: number[]; shares: number[] } {
  const r = rng(seed);
  const values = Array.from({ length: n }, () => r() + r() + r());
  const sorted = [...values].sort((a, b) => a - b);
  const edges = [...new Set([1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => sorted[Math.floor((k * n) / 10)]!))];
  return { edges, shares: counts(values, edges).map((c) => c / n) };
}

describe('drift statistics against an offline computation', () => {
  it.each([
    ['same distribution', 0],
    ['shifted by 0.4', 0.4],
    ['scaled by 1.3', -1],
  ])('%s: psi, ks and js agree to 1e-9 on the binned data', (_name, shift) => {
    const ref = reference(1, 2000);
    const r = rng(2);
    const live = Array.from({ length: 1000 }, () => {
      const v = r() + r() + r();
      return shift === -1 ? v * 1.3 : v + shift;
    });
    const c = counts(live, ref.edges);
    // The project's binary search bins exactly like the naive scan.
    for (const v of live) expect(binIndex(ref.edges, v)).toBe(naiveBin(ref.edges, v));
    expect(psi(ref.shares, c)).toBeCloseTo(offline.psi(ref.shares, c), 9);
    expect(ks(ref.shares, c)).toBeCloseTo(offline.ks(ref.shares, c), 9);
    expect(js(ref.shares, c)).toBeCloseTo(offline.js(ref.shares, c), 9);
    if (shift !== 0) expect(psi(ref.shares, c)!).toBeGreaterThan(0.2);
  });

  it('a two-bin case by hand', () => {
    // p = (0.5, 0.5), q = (0.8, 0.2)
    expect(psi([0.5, 0.5], [8, 2])).toBeCloseTo(0.3 * Math.log(1.6) + -0.3 * Math.log(0.4), 12);
    expect(ks([0.5, 0.5], [8, 2])).toBeCloseTo(0.3, 12);
    const m = [0.65, 0.35];
    const expected = 0.5 * (0.5 * Math.log2(0.5 / m[0]!) + 0.5 * Math.log2(0.5 / m[1]!)) + 0.5 * (0.8 * Math.log2(0.8 / m[0]!) + 0.2 * Math.log2(0.2 / m[1]!));
    expect(js([0.5, 0.5], [8, 2])).toBeCloseTo(expected, 12);
  });

  it('identical shares give 0; disjoint ones give JS 1 and KS 1', () => {
    expect(psi([0.25, 0.25, 0.5], [1, 1, 2])).toBeCloseTo(0, 12);
    expect(ks([0.25, 0.25, 0.5], [1, 1, 2])).toBeCloseTo(0, 12);
    expect(js([0.25, 0.25, 0.5], [1, 1, 2])).toBeCloseTo(0, 12);
    expect(js([1, 0], [0, 5])).toBeCloseTo(1, 12);
    expect(ks([1, 0], [0, 5])).toBeCloseTo(1, 12);
  });

  it('empty live bins and empty reference bins are floored for PSI only', () => {
    const p = [0, 0.5, 0.5];
    const c = [4, 0, 6];
    const q = [0.4, 0, 0.6];
    const want = q.reduce((s, qi, i) => {
      const pe = Math.max(p[i]!, PSI_EPSILON);
      const qe = Math.max(qi, PSI_EPSILON);
      return s + (qe - pe) * Math.log(qe / pe);
    }, 0);
    expect(psi(p, c)).toBeCloseTo(want, 12);
    expect(Number.isFinite(psi(p, c)!)).toBe(true);
    expect(js(p, c)).toBeCloseTo(offline.js(p, c), 12);
    expect(ks(p, c)).toBeCloseTo(offline.ks(p, c), 12);
  });

  it('a window smaller than the bin count (3 rows, 10 bins) is computed, not refused', () => {
    const ref = reference(3, 500);
    const c = counts([1.2, 1.5, 2.9], ref.edges);
    expect(c.reduce((a, b) => a + b, 0)).toBe(3);
    expect(psi(ref.shares, c)).toBeCloseTo(offline.psi(ref.shares, c), 9);
    expect(ks(ref.shares, c)).toBeCloseTo(offline.ks(ref.shares, c), 9);
    expect(js(ref.shares, c)).toBeCloseTo(offline.js(ref.shares, c), 9);
  });

  it('a constant feature (one bin) is 0 for every statistic; an empty window is null', () => {
    expect([psi([1], [7]), ks([1], [7]), js([1], [7])]).toEqual([0, 0, 0]);
    expect([psi([0.5, 0.5], [0, 0]), ks([0.5, 0.5], [0, 0]), js([0.5, 0.5], [0, 0])]).toEqual([null, null, null]);
    expect(() => psi([0.5, 0.5], [1, 2, 3])).toThrow(RangeError);
  });
});

describe('windows against a brute-force recount', () => {
  const bins = [3, 5, 2];
  const randomRow = (r: () => number): number[] => bins.map((b) => (r() < 0.1 ? -1 : Math.floor(r() * b)));

  it('the count window holds exactly the last N rows, across wrap-around and missing values', () => {
    for (const capacity of [1, 7, 50]) {
      const w = new CountWindow(capacity, bins);
      const r = rng(capacity);
      const rows: number[][] = [];
      for (let i = 0; i < 333; i++) {
        const row = randomRow(r);
        rows.push(row);
        w.add(row);
        if (i % 37 !== 0) continue;
        const last = rows.slice(-capacity);
        expect(w.rows).toBe(last.length);
        bins.forEach((b, c) => {
          const want = new Array<number>(b).fill(0);
          for (const row2 of last) if (row2[c]! >= 0) want[row2[c]!]!++;
          expect(Array.from(w.counts(c))).toEqual(want);
        });
      }
      expect(w.total).toBe(333);
    }
  });

  it('the time window holds the rows of its live slices; a clock stepping back adds to the newest', () => {
    const w = new TimeWindow(1000, 10, bins);
    const r = rng(9);
    const rows: { t: number; row: number[] }[] = [];
    let t = 0;
    for (let i = 0; i < 500; i++) {
      t += Math.floor(r() * 20);
      const row = randomRow(r);
      rows.push({ t, row });
      w.add(row, t);
      if (i % 41 !== 0) continue;
      // Live: rows whose 100 ms slice is among the last 10 slices.
      const slice = Math.floor(t / 100);
      const live = rows.filter((x) => Math.floor(x.t / 100) > slice - 10);
      expect(w.rows(t)).toBe(live.length);
      bins.forEach((b, c) => {
        const want = new Array<number>(b).fill(0);
        for (const x of live) if (x.row[c]! >= 0) want[x.row[c]!]!++;
        expect(Array.from(w.counts(c, t))).toEqual(want);
      });
    }
    const before = w.rows(t);
    w.add([0, 0, 0], t - 5000);
    expect(w.rows(t)).toBe(before + 1);
    expect(w.rows(t + 10_000)).toBe(0);
  });
});
