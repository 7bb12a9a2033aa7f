// The binning rule shared by the trainer's reference profile and the drift monitor ("left-closed"):
// edges are strictly increasing cut points and a value v falls in bin = (number of edges ≤ v), so
// bin 0 is (-∞, e0), bin i is [e(i-1), e(i)) and the last bin is [e(last), +∞).

/** Bin index of `v`: the count of edges ≤ v (binary search; NaN lands in bin 0, callers skip it). */
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
