// Runs small batches of a light model on the main thread when the pool has nothing to do
// (executor.ts decides which batches; this module only times and runs them).
//
// Why: a batch handed to a worker crosses two threads and back (~150-250 µs on a small VM:
// message, futex wake of an idle thread, reply, event-loop wake), several times the cost of a
// run of a small model (~40 µs). At low load that hop is most of a request's latency; at high
// load the workers are busy and batches go to them as before.
//
// Contract: a runner exists only for CPU pools and only for a model whose measured run at
// batch 1 takes at most `maxRunUs`; `maxRows` is the largest batch measured within that
// budget, so one inline run blocks the event loop about `maxRunUs` at worst. One inline run
// at a time (`busy`).
import { performance } from 'node:perf_hooks';
import type { Tensor } from '../types.js';
import type { SessionSpec, WireTensor } from './messages.js';
import { runFailure } from './run-failure.js';
import { createSession, ModelRunError, runSession, type LoadedSession } from './session.js';

export interface InlineRunner {
  /** Largest batch whose measured run fits the budget. */
  readonly maxRows: number;
  /** Measured µs of a batch-1 run (fastest of the timed runs). */
  readonly batch1Us: number;
  readonly busy: boolean;
  /** Runs one batch on this thread; same ownership rules as InferencePool.run. */
  run(inputs: Tensor[], outputNames: string[]): Promise<Tensor[]>;
  release(): Promise<void>;
}

/**
 * Timed runs per measured batch size. The fastest decides: it is the run's own cost, while
 * slower ones measure whatever else the machine was doing during the load.
 */
const TIMED_RUNS = 5;

/**
 * Creates the main-thread session, times batch sizes 1, 2, 4, … up to `largestRows`, and keeps
 * the session when batch 1 fits `maxRunUs`; otherwise releases it and returns undefined.
 * `inputsAt(rows)` builds fresh inputs of a batch of that many rows. The caller offers only
 * models whose every dim but the batch dims is fixed: a run's cost then depends on its rows only,
 * so the timing bounds every real batch.
 */
export async function createInlineRunner(
  spec: SessionSpec,
  inputsAt: (rows: number) => WireTensor[],
  largestRows: number,
  maxRunUs: number,
): Promise<InlineRunner | undefined> {
  if (!(maxRunUs > 0) || spec.device !== 'cpu' || largestRows < 1) return undefined;
  const loaded = await createSession(spec);
  const outputNames = loaded.session.outputNames.slice();
  await runSession(loaded.session, inputsAt(largestRows), outputNames); // first run allocates; not timed
  let maxRows = 0;
  let batch1Us = Infinity;
  for (let rows = 1; rows <= largestRows; rows *= 2) {
    const us = await fastestRunUs(loaded, inputsAt(rows), outputNames);
    if (rows === 1) batch1Us = us;
    if (us > maxRunUs) break;
    maxRows = rows;
  }
  if (maxRows === 0) {
    await loaded.session.release();
    return undefined;
  }
  let busy = false;
  return {
    maxRows,
    batch1Us,
    get busy() {
      return busy;
    },
    async run(inputs, names) {
      busy = true;
      try {
        return await runSession(loaded.session, inputs, names);
      } catch (err) {
        // The same answer a worker's failure gets (pool.ts), so both paths fail alike.
        if (err instanceof ModelRunError) throw runFailure(err.message, !err.resource);
        throw runFailure(err instanceof Error ? err.message : String(err), false);
      } finally {
        busy = false;
      }
    },
    release: () => loaded.session.release(),
  };
}

async function fastestRunUs(loaded: LoadedSession, inputs: WireTensor[], outputNames: string[]): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < TIMED_RUNS; i++) {
    // Includes the setImmediate hop inside session.run, as a served batch does.
    const t0 = performance.now();
    await runSession(loaded.session, inputs, outputNames);
    times.push((performance.now() - t0) * 1000);
  }
  return Math.min(...times);
}
