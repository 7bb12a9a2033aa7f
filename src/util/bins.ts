// The binning rule shared by the trainer's reference profile and the drift monitor ("left-closed"):
// edges are strictly increasing cut points and a value v falls in bin = (number of edges ≤ v), so
// bin 0 is (-∞, e0), bin i is [e(i-1), e(i)) and the last bin is [e(last), +∞). There are
// edges.length + 1 bins; a constant feature has edges [] and one bin.

/**
 * Bin index of `v`: the count of edges ≤ v, by binary search (O(log edges)). ±Infinity land in the
 * first and last bins; NaN lands in bin 0 (every comparison is false), so callers skip NaN first.
 */
export function binIndex(edges: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Rows per bin of `values` on `edges` (edges.length + 1 counts). Non-finite values are skipped,
 * as the drift monitor skips them; the trainer's histogram() never sees any.
 */
export function binCounts(values: ArrayLike<number>, edges: ArrayLike<number>): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) counts[binIndex(edges, v)]!++;
  }
  return counts;
}
