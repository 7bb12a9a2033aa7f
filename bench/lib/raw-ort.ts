// The physical limit: onnxruntime-node in this process, no HTTP, no threads, a tight loop of
// session.run on prepared float32 batches of real rows, with the session options sluice's
// workers use. Run while no server is under load (servers may be up, idle).
import * as ort from 'onnxruntime-node';
import { disturbance, selfAndChildrenSeconds } from './cpu.js';
import type { BenchModel } from './data.js';
import { rowBatches } from './data.js';
import { percentileSorted, type Spread, spread } from './stats.js';

export interface RawRun {
  batch: number;
  runsPerSec: number;
  rowsPerSec: number;
  /** Per-run latency percentiles, µs. */
  p50Us: number;
  p99Us: number;
  /** CPU of other processes during the loop, % of all cores (see compare.ts Sample). */
  otherCpuPercent: number;
  stealPercent: number;
}

export interface RawResult {
  batch: number;
  runsPerSec: Spread;
  rowsPerSec: Spread;
  p50Us: Spread;
  p99Us: Spread;
  otherCpuPercent: Spread;
  stealPercent: Spread;
}

export interface RawSession {
  /** One timed loop of `durationMs` at `batch` rows (after a short warm-up at that size). */
  measure(batch: number, durationMs: number): Promise<RawRun>;
  close(): Promise<void>;
}

export async function openRaw(model: BenchModel, rows: number[][]): Promise<RawSession> {
  const session = await ort.InferenceSession.create(model.onnxPath, {
    intraOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  const feedsBySize = new Map<number, ort.InferenceSession.FeedsType[]>();
  const loop = async (batch: number, durationMs: number): Promise<{ runsPerSec: number; lat: Float64Array }> => {
    let feeds = feedsBySize.get(batch);
    if (!feeds) {
      feeds = rowBatches(rows, model.width, batch).map((x) => ({
        [model.inputName]: new ort.Tensor('float32', x, [batch, model.width]),
      }));
      feedsBySize.set(batch, feeds);
    }
    const lat: number[] = [];
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < durationMs) {
      await session.run(feeds[lat.length % feeds.length]!);
      const t1 = performance.now();
      lat.push((t1 - t) * 1000);
      t = t1;
    }
    return { runsPerSec: lat.length / ((t - t0) / 1000), lat: Float64Array.from(lat).sort() };
  };
  return {
    async measure(batch, durationMs) {
      await loop(batch, Math.min(200, durationMs));
      const d = await disturbance(selfAndChildrenSeconds, () => loop(batch, durationMs));
      const { runsPerSec, lat } = d.result;
      return {
        batch,
        runsPerSec,
        rowsPerSec: runsPerSec * batch,
        p50Us: percentileSorted(lat, 50),
        p99Us: percentileSorted(lat, 99),
        otherCpuPercent: d.otherCpuPercent,
        stealPercent: d.stealPercent,
      };
    },
    close: () => session.release(),
  };
}

export function summarizeRaw(batch: number, runs: readonly RawRun[]): RawResult {
  return {
    batch,
    runsPerSec: spread(runs.map((r) => r.runsPerSec)),
    rowsPerSec: spread(runs.map((r) => r.rowsPerSec)),
    p50Us: spread(runs.map((r) => r.p50Us)),
    p99Us: spread(runs.map((r) => r.p99Us)),
    otherCpuPercent: spread(runs.map((r) => r.otherCpuPercent)),
    stealPercent: spread(runs.map((r) => r.stealPercent)),
  };
}

export interface RawPlan {
  batchSizes: readonly number[];
  /** Length of one timed repeat. */
  durationMs: number;
  repeats: number;
}

/** `repeats` timed loops per batch size, summarised. */
export async function rawOrt(model: BenchModel, rows: number[][], plan: RawPlan): Promise<RawResult[]> {
  const raw = await openRaw(model, rows);
  try {
    const results: RawResult[] = [];
    for (const batch of plan.batchSizes) {
      const runs: RawRun[] = [];
      for (let r = 0; r < plan.repeats; r++) runs.push(await raw.measure(batch, plan.durationMs));
      results.push(summarizeRaw(batch, runs));
    }
    return results;
  } finally {
    await raw.close();
  }
}
