// Concurrency sweep on digits: throughput against p99 latency for sluice and every baseline,
// from 1 to 128 connections, drawn as one SVG chart (bench/results/sweep.svg).
import { planFor, withServers, compareAt } from '../lib/side-by-side.js';
import { benchModel, inferBodies, loadRows } from '../lib/data.js';
import { defineScenario } from '../lib/registry.js';
import type { Summary } from '../lib/compare.js';
import { formatSpread } from '../lib/stats.js';
import { lineChart } from '../lib/svg.js';

const KINDS = ['sluice', 'naive-fastify', 'naive-uws', 'uws-hello'] as const;

export default defineScenario({
  name: 'sweep',
  order: 50,
  description: 'digits over HTTP JSON at 1..128 connections: throughput vs p99 for sluice, naive fastify, naive uWS, uWS hello (SVG chart).',
  async run(ctx) {
    const model = benchModel('digits');
    const rows = loadRows(model);
    const levels = ctx.quick ? [1, 8, 64] : [1, 2, 4, 8, 16, 32, 64, 128];
    const points: { connections: number; summaries: Summary[] }[] = [];
    await withServers(model, KINDS, { bodies: inferBodies(model, rows, 1), rowsPerRequest: 1 }, async (targets) => {
      for (const c of levels) {
        const plan = planFor(ctx, c, { durationS: ctx.quick ? 1 : 2, warmupS: 1 });
        ctx.log(`sweep: ${c} connections`);
        points.push({ connections: c, summaries: (await compareAt(targets, plan)).summaries });
      }
    });
    const cell = (c: number, label: string): Summary => points.find((p) => p.connections === c)!.summaries.find((s) => s.label === label)!;
    const svg = lineChart({
      title: `digits over HTTP JSON: throughput vs p99, 1–${levels[levels.length - 1]} connections (${ctx.generator})`,
      xLabel: 'requests per second (median of 3, log scale)',
      yLabel: 'p99 latency, ms (log scale)',
      logX: true,
      logY: true,
      series: KINDS.map((k) => ({
        name: k,
        points: levels.map((c) => ({ x: cell(c, k).reqPerSec.median, y: cell(c, k).p99Us.median / 1000, label: String(c) })),
      })),
    });
    return {
      summary:
        `Connections ${levels.join(', ')}; at each level a 1 s warm-up per server, then 3 rounds of ` +
        `${ctx.quick ? 1 : 2} s runs alternating ${KINDS.join(' → ')}; load by ${ctx.generator}. ` +
        'Each chart point is a median; its label is the connection count.',
      tables: [
        {
          title: 'req/s and p99 µs by connections (medians)',
          columns: ['connections', ...KINDS.flatMap((k) => [`${k} req/s`, `${k} p99 µs`])],
          rows: levels.map((c) => [
            String(c),
            ...KINDS.flatMap((k) => [formatSpread({ ...cell(c, k).reqPerSec, n: 1 }), formatSpread({ ...cell(c, k).p99Us, n: 1 })]),
          ]),
        },
      ],
      goals: [],
      charts: [{ file: 'sweep.svg', alt: 'digits: throughput vs p99 latency, sluice and baselines, 1..128 connections', svg }],
      data: { levels, points },
    };
  },
});
