// The drift monitor on the real breast-cancer reference.json and rows: unshifted rows score low,
// the scanner shift scores high on the shifted features, non-finite values are skipped and counted,
// the windows hold what they say; and reference.json files that are wrong are refused with the
// JSON path of the problem.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DriftMonitor, overallScore } from '../src/drift/monitor.js';
import { parseDriftReference } from '../src/drift/reference.js';
import { MODELS as MODELS_DIR } from './helpers/gateway.js';
import { breastRows } from './helpers/ort.js';

const text = readFileSync(path.join(MODELS_DIR, 'breast-cancer/1/reference.json'), 'utf8');
const reference = parseDriftReference(text);
const rows = breastRows(569);
const SIZE_COLUMNS = [0, 2, 3, 20, 22, 23];

function monitorOver(data: number[][], windowRows = 1000): DriftMonitor {
  const m = new DriftMonitor(reference, { windowRows, windowMs: 60_000 });
  data.forEach((row, i) => m.observe(row, 1, 30, i));
  return m;
}

describe('DriftMonitor on real rows', () => {
  it('the training rows themselves score near 0; the scanner shift scores high on the features it touches', () => {
    const quiet = monitorOver(rows).report(1000).windows.count;
    expect(quiet.rows).toBe(569);
    expect(quiet.score!).toBeLessThan(0.01);
    const shifted = monitorOver(rows.map((r) => r.map((v, c) => (SIZE_COLUMNS.includes(c) ? v * 1.3 : v)))).report(1000).windows.count;
    expect(shifted.score!).toBeGreaterThan(0.5);
    for (const f of shifted.features) {
      if (SIZE_COLUMNS.includes(f.index)) expect(f.psi!).toBeGreaterThan(0.2);
      else expect(f.psi!).toBeLessThan(0.01);
    }
  });

  it('the count window keeps the last windowRows rows; takeWindow resets the rows since evaluation', () => {
    const m = monitorOver(rows, 100);
    expect(m.rowsSinceEvaluation).toBe(569);
    const w = m.takeWindow(1000);
    expect(w).toMatchObject({ kind: 'count', rows: 100, capacityRows: 100 });
    expect(m.rowsSinceEvaluation).toBe(0);
    expect(m.report(1000).windows.time).toMatchObject({ kind: 'time', rows: 569, spanMs: 60_000 });
    // Rows of a batch request are all binned: 3 rows in one call.
    m.observe(rows.slice(0, 3).flat(), 3, 30, 1001);
    expect(m.rowsSinceEvaluation).toBe(3);
  });

  it('bins outputs: labels against the classes, the top probability on its edges', () => {
    const m = new DriftMonitor(reference, { windowRows: 10, windowMs: 60_000 });
    m.observe(rows.slice(0, 2).flat(), 2, 30, 0, { labels: BigInt64Array.from([0n, 1n]), probabilities: Float32Array.from([0.9, 0.1, 0.2, 0.8]), classes: 2 });
    const counts = Object.fromEntries(m.cumulativeCounts().map((c) => [c.feature, Array.from(c.counts)]));
    expect(counts['output:label']).toEqual([1, 1]);
    expect(counts['output:probabilities']!.reduce((a, b) => a + b, 0)).toBe(2);
    expect(counts.mean_radius!.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('skips and counts non-finite values, per feature', () => {
    const m = new DriftMonitor(reference, { windowRows: 10, windowMs: 60_000 });
    const row = [...rows[0]!];
    row[0] = Number.NaN;
    row[1] = Number.POSITIVE_INFINITY;
    m.observe(row, 1, 30, 0);
    expect(m.skippedValues).toBe(2);
    const counts = Object.fromEntries(m.cumulativeCounts().map((c) => [c.feature, Array.from(c.counts).reduce((a, b) => a + b, 0)]));
    expect(counts.mean_radius).toBe(0);
    expect(counts.mean_perimeter).toBe(1);
  });

  it('the overall score is the mean PSI of the most drifted quarter of features with two bins or more', () => {
    const f = (psi: number | null, bins = 10) => ({ name: 'x', index: 0, bins, psi, ks: 0, js: 0 });
    expect(overallScore([f(0.8), f(0.4), f(0.1), f(0.1), f(0.1), f(5, 1)])).toBeCloseTo(0.6, 12); // ceil(5/4) = 2 features
    expect(overallScore([f(0.3)])).toBe(0.3);
    expect(overallScore([f(null), f(1, 1)])).toBeNull();
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
    ['binning', (r: any) => (r.binning = 'right-closed'), '/binning'],
    ['unsorted edges', (r: any) => (r.features[2].edges = [3, 2, 1]), '/features/2/edges/1'],
    ['one share too few', (r: any) => r.features[0].shares.pop(), '/features/0/shares'],
    ['shares not summing to 1', (r: any) => (r.features[1].shares[0] += 0.5), '/features/1/shares'],
    ['negative index', (r: any) => (r.features[3].index = -1), '/features/3/index'],
    ['label shares', (r: any) => r.outputs.label.shares.push(0), '/outputs/label/shares'],
  ])('refuses %s, naming the path', (_name, mutate, at) => {
    expect(() => parseDriftReference(bad(mutate))).toThrow(at);
  });

  it('refuses text that is not JSON, and accepts the real file frozen', () => {
    expect(() => parseDriftReference('{')).toThrow('not JSON');
    expect(Object.isFrozen(reference.features[0]!.edges)).toBe(true);
    expect(reference.features).toHaveLength(30);
  });
});
