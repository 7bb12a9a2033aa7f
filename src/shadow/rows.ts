// Row arithmetic for the shadow comparison: argmax, top-k membership, "is this row a
// distribution", and Jensen–Shannon divergence. Pure functions over a row of a float array
// (offset + width), so no per-row subarray or copy is made on the comparison path.
//
// Why float arrays only: a loop that reads elements of several typed-array kinds (an INT64
// label's BigInt64Array and an FP32 probability row through one `Number(data[i])`) goes
// polymorphic over BigInt and float loads, and V8 then boxes every element it reads: ~20 KB of
// garbage per compared 16-row answer, which showed up as the primary's GC tail under shadow
// traffic. asNumbers converts the rare non-float output once instead.

import type { TensorData } from '../types.js';
import { int64Values } from '../util/int64.js';

/** The element types the row functions read: every read is an unboxed double. */
export type NumberArray = Float32Array | Float64Array;

/**
 * The tensor's values as a float array: FP32/FP64 data itself (no copy), any other type copied
 * once into a Float64Array (INT64 as int64Values reads it: the value Number() gives).
 */
export function asNumbers(data: TensorData): NumberArray {
  if (data instanceof Float32Array || data instanceof Float64Array) return data;
  const out = new Float64Array(data.length);
  if (data instanceof BigInt64Array) return int64Values(data, out);
  for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  return out;
}

/**
 * Index of the largest value in data[offset, offset+width); ties go to the first (numpy's rule).
 * NaN never wins a comparison, so a row of NaN answers 0.
 */
export function argmaxRow(data: NumberArray, offset: number, width: number): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let j = 0; j < width; j++) {
    const v = data[offset + j]!;
    if (v > bestValue) {
      bestValue = v;
      best = j;
    }
  }
  return best;
}

/**
 * True when column `column` is among the k largest of the row: fewer than k values are strictly
 * greater than it. Ties therefore count as inside the top k (a value tied with the k-th is in).
 * O(width), no sort. A NaN at `column` is never inside.
 */
export function inTopK(data: NumberArray, offset: number, width: number, column: number, k: number): boolean {
  const v = data[offset + column]!;
  if (Number.isNaN(v)) return false;
  let greater = 0;
  for (let j = 0; j < width; j++) {
    if (data[offset + j]! > v && ++greater >= k) return false;
  }
  return true;
}

/** Default tolerance on |sum − 1| for a row to count as a probability distribution. */
export const DISTRIBUTION_SUM_TOLERANCE = 1e-3;

/**
 * True when the row is a probability distribution: every value finite and ≥ 0, and the sum
 * within `sumTolerance` of 1 (FP32 softmax rows sum to 1 ± ~1e-6; the default 1e-3 is lenient).
 */
export function isDistributionRow(data: NumberArray, offset: number, width: number, sumTolerance: number): boolean {
  if (width === 0) return false;
  let sum = 0;
  for (let j = 0; j < width; j++) {
    const v = data[offset + j]!;
    if (!(v >= 0) || v === Infinity) return false; // also rejects NaN
    sum += v;
  }
  return Math.abs(sum - 1) <= sumTolerance;
}

/**
 * Jensen–Shannon divergence of two distribution rows, natural log (nats): 0 for identical rows,
 * at most ln 2 ≈ 0.6931. JS(P,Q) = ½·KL(P‖M) + ½·KL(Q‖M), M = (P+Q)/2, with 0·ln 0 = 0.
 * Callers check both rows with isDistributionRow first; rows are not renormalised.
 */
export function jsDivergenceRow(p: NumberArray, pOffset: number, q: NumberArray, qOffset: number, width: number): number {
  let sum = 0;
  for (let j = 0; j < width; j++) {
    const a = p[pOffset + j]!;
    const b = q[qOffset + j]!;
    const m = (a + b) / 2;
    if (a > 0) sum += a * Math.log(a / m);
    if (b > 0) sum += b * Math.log(b / m);
  }
  // Rounding can leave a tiny negative for identical rows; the divergence is never below 0.
  return Math.max(0, sum / 2);
}
