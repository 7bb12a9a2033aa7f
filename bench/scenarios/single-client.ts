// One connection, one request at a time: what does sluice add to a single prediction?
// Overhead = sluice's p50 (p99) minus the p50 (p99) of one in-process session.run at batch 1.
// The uWS hello row shows how much of that is loopback HTTP and the load generator.
import { fx, planFor, rawTable, targetTable, withServers, compareAt } from '../lib/side-by-side.js';
import { benchModel, inferBodies, loadRows } from '../lib/data.js';
import { rawOrt } from '../lib/raw-ort.js';
import { defineScenario, type Goal } from '../lib/registry.js';
import type { Summary } from '../lib/compare.js';

export default defineScenario({
  name: 'single-client',
  order: 40,
  description: 'digits, 1 connection: p50 and p99 overhead of sluice over an in-process run, beside naive uWS, naive fastify and uWS hello.',
  async run(ctx) {
    const model = benchModel('digits');
    const rows = loadRows(model);
    const plan = planFor(ctx, 1);
    ctx.log(`digits: single client, ${plan.generator}`);
    const { summaries, samples } = await withServers(
      model,
      ['sluice', 'naive-uws', 'naive-fastify', 'uws-hello'],
      { bodies: inferBodies(model, rows, 1), rowsPerRequest: 1 },
      (t) => compareAt(t, plan),
    );
    const raw = await rawOrt(model, rows, { batchSizes: [1], durationMs: ctx.quick ? 500 : 1500, repeats: 3 });
    const by = (label: string): Summary => summaries.find((s) => s.label === label)!;
    const rawP50 = raw[0]!.p50Us.median;
    const rawP99 = raw[0]!.p99Us.median;
    const over = (label: string, p: 'p50Us' | 'p99Us'): number => by(label)[p].median - (p === 'p50Us' ? rawP50 : rawP99);
    const sluiceP50Over = over('sluice', 'p50Us');
    // Per round: sluice p99 ÷ naive uWS p99, median.
    const s = samples.get('sluice')!;
    const u = samples.get('naive-uws')!;
    const p99Ratios = s.map((x, i) => x.p99Us / u[i]!.p99Us).sort((a, b) => a - b);
    const p99Ratio = p99Ratios[p99Ratios.length >> 1]!;
    const goals: Goal[] = [
      { name: 'single client: p50 overhead over in-process', target: '≤ 120 µs', measured: `${Math.round(sluiceP50Over)} µs`, met: sluiceP50Over <= 120 },
      { name: 'single client: p99 vs naive uWS p99', target: '≤ 2x', measured: fx(p99Ratio), met: p99Ratio <= 2 },
    ];
    const overheadRows = ['sluice', 'naive-uws', 'naive-fastify', 'uws-hello'].map((label) => [
      label,
      `${Math.round(over(label, 'p50Us'))}`,
      `${Math.round(over(label, 'p99Us'))}`,
    ]);
    return {
      summary:
        `1 connection, closed loop, one real digits row per request, load by ${plan.generator}; warm-up ${plan.warmupS} s, ` +
        `then ${plan.repeats} rounds of ${plan.durationS} s alternating ${summaries.map((x) => x.label).join(' → ')}. ` +
        `In-process session.run at batch 1: p50 ${Math.round(rawP50)} µs, p99 ${Math.round(rawP99)} µs. ` +
        `The hello server runs no model: its figure is loopback HTTP and the generator alone, minus one run, the floor for any ` +
        `HTTP server here (p50 ${Math.round(over('uws-hello', 'p50Us'))} µs in this run). Above that floor sluice adds ` +
        `${Math.round(by('sluice').p50Us.median - by('uws-hello').p50Us.median)} µs at p50 and naive uWS ` +
        `${Math.round(by('naive-uws').p50Us.median - by('uws-hello').p50Us.median)} µs. At one connection the pool is idle, so sluice ` +
        `runs digits inline on its main thread (docs/batching.md, "Light models run inline at low load").`,
      tables: [
        targetTable('digits, single client', summaries),
        rawTable('raw onnxruntime-node in-process, digits, batch 1', raw),
        { title: 'latency over one in-process run (server p − raw p, medians)', columns: ['server', 'p50 overhead µs', 'p99 overhead µs'], rows: overheadRows },
      ],
      goals,
      charts: [],
      data: { plan, summaries, samples: Object.fromEntries(samples), raw, sluiceP50Over, p99Ratio },
    };
  },
});
