// Batch formation over one priority lane: which queued requests go together. Pure apart from
// mutating the lane array it is given; the Batcher decides when to call it.

/** What formation needs to know of a queued request. */
export interface Queued {
  /** shapeKey() of the request's inputs; only equal keys share a batch. */
  key: string;
  rows: number;
  deadlineUs: number;
  /** A cancelled request is removed like an expired one and never joins a batch. */
  isCancelled?: () => boolean;
}

export interface FormOptions {
  maxBatchSize: number;
  /** Ascending, each ≤ maxBatchSize; may be empty. */
  preferredBatchSizes: readonly number[];
  /** Apply preferredBatchSizes (false when the queue-delay timer is the trigger). */
  cutAtPreferred: boolean;
  nowUs: number;
}

export interface Formed<E> {
  /** The batch, in FIFO order; empty when the lane held only expired requests. */
  batch: E[];
  rows: number;
  /** Requests removed because deadlineUs ≤ nowUs or cancelled; the caller must reject them. */
  expired: E[];
}

/**
 * Takes one batch from `lane` (FIFO: index 0 is the oldest) and removes it, and any expired
 * request it met, from the lane in place. Every other request keeps its place.
 *
 * Policy:
 * - The batch key is the key of the first live (unexpired) request.
 * - Following requests with that key join in order while total rows ≤ maxBatchSize; the first
 *   one that would overflow ends the batch (no smaller request overtakes it: FIFO per key).
 *   Requests with other keys are skipped and stay queued.
 * - A request with deadlineUs ≤ nowUs met on the way (before the key is fixed: any; after: same
 *   key) is removed and returned in `expired`; it never joins a batch.
 * - Preferred sizes: when cutAtPreferred and rows < maxBatchSize, the batch is cut to the
 *   largest preferred size P ≤ rows such that some prefix of the batch has exactly P rows; the
 *   cut-off requests stay at the front of the lane. No such P, or rows itself preferred: no cut.
 *
 * Always removes at least one request from a non-empty lane.
 */
export function takeBatch<E extends Queued>(lane: E[], opts: FormOptions): Formed<E> {
  const { maxBatchSize, nowUs } = opts;
  const picked: number[] = [];
  const expired: number[] = [];
  let key: string | undefined;
  let rows = 0;
  for (let i = 0; i < lane.length && rows < maxBatchSize; i++) {
    const e = lane[i]!;
    if (key !== undefined && e.key !== key) continue;
    if (e.deadlineUs <= nowUs || e.isCancelled?.() === true) {
      expired.push(i);
      continue;
    }
    // The first live request always joins, so a non-empty lane always loses one request.
    if (picked.length > 0 && rows + e.rows > maxBatchSize) break;
    key = e.key;
    picked.push(i);
    rows += e.rows;
  }
  if (opts.cutAtPreferred && rows < maxBatchSize && picked.length > 1) {
    const keep = preferredCut(lane, picked, rows, opts.preferredBatchSizes);
    for (let k = keep; k < picked.length; k++) rows -= lane[picked[k]!]!.rows;
    picked.length = keep;
  }
  const batch = picked.map((i) => lane[i]!);
  const gone = expired.map((i) => lane[i]!);
  removeIndices(lane, mergeSorted(picked, expired));
  return { batch, rows, expired: gone };
}

/** How many of the picked requests to keep so the batch ends on a preferred size (see takeBatch). */
function preferredCut<E extends Queued>(lane: E[], picked: number[], rows: number, preferred: readonly number[]): number {
  for (let j = preferred.length - 1; j >= 0; j--) {
    const p = preferred[j]!;
    if (p > rows) continue;
    if (p === rows) return picked.length;
    let sum = 0;
    for (let k = 0; k < picked.length; k++) {
      sum += lane[picked[k]!]!.rows;
      if (sum === p) return k + 1;
      if (sum > p) break;
    }
  }
  return picked.length;
}

function mergeSorted(a: number[], b: number[]): number[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  return [...a, ...b].sort((x, y) => x - y);
}

/** Removes the ascending `indices` from `arr` in place, keeping the order of the rest. */
function removeIndices<E>(arr: E[], indices: number[]): void {
  const n = indices.length;
  if (n === 0) return;
  if (indices[n - 1] === n - 1) {
    arr.splice(0, n); // the common case: a prefix
    return;
  }
  let write = indices[0]!;
  let j = 0;
  for (let read = write; read < arr.length; read++) {
    if (j < n && indices[j] === read) {
      j++;
      continue;
    }
    arr[write++] = arr[read]!;
  }
  arr.length = write;
}
