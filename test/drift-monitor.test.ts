// The drift monitor on the real breast-cancer and digits reference.json files and their rows: the
// training rows score near 0, the scanner shift (radius, perimeter, area ×1.3) raises those
// features' PSI and the score; the report's shape; the windows hold what they say; non-finite
// values are skipped and counted; outputs are binned apart from inputs; the cumulative counters are
// a naive binning of everything seen. And reference.json files that are wrong are refused with the
// JSON path of the problem.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DriftMonitor, overallScore, SCORE_TOP_SHARE } from '../src/drift/monitor.js';
import { parseDriftReference } from '../src/drift/reference.js';

const models = (p: string): URL => new URL(`../models/${p}`, import.meta.url);
const text = readFileSync(models('breast-cancer/1/reference.json'), 'utf8');
const reference = parseDriftReference(text);

// breast_cancer.csv: a header line (569,30,malignant,benign), then 30 feature values and the label index.
const csv = readFileSync(models('breast-cancer/data/breast_cancer.csv'), 'utf8').trim().split('\n');
const rows = csv.slice(1).map((l) => l.split(',').map(Number).slice(0, 30));
const labels = csv.slice(1).map((l) => Number(l.split(',')[30]));
const SHIFTED = [0, 2, 3]; // mean radius, mean perimeter, mean area

function naiveBin(edges: readonly number[], v: number): number {
  let b = 0;
  while (b < edges.length && edges[b]! <= v) b++;
  return b;
}

function monitorOver(data: number[][], opts = { windowRows: 1000, windowMs: 60_000 }): DriftMonitor {
  const m = new DriftMonitor(reference, opts);
  data.forEach((row, i) => m.observeInputs(row, 1, 30, i));
  return m;
}

const sums = (m: DriftMonitor): Record<string, number> => Object.fromEntries(m.cumulativeCounts().map((c) => [c.feature, c.counts.reduce((a, b) => a + b, 0)]));

describe('DriftMonitor on real rows', () => {
  it('the training rows score near 0; the scanner shift raises the shifted features and the score', () => {
    expect(rows).toHaveLength(reference.rows);
    const quiet = monitorOver(rows).report(1000).windows.count;
    expect(quiet.rows).toBe(569);
    expect(quiet.score!).toBeLessThan(0.05);
    // The reference profiles these very rows: every feature's live shares are its reference shares.
    for (const f of quiet.features) expect(f.psi!).toBeLessThan(1e-9);
    const shifted = monitorOver(rows.map((r) => r.map((v, c) => (SHIFTED.includes(c) ? v * 1.3 : v)))).report(1000).windows.count;
    expect(shifted.score!).toBeGreaterThan(quiet.score! + 0.1);
    for (const f of shifted.features) {
      if (SHIFTED.includes(f.index)) expect(f.psi!, f.name).toBeGreaterThan(0.2); // "significant" by the usual PSI rule
      else expect(f.psi!, f.name).toBeLessThan(1e-9);
    }
  });

  it('reports both windows in the wire shape, JSON-clean (null, never NaN)', () => {
    const m = monitorOver(rows.slice(0, 50), { windowRows: 20, windowMs: 60_000 });
    const r = m.report(100);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(Object.keys(r)).toEqual(['windows']);
    expect(Object.keys(r.windows.count).sort()).toEqual(['capacityRows', 'features', 'kind', 'outputs', 'rows', 'score']);
    expect(Object.keys(r.windows.time).sort()).toEqual(['features', 'kind', 'outputs', 'rows', 'score', 'spanMs']);
    expect(r.windows.count).toMatchObject({ kind: 'count', rows: 20, capacityRows: 20 });
    expect(r.windows.time).toMatchObject({ kind: 'time', rows: 50, spanMs: 60_000 });
    expect(r.windows.count.features[2]).toEqual({ name: 'mean_perimeter', index: 2, bins: 10, psi: expect.any(Number), ks: expect.any(Number), js: expect.any(Number) });
    // No outputs observed: their statistics are null, not 0.
    expect(r.windows.count.outputs).toEqual({ label: { psi: null, ks: null, js: null }, probabilities: { psi: null, ks: null, js: null } });
    expect(m.takeScore()).toBe(r.windows.count.score);
  });

  it('the count window keeps the last windowRows rows and the time window the last windowMs; takeScore resets rowsSinceEvaluation', () => {
    const m = new DriftMonitor(reference, { windowRows: 100, windowMs: 1000, slices: 10 });
    rows.forEach((row, i) => m.observeInputs(row, 1, 30, i * 10)); // 100 rows a second
    expect(m.rowsSinceEvaluation).toBe(569);
    const w = m.report(5690).windows.count;
    expect(w).toMatchObject({ kind: 'count', rows: 100, capacityRows: 100 });
    expect(m.takeScore()).toBe(w.score);
    expect(m.rowsSinceEvaluation).toBe(0);
    // The count window's counts are the last 100 rows' bins.
    expect(w.features[0]!.psi).toBe(monitorOver(rows.slice(-100)).report(0).windows.count.features[0]!.psi);
    const time = m.report(5690).windows.time;
    expect(time.rows).toBeGreaterThanOrEqual(90);
    expect(time.rows).toBeLessThanOrEqual(100);
    expect(m.report(100_000).windows.time).toMatchObject({ rows: 0, score: null });
    // A batch of 3 rows in one call counts 3.
    m.observeInputs(rows.slice(0, 3).flat(), 3, 30, 100_001);
    expect(m.rowsSinceEvaluation).toBe(3);
    expect(m.report(100_001).windows.count.rows).toBe(100);
  });

  it('cumulative counts are every row ever binned, per reference bin, exactly as a linear scan bins them', () => {
    const m = monitorOver(rows, { windowRows: 10, windowMs: 50 });
    const byName = new Map(m.cumulativeCounts().map((c) => [c.feature, Array.from(c.counts)]));
    for (const f of reference.features) {
      const want = new Array<number>(f.edges.length + 1).fill(0);
      for (const r of rows) want[naiveBin(f.edges, r[f.index]!)]!++;
      expect(byName.get(f.name), f.name).toEqual(want);
    }
    expect([...byName.keys()].slice(-2)).toEqual(['output:label', 'output:probabilities']);
  });

  it('skips and counts non-finite values and columns past the row, per feature; the row still counts', () => {
    const m = new DriftMonitor(reference, { windowRows: 10, windowMs: 60_000 });
    const row = [...rows[0]!];
    row[0] = Number.NaN;
    row[1] = Number.POSITIVE_INFINITY;
    row[2] = Number.NEGATIVE_INFINITY;
    m.observeInputs(row, 1, 30, 0);
    expect(m.skippedValues).toBe(3);
    m.observeInputs(rows[1]!.slice(0, 29), 1, 29, 0); // feature 29 reads column 29 of a 29-wide row
    expect(m.skippedValues).toBe(4);
    const s = sums(m);
    expect([s.mean_radius, s.mean_texture, s.mean_perimeter, s.mean_area, s.worst_fractal_dimension]).toEqual([1, 1, 1, 2, 1]);
    expect(m.rowsSinceEvaluation).toBe(2);
    expect(m.report(0).windows.count.features[0]!.psi).not.toBeNull();
  });

  it('bins outputs apart from inputs: labels against the classes (bigint too), the top probability on its edges', () => {
    const m = new DriftMonitor(reference, { windowRows: 10, windowMs: 60_000 });
    const probs = Float32Array.from([0.9, 0.1, 0.2, 0.8, 0.5, 0.5]);
    m.observeOutputs(BigInt64Array.from([0n, 1n, 7n]), probs, 3, 2, 0); // class 7 is not one: skipped
    expect(m.rowsSinceEvaluation).toBe(0);
    const c = Object.fromEntries(m.cumulativeCounts().map((x) => [x.feature, Array.from(x.counts)]));
    expect(c['output:label']).toEqual([1, 1]);
    const edges = reference.outputs!.probabilities!.edges;
    const want = new Array<number>(edges.length + 1).fill(0);
    for (const p of [0.9, 0.8, 0.5]) want[naiveBin(edges, Math.fround(p))]!++;
    expect(c['output:probabilities']).toEqual(want);
    expect(sums(m).mean_radius).toBe(0);
    // INT64 labels are read as two 32-bit words: 2^32 + 1 and -2^32 are not classes 1 and 0.
    m.observeOutputs(BigInt64Array.from([2n ** 32n + 1n, -(2n ** 32n), -1n, 1n]), undefined, 4, 2, 0);
    expect(sums(m)['output:label']).toBe(3);
    m.observeOutputs(undefined, undefined, 5, 2, 0); // nothing to bin: no rows
    m.observeOutputs([1], undefined, 1, 2, 0);
    expect(sums(m)['output:label']).toBe(4);
    expect(sums(m)['output:probabilities']).toBe(3);
    const out = m.report(0).windows.count.outputs;
    expect(out.label!.psi).toBeGreaterThan(0);
    expect(m.report(0).windows.count).toMatchObject({ rows: 0, score: null });
  });

  it('observe() is observeInputs then observeOutputs', () => {
    const a = new DriftMonitor(reference, { windowRows: 50, windowMs: 60_000 });
    const b = new DriftMonitor(reference, { windowRows: 50, windowMs: 60_000 });
    const probs = rows.slice(0, 40).flatMap((_, i) => [i / 40, 1 - i / 40]);
    a.observe(rows.slice(0, 40).flat(), 40, 30, 7, { labels: labels.slice(0, 40), probabilities: probs, classes: 2 });
    b.observeInputs(rows.slice(0, 40).flat(), 40, 30, 7);
    b.observeOutputs(labels.slice(0, 40), probs, 40, 2, 7);
    expect(a.report(7)).toEqual(b.report(7));
    expect(a.cumulativeCounts()).toEqual(b.cumulativeCounts());
  });

  it('digits: constant pixels have one bin, score 0 and stay out of the overall score', () => {
    const digits = parseDriftReference(readFileSync(models('digits/1/reference.json'), 'utf8'));
    const pixels = gunzipSync(readFileSync(models('digits/data/digits.csv.gz'))).toString('utf8').trim().split('\n').map((l) => l.split(',').map(Number).slice(0, 64));
    const m = new DriftMonitor(digits, { windowRows: 5000, windowMs: 60_000 });
    m.observeInputs(pixels.flat(), pixels.length, 64, 0);
    const w = m.report(0).windows.count;
    const constant = w.features.filter((f) => f.bins === 1);
    expect(constant.length).toBeGreaterThan(0);
    for (const f of constant) expect([f.psi, f.ks, f.js]).toEqual([0, 0, 0]);
    expect(w.score!).toBeLessThan(0.05);
    expect(w.score).toBe(overallScore(w.features.filter((f) => f.bins > 1)));
  });
});

describe('overallScore', () => {
  const f = (psi: number | null, bins = 10) => ({ bins, psi });

  it('is the mean PSI of the most drifted quarter (at least one) of the features with two bins or more', () => {
    expect(SCORE_TOP_SHARE).toBe(0.25);
    expect(overallScore([f(0.8), f(0.4), f(0.1), f(0.1), f(0.1), f(5, 1)])).toBeCloseTo(0.6, 12); // ceil(5/4) = 2 features
    expect(overallScore([f(0.3)])).toBe(0.3);
    expect(overallScore([f(0.2), f(0.1), f(0.3), f(0.4)])).toBe(0.4);
  });

  it('topShare 1 is the plain mean over them; null when no feature with two bins has a PSI', () => {
    expect(overallScore([f(0.8), f(0.4), f(0.1), f(0.1), f(0.1), f(5, 1)], 1)).toBeCloseTo(0.3, 12);
    expect(overallScore([f(null), f(1, 1)])).toBeNull();
    expect(overallScore([])).toBeNull();
  });
});

describe('parseDriftReference', () => {
  const base = JSON.parse(text);
  const bad = (mutate: (r: any) => void): string => {
    const r = structuredClone(base);
    mutate(r);
    return JSON.stringify(r);
  };

  it.each([
    ['wrong binning', (r: any) => (r.binning = 'right-closed'), '/binning'],
    ['unsorted edges', (r: any) => (r.features[2].edges = [3, 2, 1]), '/features/2/edges/1'],
    ['repeated edges', (r: any) => (r.features[2].edges[4] = r.features[2].edges[3]), '/features/2/edges/4'],
    ['one share too few', (r: any) => r.features[0].shares.pop(), '/features/0/shares'],
    ['shares not summing to 1', (r: any) => (r.features[1].shares[0] += 0.01), '/features/1/shares'],
    ['a negative share', (r: any) => (r.features[1].shares[0] = -0.1), '/features/1/shares/0'],
    ['a missing edges array', (r: any) => delete r.features[5].edges, '/features/5/edges'],
    ['a negative index', (r: any) => (r.features[3].index = -1), '/features/3/index'],
    ['a fractional index', (r: any) => (r.features[3].index = 1.5), '/features/3/index'],
    ['a string edge', (r: any) => (r.features[4].edges[0] = '1'), '/features/4/edges/0'],
    ['a repeated feature name', (r: any) => (r.features[7].name = r.features[6].name), '/features/7/name'],
    ['label shares not one per class', (r: any) => r.outputs.label.shares.push(0), '/outputs/label/shares'],
    ['repeated classes', (r: any) => (r.outputs.label.classes = [0, 0]), '/outputs/label/classes'],
    ['another probability statistic', (r: any) => (r.outputs.probabilities.statistic = 'entropy'), '/outputs/probabilities/statistic'],
    ['probability shares', (r: any) => r.outputs.probabilities.shares.push(0), '/outputs/probabilities/shares'],
    ['rows not an integer', (r: any) => (r.rows = 'many'), '/rows'],
  ])('refuses %s, naming the path', (_name, mutate, at) => {
    expect(() => parseDriftReference(bad(mutate))).toThrow(`${at}:`);
  });

  it('refuses text that is not JSON; accepts the real files, frozen, and fields it does not know', () => {
    expect(() => parseDriftReference('{')).toThrow('not JSON');
    expect(() => parseDriftReference('[]')).toThrow('/:');
    expect(Object.isFrozen(reference.features[0]!.edges)).toBe(true);
    expect(Object.isFrozen(reference)).toBe(true);
    expect(reference.features).toHaveLength(30);
    expect(reference.outputs!.label!.names).toEqual(['malignant', 'benign']);
    const extended = parseDriftReference(
      bad((r) => {
        r.input = 'features';
        r.outputs.label.tensor = 'predicted';
        r.outputs.probabilities.tensor = 'scores';
        r.trainer = { version: 2 };
      }),
    );
    expect([extended.input, extended.outputs!.label!.tensor, extended.outputs!.probabilities!.tensor]).toEqual(['features', 'predicted', 'scores']);
    expect(() => parseDriftReference(bad((r) => delete r.outputs))).not.toThrow();
  });
});
