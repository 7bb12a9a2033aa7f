// The scenario built on measureHttpJson: tables of the servers, the raw limit at the batch
// sizes sluice formed, the ratios, and (for the headline model) the goals.
import { fx, rawTable, targetTable } from './side-by-side.js';
import { measureHttpJson } from './http-json.js';
import { rawOrt } from './raw-ort.js';
import { defineScenario, type Goal, type Scenario } from './registry.js';
import { formatSpread } from './stats.js';

export interface HttpJsonScenarioSpec {
  name: string;
  model: string;
  order: number;
  description: string;
  /** Check the 64-connection goals (digits only). */
  goals: boolean;
}

export function httpJsonScenario(spec: HttpJsonScenarioSpec): Scenario {
  return defineScenario({
    name: spec.name,
    order: spec.order,
    description: spec.description,
    async run(ctx) {
      const m = await measureHttpJson(ctx, spec.model);
      const sluice = m.summaries.find((s) => s.label === 'sluice')!;
      const formed = Math.max(1, Math.round(sluice.meanBatchRows.median || 1));
      const batchSizes = [...new Set([1, formed, 64])].sort((a, b) => a - b);
      ctx.log(`${spec.model}: raw onnxruntime-node in-process at batch ${batchSizes.join(', ')}`);
      const raw = await rawOrt(m.model, m.rows, { batchSizes, durationMs: ctx.quick ? 500 : 1500, repeats: 3 });
      const rawAtFormed = raw.find((r) => r.batch === formed)!;
      const ratioRows = Object.entries(m.ratios).map(([name, s]) => [name, formatSpread(s, 2)]);
      ratioRows.push([
        `sluice rows/s ÷ raw in-process rows/s at batch ${formed} (the batch size sluice formed)`,
        fx(sluice.rowsPerSec.median / rawAtFormed.rowsPerSec.median),
      ]);
      const r = (k: string): number => m.ratios[k]?.median ?? NaN;
      const goals: Goal[] = spec.goals
        ? [
            { name: 'req/s vs naive fastify', target: '≥ 2.0x', measured: fx(r('sluice/naive-fastify req/s')), met: r('sluice/naive-fastify req/s') >= 2 },
            { name: 'req/s vs naive uWS', target: '≥ 1.3x', measured: fx(r('sluice/naive-uws req/s')), met: r('sluice/naive-uws req/s') >= 1.3 },
            { name: 'p99 vs naive fastify', target: 'no worse (fastify p99 ÷ sluice p99 ≥ 1)', measured: fx(r('naive-fastify p99/sluice p99')), met: r('naive-fastify p99/sluice p99') >= 1 },
            { name: 'p99 vs naive uWS', target: 'no worse (uWS p99 ÷ sluice p99 ≥ 1)', measured: fx(r('naive-uws p99/sluice p99')), met: r('naive-uws p99/sluice p99') >= 1 },
          ]
        : [];
      return {
        summary:
          `${m.plan.connections} connections, one real ${m.model.name} row per request (256 distinct bodies rotated), ` +
          `load by ${m.plan.generator}; warm-up ${m.plan.warmupS} s per server, then ${m.plan.repeats} rounds of ` +
          `${m.plan.durationS} s runs alternating ${m.summaries.map((s) => s.label).join(' → ')}. Figures are medians ` +
          `(min–max); ratios are medians of per-round ratios. sluice runs with its defaults (1 worker on 2 cores).`,
        tables: [
          targetTable(`${m.model.name}, HTTP JSON, ${m.plan.connections} connections`, m.summaries),
          rawTable(`raw onnxruntime-node in-process, ${m.model.name}`, raw),
          { title: 'sluice as ratios', columns: ['ratio', 'median (min–max)'], rows: ratioRows },
        ],
        goals,
        charts: [],
        data: { plan: m.plan, summaries: m.summaries, samples: Object.fromEntries(m.samples), ratios: m.ratios, raw },
      };
    },
  });
}
