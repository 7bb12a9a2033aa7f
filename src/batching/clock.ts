// The time source a Batcher is given, so tests can drive time by hand.

import { performance } from 'node:perf_hooks';

/**
 * All times are microseconds on ONE monotonic clock; request deadlines (InferRequest.deadlineUs)
 * must come from the same clock the batcher is given.
 */
export interface Clock {
  /** Now, in µs. Monotonic, never decreases. */
  nowUs(): number;
  /**
   * Calls `fn` once, about `delayUs` from now (negative counts as 0); returns a handle for
   * clearTimer. Callers must tolerate a slightly early call (Node counts timers from the loop's
   * cached time): the batcher re-checks what is overdue when its timer fires.
   */
  setTimer(fn: () => void, delayUs: number): unknown;
  /** Cancels a timer from setTimer; a handle that already fired or was cleared is ignored. */
  clearTimer(handle: unknown): void;
  /** Calls `fn` once after the current event-loop turn's I/O callbacks (setImmediate), not cancellable. */
  defer(fn: () => void): void;
}

/**
 * Production clock: performance.now() in µs, setTimeout rounded UP to whole ms (Node timers have
 * ms resolution, and rounding down could fire before the delay), setImmediate for defer, so that
 * requests parsed in the same I/O turn are queued before the deferred flush runs.
 * Timers are not unref'd: the batcher clears its timer whenever its queue empties.
 */
export const systemClock: Clock = Object.freeze({
  nowUs: (): number => performance.now() * 1000,
  setTimer: (fn: () => void, delayUs: number): unknown => setTimeout(fn, Math.max(0, Math.ceil(delayUs / 1000))),
  clearTimer: (handle: unknown): void => clearTimeout(handle as ReturnType<typeof setTimeout>),
  defer: (fn: () => void): void => {
    setImmediate(fn);
  },
});
