// Side by side on the same machine in the same minute: every target gets a warm-up run,
// then timed runs alternate A B C A B C ... so that drift of a noisy machine hits all of
// them alike. Each run also reads the server's CPU time (and, for sluice, the batch sizes it
// formed). Ratios are taken per round (A_i / B_i) and their median reported.
import type { ServerHandle } from './procs.js';
import { type GeneratorName, type LoadRun, runLoad } from './load.js';
import { disturbance, selfAndChildrenSeconds } from './cpu.js';
import { type Spread, spread } from './stats.js';

export interface Target {
  /** Column label: "sluice", "naive-uws", ... */
  label: string;
  server: ServerHandle;
  /** Request path, e.g. /v2/models/digits/infer */
  path: string;
  bodies: readonly string[];
  rowsPerRequest: number;
  /** sluice only: read its batch-size counters for this model around every run. */
  batchStatsModel?: string;
}

export interface Sample extends LoadRun {
  /** Server CPU (user + system, all threads) per completed request, µs. */
  cpuUsPerReq: number;
  /** Rows per executed batch during this run (sluice only; NaN otherwise). */
  meanBatchRows: number;
  /**
   * CPU used during the run by processes other than the server and this runner (with its
   * generator), as % of all cores: another tenant disturbing the figure. Near 0 is clean.
   */
  otherCpuPercent: number;
  /** CPU the hypervisor gave to other guests during the run, % of all cores. */
  stealPercent: number;
}

export interface RunPlan {
  connections: number;
  durationS: number;
  warmupS: number;
  repeats: number;
  generator: GeneratorName;
  log(line: string): void;
  /** Runs after each timed round (e.g. an in-process baseline that alternates with the servers). */
  afterRound?: (round: number) => Promise<void>;
}

export interface Summary {
  label: string;
  generator: GeneratorName;
  connections: number;
  reqPerSec: Spread;
  rowsPerSec: Spread;
  p50Us: Spread;
  p99Us: Spread;
  cpuUsPerReq: Spread;
  meanBatchRows: Spread;
  /** CPU of other processes during the timed runs, % of all cores (see Sample). */
  otherCpuPercent: Spread;
  stealPercent: Spread;
  /** Sum over the timed runs. */
  errors: number;
}

interface BatchCounters {
  batches: number;
  rows: number;
}

async function batchCounters(t: Target): Promise<BatchCounters | undefined> {
  if (!t.batchStatsModel) return undefined;
  const line = await t.server.query('SIGUSR2', '"benchStats"');
  const stats = (JSON.parse(line) as { benchStats: Record<string, BatchCounters> }).benchStats;
  return stats[t.batchStatsModel] ?? { batches: 0, rows: 0 };
}

export async function measureOnce(t: Target, plan: RunPlan, durationS: number): Promise<Sample> {
  const before = await batchCounters(t);
  const cpu0 = t.server.cpuSeconds();
  const { result: run, otherCpuPercent, stealPercent } = await disturbance(
    () => t.server.cpuSeconds() + selfAndChildrenSeconds(),
    () => runLoad(plan.generator, { url: t.server.origin + t.path, bodies: t.bodies, connections: plan.connections, durationS }),
  );
  const cpu1 = t.server.cpuSeconds();
  const after = await batchCounters(t);
  const meanBatchRows =
    before && after && after.batches > before.batches ? (after.rows - before.rows) / (after.batches - before.batches) : NaN;
  return { ...run, cpuUsPerReq: ((cpu1 - cpu0) * 1e6) / Math.max(1, run.requests), meanBatchRows, otherCpuPercent, stealPercent };
}

/** Warm-up, then `plan.repeats` rounds of one timed run per target in the given order. */
export async function alternate(targets: readonly Target[], plan: RunPlan): Promise<Map<string, Sample[]>> {
  const samples = new Map<string, Sample[]>(targets.map((t) => [t.label, []]));
  for (const t of targets) await measureOnce(t, plan, plan.warmupS);
  for (let round = 0; round < plan.repeats; round++) {
    for (const t of targets) {
      const s = await measureOnce(t, plan, plan.durationS);
      samples.get(t.label)!.push(s);
      plan.log(
        `  c=${plan.connections} round ${round + 1}/${plan.repeats} ${t.label.padEnd(14)} ` +
          `${Math.round(s.reqPerSec).toString().padStart(7)} req/s  p50 ${Math.round(s.p50Us)} µs  ` +
          `p99 ${Math.round(s.p99Us)} µs  cpu ${Math.round(s.cpuUsPerReq)} µs/req` +
          (Number.isNaN(s.meanBatchRows) ? '' : `  batch ${s.meanBatchRows.toFixed(1)} rows`) +
          (s.otherCpuPercent > 5 ? `  other CPU ${Math.round(s.otherCpuPercent)}%` : '') +
          (s.stealPercent > 5 ? `  steal ${Math.round(s.stealPercent)}%` : '') +
          (s.errors > 0 ? `  ERRORS ${s.errors}` : ''),
      );
    }
    await plan.afterRound?.(round);
  }
  return samples;
}

export function summarize(t: Target, samples: readonly Sample[], plan: RunPlan): Summary {
  return {
    label: t.label,
    generator: plan.generator,
    connections: plan.connections,
    reqPerSec: spread(samples.map((s) => s.reqPerSec)),
    rowsPerSec: spread(samples.map((s) => s.reqPerSec * t.rowsPerRequest)),
    p50Us: spread(samples.map((s) => s.p50Us)),
    p99Us: spread(samples.map((s) => s.p99Us)),
    cpuUsPerReq: spread(samples.map((s) => s.cpuUsPerReq)),
    meanBatchRows: spread(samples.map((s) => s.meanBatchRows)),
    otherCpuPercent: spread(samples.map((s) => s.otherCpuPercent)),
    stealPercent: spread(samples.map((s) => s.stealPercent)),
    errors: samples.reduce((sum, s) => sum + s.errors, 0),
  };
}

/** Per-round ratios f(a_i) / f(b_i) of two targets' samples, summarised. */
export function pairedRatio(a: readonly Sample[], b: readonly Sample[], f: (s: Sample) => number): Spread {
  const n = Math.min(a.length, b.length);
  return spread(Array.from({ length: n }, (_, i) => f(a[i]!) / f(b[i]!)));
}
