// Running statistics of a (primary, shadow) pair (src/shadow/pair-stats.ts) read back through
// report(), the admin API's wire object; and the latency histogram's stated error.
import { describe, expect, it } from 'vitest';
import { createComparer } from '../src/shadow/compare.js';
import { LatencyHistogram, QUANTILE_RELATIVE_ERROR } from '../src/shadow/latency-histogram.js';
import { PairStats } from '../src/shadow/pair-stats.js';
import type { Tensor } from '../src/types.js';

const f64 = (name: string, shape: number[], v: number[]): Tensor => ({ name, datatype: 'FP64', shape, data: Float64Array.from(v) });
const T0 = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
const cmp = createComparer({ topK: 2 });

describe('report', () => {
  it('is all null / zero before anything was measured', () => {
    expect(new PairStats('1', '2', T0).report()).toEqual({
      primary: '1', shadow: '2', since: '2025-01-02T03:04:05.678Z',
      mirrored: 0, compared: 0, errored: 0, dropped: { queue_full: 0, deadline: 0, shutting_down: 0, error: 0 },
      rows: 0, agreement: null, topk_agreement: null, outputs: {},
      latency_us: { primary: { p50: null, p99: null }, shadow: { p50: null, p99: null } },
      labeled: 0, accuracy: { primary: null, shadow: null },
    });
  });

  it('identical answers: full agreement, zero differences, zero divergence; JSON round-trips', () => {
    const s = new PairStats('1', '2', T0);
    const a = () => [f64('probabilities', [2, 3], [0.7, 0.2, 0.1, 0.1, 0.3, 0.6])];
    for (let i = 0; i < 3; i++) {
      s.recordMirrored();
      s.recordCompared(cmp.compare(a(), a()), 100, 200);
    }
    s.recordMirrored();
    s.recordDropped('queue_full');
    s.recordDropped('deadline');
    s.recordDropped('deadline');
    s.recordDropped('shutting_down');
    s.recordDropped('error');
    s.recordLabeled(4, 3, 2);
    const r = s.report();
    expect(r).toEqual({
      primary: '1', shadow: '2', since: '2025-01-02T03:04:05.678Z',
      mirrored: 4, compared: 3, errored: 0, dropped: { queue_full: 1, deadline: 2, shutting_down: 1, error: 1 },
      rows: 6, agreement: 1, topk_agreement: 1,
      outputs: { probabilities: { mean_abs_diff: 0, max_abs_diff: 0, mean_rel_diff: 0, max_rel_diff: 0, js_divergence: 0 } },
      latency_us: { primary: { p50: 100, p99: 100 }, shadow: { p50: 200, p99: 200 } },
      labeled: 4, accuracy: { primary: 0.75, shadow: 0.5 },
    });
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('running means are element-weighted over requests; maxima are running maxima', () => {
    const s = new PairStats('1', '2', T0);
    // Request A: 1 row, |diff| 0.1 and 0.1. Request B: 3 rows, only the first differs (0.4 and
    // 0.4) and disagrees. Element-weighted: (0.1·2 + 0.4·2) / 8 elements.
    s.recordCompared(cmp.compare([f64('probabilities', [1, 2], [0.6, 0.4])], [f64('probabilities', [1, 2], [0.7, 0.3])]), 1, 1);
    s.recordCompared(
      cmp.compare(
        [f64('probabilities', [3, 2], [0.7, 0.3, 0.7, 0.3, 0.3, 0.7])],
        [f64('probabilities', [3, 2], [0.3, 0.7, 0.7, 0.3, 0.3, 0.7])],
      ),
      1,
      1,
    );
    const r = s.report();
    expect(r.rows).toBe(4);
    expect(r.agreement).toBeCloseTo(3 / 4, 12);
    const o = r.outputs.probabilities!;
    expect(o.mean_abs_diff).toBeCloseTo((0.1 * 2 + 0.4 * 2) / 8, 12);
    expect(o.max_abs_diff).toBeCloseTo(0.4, 12);
    const kl = (p: number[], q: number[]) => p.reduce((x, a, i) => x + a * Math.log(a / q[i]!), 0);
    const js = (p: number[], q: number[]) => {
      const m = p.map((a, i) => (a + q[i]!) / 2);
      return (kl(p, m) + kl(q, m)) / 2;
    };
    expect(o.js_divergence).toBeCloseTo((js([0.6, 0.4], [0.7, 0.3]) + js([0.7, 0.3], [0.3, 0.7])) / 4, 12);
  });

  it('a shape mismatch counts as errored, not as a disagreement', () => {
    const s = new PairStats('1', '2', T0);
    s.recordCompared(cmp.compare([f64('probabilities', [1, 2], [0.5, 0.5])], [f64('probabilities', [1, 3], [0.2, 0.3, 0.5])]), 5, 5);
    expect(s.report()).toMatchObject({ compared: 1, errored: 1, rows: 0, agreement: null, outputs: {} });
  });

  it('reset zeroes every count and restarts since', () => {
    const s = new PairStats('3', '4', T0);
    const a = () => [f64('probabilities', [1, 2], [0.9, 0.1])];
    s.recordMirrored();
    s.recordCompared(cmp.compare(a(), [f64('probabilities', [1, 2], [0.1, 0.9])]), 10, 20);
    s.recordDropped('error');
    s.recordLabeled(1, 1, 0);
    s.reset(T0 + 60_000);
    expect(s.report()).toEqual({ ...new PairStats('3', '4', T0 + 60_000).report() });
    expect(s.report().since).toBe('2025-01-02T03:05:05.678Z');
    s.recordCompared(cmp.compare(a(), a()), 30, 40);
    expect(s.report()).toMatchObject({ compared: 1, mirrored: 0, rows: 1, agreement: 1, latency_us: { primary: { p50: 30 }, shadow: { p50: 40 } } });
    expect(s.report().outputs.probabilities!.max_abs_diff).toBe(0);
  });
});

describe('latency percentiles', () => {
  it('states an error of about 2.2%', () => {
    expect(QUANTILE_RELATIVE_ERROR).toBeCloseTo(0.0219, 4);
  });

  it('p50 / p99 of 1..100000 µs (shuffled) are within the stated error of the nearest-rank value', () => {
    const n = 100_000;
    const values = Array.from({ length: n }, (_, i) => i + 1);
    let seed = 12345; // deterministic shuffle
    for (let i = n - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const j = seed % (i + 1);
      [values[i], values[j]] = [values[j]!, values[i]!];
    }
    const h = new LatencyHistogram();
    for (const v of values) h.record(v);
    for (const [q, truth] of [[0.5, 50_000], [0.99, 99_000], [0.9, 90_000], [0.001, 100]] as const) {
      const est = h.quantile(q)!;
      expect(Math.abs(est - truth) / truth, `q=${q} est=${est}`).toBeLessThanOrEqual(QUANTILE_RELATIVE_ERROR + 1e-12);
    }
    expect(h.quantile(0)).toBe(1); // the first and last ranks are the exact min and max
    expect(h.quantile(1)).toBe(n);
  });

  it('a heavy tail: 98 fast, 2 slow samples (p99 is the 99th value)', () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 98; i++) h.record(250);
    h.record(1_000_000);
    h.record(3_000_000);
    const p50 = h.quantile(0.5)!;
    expect(Math.abs(p50 - 250) / 250).toBeLessThanOrEqual(QUANTILE_RELATIVE_ERROR);
    const p99 = h.quantile(0.99)!;
    expect(Math.abs(p99 - 1_000_000) / 1_000_000).toBeLessThanOrEqual(QUANTILE_RELATIVE_ERROR);
    expect(h.quantile(1)).toBe(3_000_000);
  });

  it('ignores negative and NaN samples, keeps sub-µs ones, clamps overflow into the top bucket', () => {
    const h = new LatencyHistogram();
    h.record(-5);
    h.record(NaN);
    expect(h.count).toBe(0);
    h.record(0.25);
    expect(h.quantile(0.5)).toBe(0.25);
    h.record(2 ** 40);
    h.record(2 ** 41);
    expect(h.overflow).toBe(2);
    expect(h.quantile(1)).toBe(2 ** 41);
    expect(h.quantile(0.6)).toBeLessThan(2 ** 37); // inside the top bucket: only the max is exact
  });
});
