// PSI, KS and JS (drift/stats.ts) and the binning (util/bins.ts) against an offline computation
// written here from raw values: a seeded generator (mulberry32, helpers/third-party.ts), a naive linear-scan binning and
// the textbook formulas, to 1e-9. And the edge cases: empty live bins, empty reference bins (PSI's
// floor), a window smaller than the bin count, a constant feature, an empty window, identical
// distributions, and a two-bin case by hand.
import { describe, expect, it } from 'vitest';
import { binCounts, binIndex } from '../src/util/bins.js';
import { js, ks, PSI_EPSILON, psi } from '../src/drift/stats.js';
import { prng as rng } from './helpers/third-party.js';

/** Naive binning: the first edge greater than v is the bin (left-closed rule). */
function naiveBin(edges: number[], v: number): number {
  for (let i = 0; i < edges.length; i++) if (v < edges[i]!) return i;
  return edges.length;
}

function naiveCounts(values: number[], edges: number[]): number[] {
  const c = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) c[naiveBin(edges, v)]!++;
  return c;
}

const sum = (a: number[]): number => a.reduce((s, x) => s + x, 0);

/** The formulas as written in docs/drift.md, term by term, no shortcuts. */
const offline = {
  psi(p: number[], c: number[]): number {
    const n = sum(c);
    let s = 0;
    for (let i = 0; i < p.length; i++) {
      const pe = Math.max(p[i]!, 1e-4);
      const qe = Math.max(c[i]! / n, 1e-4);
      s += (qe - pe) * Math.log(qe / pe);
    }
    return s;
  },
  ks(p: number[], c: number[]): number {
    const n = sum(c);
    let best = 0;
    for (let i = 0; i < p.length; i++) best = Math.max(best, Math.abs(sum(p.slice(0, i + 1)) - sum(c.slice(0, i + 1)) / n));
    return best;
  },
  js(p: number[], c: number[]): number {
    const q = c.map((x) => x / sum(c));
    const m = p.map((pi, i) => (pi + q[i]!) / 2);
    const kl = (a: number[]) => a.reduce((s, ai, i) => (ai === 0 ? s : s + ai * Math.log2(ai / m[i]!)), 0);
    return 0.5 * kl(p) + 0.5 * kl(q);
  },
};

function expectAgrees(p: number[], c: number[]): void {
  for (const [name, got, want] of [
    ['psi', psi(p, c), offline.psi(p, c)],
    ['ks', ks(p, c), offline.ks(p, c)],
    ['js', js(p, c), offline.js(p, c)],
  ] as const) {
    expect(got, name).not.toBeNull();
    expect(Math.abs(got! - want), `${name}: ${got} vs ${want}`).toBeLessThanOrEqual(1e-9);
  }
}

/** Decile edges of raw training values (deduplicated, never the minimum) and their shares. */
function decileReference(values: number[]): { edges: number[]; shares: number[] } {
  const sorted = [...values].sort((a, b) => a - b);
  const edges: number[] = [];
  for (let k = 1; k < 10; k++) {
    const v = sorted[Math.floor((k * values.length) / 10)]!;
    if (v > (edges.at(-1) ?? sorted[0]!)) edges.push(v);
  }
  return { edges, shares: naiveCounts(values, edges).map((x) => x / values.length) };
}

const sumOf3 = (r: () => number): number => r() + r() + r();

describe('binning', () => {
  it('binIndex and binCounts agree with a linear scan, edges and out-of-range values included', () => {
    const r = rng(11);
    for (let trial = 0; trial < 50; trial++) {
      const edges = [...new Set(Array.from({ length: Math.floor(r() * 12) }, () => Math.round(r() * 20) / 2))].sort((a, b) => a - b);
      // Values on the edges themselves, between them, and outside: a 0.5 grid from -2 to 12.
      const values = Array.from({ length: 300 }, () => Math.round(r() * 28 - 4) / 2);
      for (const v of values) expect(binIndex(edges, v)).toBe(naiveBin(edges, v));
      expect(Array.from(binCounts(values, edges))).toEqual(naiveCounts(values, edges));
    }
    expect([-Infinity, Infinity].map((v) => binIndex([1, 2], v))).toEqual([0, 2]);
    expect(Array.from(binCounts([Number.NaN, Infinity, 1.5], [1, 2]))).toEqual([0, 1, 0]);
    expect(Array.from(binCounts([3, 4], []))).toEqual([2]);
  });
});

describe('drift statistics against an offline computation from raw values', () => {
  it.each([
    ['the same distribution', (v: number) => v],
    ['shifted by 0.4', (v: number) => v + 0.4],
    ['scaled by 1.3', (v: number) => v * 1.3],
  ])('%s: psi, ks and js agree to 1e-9', (_name, transform) => {
    const ref = decileReference(Array.from({ length: 2000 }, ((r) => () => sumOf3(r))(rng(1))));
    const r = rng(2);
    const live = Array.from({ length: 1000 }, () => transform(sumOf3(r)));
    const c = Array.from(binCounts(live, ref.edges));
    expect(c).toEqual(naiveCounts(live, ref.edges));
    expectAgrees(ref.shares, c);
    if (transform(1) !== 1) expect(psi(ref.shares, c)!).toBeGreaterThan(0.2);
    else expect(psi(ref.shares, c)!).toBeLessThan(0.05);
  });

  it('random bins and windows over 200 seeds, empty reference and live bins included', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      // Random cut points (not quantiles): some reference bins come out empty, exercising the floor.
      const edges = [...new Set(Array.from({ length: 1 + Math.floor(r() * 15) }, () => r() * 3))].sort((a, b) => a - b);
      const train = Array.from({ length: 50 + Math.floor(r() * 500) }, () => sumOf3(r));
      const shares = naiveCounts(train, edges).map((x) => x / train.length);
      const shift = r() - 0.5;
      const live = Array.from({ length: 1 + Math.floor(r() * 300) }, () => sumOf3(r) + shift);
      expectAgrees(shares, naiveCounts(live, edges));
    }
  });

  it('a two-bin case by hand: p = (0.5, 0.5), q = (0.8, 0.2)', () => {
    // PSI: 0.3·ln(1.6) − 0.3·ln(0.4) = 0.3·ln 4; KS: |0.5 − 0.8|; JS with m = (0.65, 0.35).
    expect(psi([0.5, 0.5], [8, 2])).toBeCloseTo(0.41588830833596724, 12);
    expect(psi([0.5, 0.5], [8, 2])).toBeCloseTo(0.3 * Math.log(4), 12);
    expect(ks([0.5, 0.5], [8, 2])).toBeCloseTo(0.3, 12);
    expect(js([0.5, 0.5], [8, 2])).toBeCloseTo(0.07310400793180985, 12);
  });

  it('identical distributions give 0; disjoint ones give JS 1 and KS 1', () => {
    // The reference is the very values observed: q = p bin for bin.
    const values = Array.from({ length: 777 }, ((r) => () => sumOf3(r))(rng(5)));
    const ref = decileReference(values);
    const c = Array.from(binCounts(values, ref.edges));
    for (const f of [psi, ks, js]) expect(Math.abs(f(ref.shares, c)!)).toBeLessThanOrEqual(1e-12);
    expect([psi([0.25, 0.25, 0.5], [1, 1, 2]), ks([0.25, 0.25, 0.5], [1, 1, 2]), js([0.25, 0.25, 0.5], [1, 1, 2])]).toEqual([0, 0, 0]);
    expect(js([1, 0], [0, 5])).toBeCloseTo(1, 12);
    expect(ks([1, 0], [0, 5])).toBeCloseTo(1, 12);
  });

  it('empty live bins and empty reference bins: floored at PSI_EPSILON for PSI only, no renormalisation', () => {
    expect(PSI_EPSILON).toBe(1e-4);
    const p = [0, 0.5, 0.5];
    const c = [4, 0, 6];
    // By hand: q = (0.4, 0, 0.6) floored to (0.4, 1e-4, 0.6), p to (1e-4, 0.5, 0.5), not renormalised.
    const want = (0.4 - 1e-4) * Math.log(0.4 / 1e-4) + (1e-4 - 0.5) * Math.log(1e-4 / 0.5) + 0.1 * Math.log(0.6 / 0.5);
    expect(psi(p, c)).toBeCloseTo(want, 12);
    expect(Number.isFinite(psi(p, c)!)).toBe(true);
    expectAgrees(p, c);
    // JS: the p = 0 and q = 0 terms contribute 0, no floor.
    const m = [0.2, 0.25, 0.55];
    expect(js(p, c)).toBeCloseTo(0.5 * (0.5 * Math.log2(0.5 / 0.25) + 0.5 * Math.log2(0.5 / 0.55)) + 0.5 * (0.4 * Math.log2(0.4 / m[0]!) + 0.6 * Math.log2(0.6 / 0.55)), 12);
  });

  it('a window smaller than the bin count (3 rows, 10 bins) is computed, not refused', () => {
    const ref = decileReference(Array.from({ length: 500 }, ((r) => () => sumOf3(r))(rng(3))));
    expect(ref.shares).toHaveLength(10);
    const c = naiveCounts([1.2, 1.5, 2.9], ref.edges);
    expect(sum(c)).toBe(3);
    expectAgrees(ref.shares, c);
  });

  it('a constant feature (one bin) is 0 for every statistic; an empty window is null; mismatched lengths throw', () => {
    expect([psi([1], [7]), ks([1], [7]), js([1], [7])]).toEqual([0, 0, 0]);
    expect([psi([1], [0]), ks([1], [0]), js([1], [0])]).toEqual([null, null, null]);
    expect([psi([0.5, 0.5], [0, 0]), ks([0.5, 0.5], Uint32Array.from([0, 0])), js([0.5, 0.5], [0, 0])]).toEqual([null, null, null]);
    for (const f of [psi, ks, js]) expect(() => f([0.5, 0.5], [1, 2, 3])).toThrow(RangeError);
  });
});
