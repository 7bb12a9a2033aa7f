// Starting sluice and baselines together for one model, and the tables every HTTP scenario
// prints. All servers are up for the whole scenario (idle ones cost nothing: no spinning),
// and are stopped, with the private model repository removed, whatever happens.
import type { ScenarioContext, Table } from './registry.js';
import { alternate, type RunPlan, type Sample, type Summary, summarize, type Target } from './compare.js';
import type { BenchModel } from './data.js';
import type { ServerHandle } from './procs.js';
import type { RawResult } from './raw-ort.js';
import {
  privateRepository,
  removeRepository,
  type ServerKind,
  type SluiceOptions,
  startBaseline,
  startSluice,
} from './servers.js';
import { formatSpread, type Spread } from './stats.js';

/** Seconds per run: full runs for the README, quick ones for CI and smoke tests. */
export function planFor(ctx: ScenarioContext, connections: number, overrides: Partial<RunPlan> = {}): RunPlan {
  return {
    connections,
    durationS: ctx.quick ? 2 : 5,
    warmupS: ctx.quick ? 1 : 2,
    repeats: 3,
    generator: ctx.generator,
    log: ctx.log,
    ...overrides,
  };
}

/** A server to compare: how to start it, and whether it is a sluice (its batch sizes are read). */
export interface Contender {
  label: string;
  start: () => Promise<ServerHandle>;
  sluice: boolean;
}

/** Starts every contender, hands their targets for `model` to `fn`, stops them all afterwards. */
export async function withContenders<T>(
  model: string,
  contenders: readonly Contender[],
  target: { bodies: readonly string[]; rowsPerRequest: number },
  fn: (targets: Target[]) => Promise<T>,
): Promise<T> {
  const servers: ServerHandle[] = [];
  try {
    const targets: Target[] = [];
    for (const c of contenders) {
      const server = await c.start();
      servers.push(server);
      targets.push({
        label: c.label,
        server,
        path: `/v2/models/${model}/infer`,
        bodies: target.bodies,
        rowsPerRequest: target.rowsPerRequest,
        ...(c.sluice ? { batchStatsModel: model } : {}),
      });
    }
    return await fn(targets);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/** Starts `kinds` for `model` (sluice over a private repository of it), as withContenders. */
export async function withServers<T>(
  model: BenchModel,
  kinds: readonly ServerKind[],
  target: { bodies: readonly string[]; rowsPerRequest: number; sluice?: SluiceOptions },
  fn: (targets: Target[]) => Promise<T>,
): Promise<T> {
  const repo = privateRepository([model.name]);
  try {
    const contenders = kinds.map((kind) => ({
      label: kind,
      start: () => (kind === 'sluice' ? startSluice(repo, target.sluice) : startBaseline(kind, model)),
      sluice: kind === 'sluice',
    }));
    return await withContenders(model.name, contenders, target, fn);
  } finally {
    removeRepository(repo);
  }
}

/** Alternating runs of every target at one concurrency, summarised per target. */
export async function compareAt(
  targets: readonly Target[],
  plan: RunPlan,
): Promise<{ summaries: Summary[]; samples: Map<string, Sample[]> }> {
  const samples = await alternate(targets, plan);
  return { summaries: targets.map((t) => summarize(t, samples.get(t.label)!, plan)), samples };
}

const us = (n: number): string => `${n}`;

export function targetTable(title: string, summaries: readonly Summary[], rowsPerRequest = 1): Table {
  const rows = summaries.map((s) => [
    s.label,
    s.generator,
    String(s.connections),
    formatSpread(s.reqPerSec),
    ...(rowsPerRequest > 1 ? [formatSpread(s.rowsPerSec)] : []),
    formatSpread(s.p50Us),
    formatSpread(s.p99Us),
    formatSpread(s.cpuUsPerReq),
    s.meanBatchRows.n > 0 ? formatSpread(s.meanBatchRows, 1) : '–',
    us(s.errors),
    `${Math.round(s.otherCpuPercent.max)} / ${Math.round(s.stealPercent.max)}`,
  ]);
  return {
    title,
    columns: [
      'server', 'generator', 'connections', 'req/s',
      ...(rowsPerRequest > 1 ? ['rows/s'] : []),
      'p50 µs', 'p99 µs', 'server CPU µs/req', 'rows/batch', 'errors', 'other CPU / steal % (max)',
    ],
    rows,
  };
}

export function rawTable(title: string, raw: readonly RawResult[]): Table {
  return {
    title,
    columns: ['batch rows', 'runs/s', 'rows/s', 'p50 µs per run', 'p99 µs per run', 'other CPU / steal % (max)'],
    rows: raw.map((r) => [
      String(r.batch),
      formatSpread(r.runsPerSec),
      formatSpread(r.rowsPerSec),
      formatSpread(r.p50Us),
      formatSpread(r.p99Us),
      `${Math.round(r.otherCpuPercent.max)} / ${Math.round(r.stealPercent.max)}`,
    ]),
  };
}

export const fx = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(2)}x` : 'n/a');

/** The table of two paired ratios, `b ÷ a` per round pair: req/s and p99 (median (min–max)). */
export function ratioTable(title: string, throughput: Spread, p99: Spread): Table {
  return { title, columns: ['ratio', 'median (min–max)'], rows: [['req/s', formatSpread(throughput, 2)], ['p99', formatSpread(p99, 2)]] };
}
