// Drift statistics over binned data (docs/drift.md): `expected` are a reference's bin shares
// (summing to 1), `observed` a window's bin counts (any non-negative numbers; a window may be
// empty). Each returns null for an empty window, and 0 for a single bin (a constant feature).
// Pure; O(bins).

/**
 * Shares are floored at this before PSI's logarithm: an empty bin adds a large but finite term.
 * No renormalisation after flooring (the common practice, and what an offline check does).
 */
export const PSI_EPSILON = 1e-4;

function total(observed: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (observed.length !== expected.length) throw new RangeError(`${observed.length} observed bins for ${expected.length} expected`);
  let n = 0;
  for (let i = 0; i < observed.length; i++) n += observed[i]!;
  return n;
}

/** Population stability index Σ (q − p)·ln(q/p), p and q floored at PSI_EPSILON. */
export function psi(expected: ArrayLike<number>, observed: ArrayLike<number>): number | null {
  const n = total(observed, expected);
  if (n === 0) return null;
  if (expected.length === 1) return 0;
  let s = 0;
  for (let i = 0; i < expected.length; i++) {
    const p = Math.max(expected[i]!, PSI_EPSILON);
    const q = Math.max(observed[i]! / n, PSI_EPSILON);
    s += (q - p) * Math.log(q / p);
  }
  return s;
}

/** Kolmogorov–Smirnov statistic from binned CDFs: max |Σ p − Σ q| over the bins' right ends. */
export function ks(expected: ArrayLike<number>, observed: ArrayLike<number>): number | null {
  const n = total(observed, expected);
  if (n === 0) return null;
  let cp = 0;
  let cq = 0;
  let d = 0;
  for (let i = 0; i < expected.length; i++) {
    cp += expected[i]!;
    cq += observed[i]! / n;
    d = Math.max(d, Math.abs(cp - cq));
  }
  // The last bin's gap is 1 − 1 up to rounding: a single bin is exactly 0.
  return expected.length === 1 ? 0 : d;
}

/** Jensen–Shannon divergence, log base 2 (0..1); zero-probability terms contribute 0. */
export function js(expected: ArrayLike<number>, observed: ArrayLike<number>): number | null {
  const n = total(observed, expected);
  if (n === 0) return null;
  if (expected.length === 1) return 0;
  let s = 0;
  for (let i = 0; i < expected.length; i++) {
    const p = expected[i]!;
    const q = observed[i]! / n;
    const m = (p + q) / 2;
    if (p > 0) s += 0.5 * p * Math.log2(p / m);
    if (q > 0) s += 0.5 * q * Math.log2(q / m);
  }
  return Math.max(0, s);
}
