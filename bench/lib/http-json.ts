// sluice beside the naive servers and the HTTP ceiling on one model over OIP JSON, plus the
// raw in-process limit at the batch sizes sluice formed. Shared by the per-model scenarios
// and by the CI gate (which runs the same measurement in quick form).
import type { Spread } from './stats.js';
import type { RunPlan, Sample, Summary } from './compare.js';
import { pairedRatio } from './compare.js';
import { benchModel, inferBodies, loadRows, type BenchModel } from './data.js';
import type { ScenarioContext } from './registry.js';
import type { ServerKind, SluiceOptions } from './servers.js';
import { compareAt, planFor, withServers } from './side-by-side.js';

export const HTTP_KINDS: readonly ServerKind[] = ['sluice', 'naive-fastify', 'naive-uws', 'uws-hello'];

export interface HttpJsonMeasurement {
  model: BenchModel;
  rows: number[][];
  plan: RunPlan;
  summaries: Summary[];
  samples: Map<string, Sample[]>;
  /** "sluice/naive-uws req/s", "naive-uws p99/sluice p99", ...: per-round ratios. */
  ratios: Record<string, Spread>;
}

/** Throughput ratios sluice ÷ baseline and p99 ratios baseline ÷ sluice (≥ 1: sluice no worse). */
export function sluiceRatios(samples: ReadonlyMap<string, Sample[]>): Record<string, Spread> {
  const sluice = samples.get('sluice');
  const ratios: Record<string, Spread> = {};
  if (!sluice) return ratios;
  for (const [label, s] of samples) {
    if (label === 'sluice') continue;
    ratios[`sluice/${label} req/s`] = pairedRatio(sluice, s, (x) => x.reqPerSec);
    if (label !== 'uws-hello') ratios[`${label} p99/sluice p99`] = pairedRatio(s, sluice, (x) => x.p99Us);
  }
  return ratios;
}

export async function measureHttpJson(
  ctx: ScenarioContext,
  modelName: string,
  opts: { kinds?: readonly ServerKind[]; connections?: number; sluice?: SluiceOptions } = {},
): Promise<HttpJsonMeasurement> {
  const model = benchModel(modelName);
  const rows = loadRows(model);
  const bodies = inferBodies(model, rows, 1);
  const plan = planFor(ctx, opts.connections ?? 64);
  const kinds = opts.kinds ?? HTTP_KINDS;
  ctx.log(`${modelName}: ${kinds.join(', ')} at ${plan.connections} connections, ${plan.generator}`);
  const { summaries, samples } = await withServers(
    model,
    kinds,
    { bodies, rowsPerRequest: 1, ...(opts.sluice ? { sluice: opts.sluice } : {}) },
    (targets) => compareAt(targets, plan),
  );
  return { model, rows, plan, summaries, samples, ratios: sluiceRatios(samples) };
}
