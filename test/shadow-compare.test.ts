// The per-request comparison of a primary and a shadow answer (src/shadow/compare.ts): agreement,
// top-k, exact labels, abs/rel differences, JS divergence, the probability rule, and errors that
// are counted rather than thrown. Expected numbers are computed here by hand, not by the module.
import { describe, expect, it } from 'vitest';
import { createComparer, inferKind, type OutputComparison } from '../src/shadow/compare.js';
import type { DataType, Tensor, TensorData } from '../src/types.js';

const t = (name: string, datatype: DataType, shape: number[], data: TensorData): Tensor => ({ name, datatype, shape, data });
const f64 = (name: string, shape: number[], v: number[]) => t(name, 'FP64', shape, Float64Array.from(v));
const f32 = (name: string, shape: number[], v: number[]) => t(name, 'FP32', shape, Float32Array.from(v));
const i64 = (name: string, v: bigint[]) => t(name, 'INT64', [v.length], BigInt64Array.from(v));
const out = (outs: readonly OutputComparison[], name: string) => {
  const o = outs.find((x) => x.name === name);
  if (!o) throw new Error(`no output ${name}`);
  return o;
};

// Jensen–Shannon in nats, written out from the definition for two-class rows.
const kl2 = (p: number[], q: number[]) => p.reduce((s, a, i) => (a > 0 ? s + a * Math.log(a / q[i]!) : s), 0);
const js2 = (p: number[], q: number[]) => {
  const m = p.map((a, i) => (a + q[i]!) / 2);
  return 0.5 * kl2(p, m) + 0.5 * kl2(q, m);
};

describe('identical answers', () => {
  it('agree on every row with zero differences and zero divergence', () => {
    const answer = () => [
      f32('probabilities', [2, 3], [0.7, 0.2, 0.1, 0.1, 0.3, 0.6]),
      i64('label', [0n, 2n]),
      f32('value', [2, 1], [3.5, -1.25]),
    ];
    const c = createComparer({ topK: 2 }).compare(answer(), answer());
    expect(c.errors).toEqual([]);
    expect(c).toMatchObject({ decision: 'label', rows: 2, agreed: 2, topkAgreed: null });
    const p = out(c.outputs, 'probabilities');
    expect(p).toMatchObject({ kind: 'probabilities', rows: 2, agreed: 2, topkAgreed: 2, jsRows: 2, jsDivergence: 0 });
    expect(p).toMatchObject({ elements: 6, meanAbsDiff: 0, maxAbsDiff: 0, relElements: 6, meanRelDiff: 0, maxRelDiff: 0 });
    expect(out(c.outputs, 'value')).toMatchObject({ kind: 'numeric', elements: 2, meanAbsDiff: 0, maxAbsDiff: 0, rows: 0 });
    expect(out(c.outputs, 'label')).toMatchObject({ kind: 'label', rows: 2, agreed: 2, meanAbsDiff: null });
  });
});

describe('a different answer, by hand', () => {
  // Row 0: [0.9, 0.1] vs [0.5, 0.5]: both argmax 0 (a tie goes to the first column): agree.
  // Row 1: [0.2, 0.8] vs [0.7, 0.3]: argmax 1 vs 0: disagree.
  const primary = [f64('probabilities', [2, 2], [0.9, 0.1, 0.2, 0.8])];
  const shadow = [f64('probabilities', [2, 2], [0.5, 0.5, 0.7, 0.3])];
  const c = createComparer().compare(primary, shadow);
  const p = out(c.outputs, 'probabilities');

  it('JS divergence of [0.5,0.5] vs [0.9,0.1] is 0.1017… nats, averaged over rows', () => {
    expect(js2([0.5, 0.5], [0.9, 0.1])).toBeCloseTo(0.1017492, 6); // the formula itself, pinned
    expect(p.jsRows).toBe(2);
    expect(p.jsDivergence).toBeCloseTo((js2([0.9, 0.1], [0.5, 0.5]) + js2([0.2, 0.8], [0.7, 0.3])) / 2, 12);
    expect(p.jsDivergence).toBeCloseTo((0.1017492251 + 0.1325054509) / 2, 9);
  });

  it('agreement, abs and rel differences', () => {
    expect(c).toMatchObject({ decision: 'probabilities', rows: 2, agreed: 1, topkAgreed: null });
    expect(p.elements).toBe(4);
    expect(p.meanAbsDiff).toBeCloseTo((0.4 + 0.4 + 0.5 + 0.5) / 4, 12);
    expect(p.maxAbsDiff).toBeCloseTo(0.5, 12);
    expect(p.relElements).toBe(4);
    expect(p.meanRelDiff).toBeCloseTo((0.4 / 0.9 + 0.4 / 0.1 + 0.5 / 0.2 + 0.5 / 0.8) / 4, 12);
    expect(p.maxRelDiff).toBeCloseTo(4, 12);
  });

  it('leaves near-zero primary values out of the relative difference', () => {
    const r = createComparer().compare([f64('y', [3], [0, 1e-9, 2])], [f64('y', [3], [0.5, 0.5, 3])]);
    expect(out(r.outputs, 'y')).toMatchObject({ elements: 3, relElements: 1, meanRelDiff: 0.5, maxRelDiff: 0.5, maxAbsDiff: 1 });
  });

  it('skips one-sided NaN/Inf from the differences and counts it', () => {
    const r = createComparer().compare([f64('y', [3], [1, NaN, Infinity])], [f64('y', [3], [2, 5, Infinity])]);
    expect(out(r.outputs, 'y')).toMatchObject({ elements: 2, nonFinite: 1, meanAbsDiff: 0.5, maxAbsDiff: 1 });
  });
});

describe('top-k', () => {
  const primary = [f64('scores', [3, 4], [0, 0, 9, 1, /**/ 0, 0, 9, 1, /**/ 0, 5, 1, 1])];
  const shadow = [f64('scores', [3, 4], [
    3, 0, 2, 1, // primary argmax 2 is second here: top-2 yes, argmax no
    3, 2, 1, 0, // third: neither
    4, 4, 0, 0, // primary argmax 1 tied with column 0: shadow argmax 0 (first), but in the top 2
  ])];
  const kinds = { scores: 'scores' } as const;

  it('counts the primary argmax inside the shadow top k', () => {
    const c = createComparer({ kinds, topK: 2 }).compare(primary, shadow);
    expect(c).toMatchObject({ decision: 'scores', rows: 3, agreed: 0, topkAgreed: 2 });
    expect(out(c.outputs, 'scores')).toMatchObject({ kind: 'scores', jsRows: 0, jsDivergence: null });
  });

  it('k = 3 takes row 1 in; k = 1 measures no top-k', () => {
    expect(createComparer({ kinds, topK: 3 }).compare(primary, shadow).topkAgreed).toBe(3);
    expect(createComparer({ kinds }).compare(primary, shadow).topkAgreed).toBeNull();
  });

  it('refuses a k that is not a positive integer, and an unknown kind', () => {
    expect(() => createComparer({ topK: 0 })).toThrow(RangeError);
    expect(() => createComparer({ topK: 1.5 })).toThrow(RangeError);
    expect(() => createComparer({ kinds: { y: 'regression' as never } })).toThrow(/unknown kind/);
  });
});

describe('INT64 labels', () => {
  it('are compared exactly per row, beyond 2^53 too', () => {
    const big = 2n ** 60n;
    const c = createComparer().compare([i64('label', [3n, 1n, 2n, big + 1n])], [i64('label', [3n, 0n, 2n, big])]);
    expect(c).toMatchObject({ decision: 'label', rows: 4, agreed: 2 });
  });

  it('compare whole rows exactly for [rows, 2] labels, negative and high-word values included', () => {
    const p = t('label', 'INT64', [3, 2], BigInt64Array.from([-1n, 2n ** 33n, 5n, -(2n ** 40n), 7n, 8n]));
    const s = t('label', 'INT64', [3, 2], BigInt64Array.from([-1n, 2n ** 33n, 5n, -(2n ** 40n) + 1n, 7n, 2n ** 32n + 8n]));
    expect(createComparer().compare([p], [s])).toMatchObject({ rows: 3, agreed: 1 });
  });

  it('read a label tensor that is a view into a larger buffer at its own offset', () => {
    const buf = BigInt64Array.from([9n, 9n, 4n, 6n]);
    const p = t('label', 'INT64', [2], buf.subarray(2));
    expect(createComparer().compare([p], [i64('label', [4n, 6n])])).toMatchObject({ rows: 2, agreed: 2 });
  });

  it('compare by value across datatypes (INT64 primary, INT32 shadow)', () => {
    const c = createComparer().compare([i64('label', [3n, 1n])], [t('label', 'INT32', [2], Int32Array.from([3, 2]))]);
    expect(c).toMatchObject({ rows: 2, agreed: 1 });
  });

  it('give the predicted labels of either side; argmax when there is no label output', () => {
    const cmp = createComparer();
    expect(cmp.predictedLabels([f32('probabilities', [2, 3], [0.1, 0.2, 0.7, 0.5, 0.4, 0.1]), i64('label', [7n, 4n])])).toEqual([7, 4]);
    expect(cmp.predictedLabels([f32('probabilities', [2, 3], [0.1, 0.2, 0.7, 0.5, 0.4, 0.1])])).toEqual([2, 0]);
    expect(cmp.predictedLabels([f32('value', [2, 1], [1, 2])])).toBeNull();
  });

  it('read INT64 labels as Number() does: negative, above 2^32 and 2^53, a [rows, 1] view at an offset into a larger buffer', () => {
    const cmp = createComparer();
    const values = [0n, -1n, -5n, 2n ** 32n + 7n, -(2n ** 40n) - 3n, 2n ** 53n - 1n, 2n ** 60n + 2n ** 8n + 1n, -(2n ** 62n) - 3n];
    expect(cmp.predictedLabels([i64('label', values)])).toEqual(values.map(Number));
    const buf = BigInt64Array.from([11n, 12n, -(2n ** 33n), 5n]);
    expect(cmp.predictedLabels([t('label', 'INT64', [2, 1], buf.subarray(2))])).toEqual([-(2 ** 33), 5]);
  });
});

describe('errors of the comparison', () => {
  it('counts a shape mismatch and a missing output, compares the rest, throws nothing', () => {
    const primary = [f32('probabilities', [2, 3], [0.2, 0.3, 0.5, 0.6, 0.2, 0.2]), f32('value', [2], [1, 2]), f32('extra', [1], [0])];
    const shadow = [f32('probabilities', [2, 4], [0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25]), f32('value', [2], [1, 3])];
    const c = createComparer().compare(primary, shadow);
    expect(c.errors).toEqual([
      { output: 'probabilities', reason: 'shape_mismatch', primaryShape: [2, 3], shadowShape: [2, 4] },
      { output: 'extra', reason: 'missing', primaryShape: [1], shadowShape: null },
    ]);
    expect(c.outputs.map((o) => o.name)).toEqual(['value']);
    expect(c).toMatchObject({ decision: null, rows: 0, agreed: 0 });
    expect(out(c.outputs, 'value').meanAbsDiff).toBe(0.5);
  });

  it('a declared classifier of rank 3 is an error and is compared as numeric', () => {
    const x = () => [f32('s', [1, 2, 2], [1, 2, 3, 4])];
    const c = createComparer({ kinds: { s: 'scores' } }).compare(x(), x());
    expect(c.errors.map((e) => e.reason)).toEqual(['bad_rank']);
    expect(out(c.outputs, 's')).toMatchObject({ kind: 'numeric', elements: 4 });
  });
});

describe('the probability rule', () => {
  it('takes the name `probabilities`, or FP rank-2 rows that are all distributions', () => {
    expect(inferKind(f32('probabilities', [2], [3, 4]))).toBe('probabilities');
    expect(inferKind(f32('probabilities', [1, 2, 2], [0.5, 0.5, 0.5, 0.5]))).toBe('numeric'); // by name: rank 1 or 2 only
    expect(inferKind(f32('out', [2, 3], [0.2, 0.3, 0.5, 1, 0, 0]))).toBe('probabilities');
    expect(inferKind(f32('out', [2, 3], [0.2, 0.3, 0.5, 1, 0, 0.01]))).toBe('numeric'); // a row sums to 1.01
    expect(inferKind(f32('out', [1, 2], [1.5, -0.5]))).toBe('numeric'); // sums to 1, but negative
    expect(inferKind(f32('y', [2], [0.3, 0.7]))).toBe('numeric'); // rank 1 is never inferred from values
    expect(inferKind(f32('y', [2, 1], [1, 1]))).toBe('numeric'); // one column
    expect(inferKind(i64('label', [1n]))).toBe('label');
    expect(inferKind(f32('label', [1], [1]))).toBe('numeric'); // a float `label` is a regression
  });

  it('a declared kind wins over the rule; JS only for rows that are distributions on both sides', () => {
    const p = [f64('p', [2, 2], [0.5, 0.5, 0.5, 0.5])];
    const s = [f64('p', [2, 2], [0.9, 0.1, 2, -1])];
    const c = createComparer({ kinds: { p: 'probabilities' } }).compare(p, s);
    expect(out(c.outputs, 'p')).toMatchObject({ kind: 'probabilities', jsRows: 1 });
    expect(out(c.outputs, 'p').jsDivergence).toBeCloseTo(js2([0.5, 0.5], [0.9, 0.1]), 12);
    expect(out(createComparer({ kinds: { p: 'numeric' } }).compare(p, s).outputs, 'p')).toMatchObject({ kind: 'numeric', rows: 0, jsRows: 0 });
  });

  it('an output named __proto__ is looked up as a plain name', () => {
    const c = createComparer({ kinds: {} }).compare([f32('__proto__', [1], [1])], [f32('__proto__', [1], [2])]);
    expect(out(c.outputs, '__proto__')).toMatchObject({ kind: 'numeric', meanAbsDiff: 1 });
  });
});
