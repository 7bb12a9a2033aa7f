// Edit distance for "did you mean" suggestions (model.json features, SLUICE_* variables).

/**
 * Levenshtein distance (insert, delete, substitute) of a and b when at most `maxEdits`, else
 * maxEdits + 1. Only the band |i - j| <= maxEdits of the table can hold such a distance, so only
 * it is filled: O(|a| × (2 maxEdits + 1)), and it stops early once a whole row is too far.
 */
export function editDistance(a: string, b: string, maxEdits: number): number {
  const MAX_EDITS = maxEdits;
  const far = MAX_EDITS + 1;
  if (Math.abs(a.length - b.length) > MAX_EDITS) return far;
  let prev = new Int32Array(b.length + 1).fill(far);
  let cur = new Int32Array(b.length + 1).fill(far);
  for (let j = 0; j <= Math.min(b.length, MAX_EDITS); j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const lo = Math.max(1, i - MAX_EDITS);
    const hi = Math.min(b.length, i + MAX_EDITS);
    cur[lo - 1] = lo === 1 ? Math.min(i, far) : far;
    let rowMin = cur[lo - 1] as number;
    for (let j = lo; j <= hi; j++) {
      const sub = (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      const v = Math.min(sub, (prev[j] as number) + 1, (cur[j - 1] as number) + 1, far);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    // The next row reads one cell past this row's band: it must say "too far", not a stale value.
    if (hi < b.length) cur[hi + 1] = far;
    if (rowMin >= far) return far;
    [prev, cur] = [cur, prev];
  }
  return prev[b.length] as number;
}
