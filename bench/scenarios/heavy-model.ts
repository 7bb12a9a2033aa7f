// Compute dominates: the digits-wide MLP (two 1536-unit layers, ~300 µs a run at batch 1).
// Does sluice deliver the throughput onnxruntime-node gives in-process at the same batch
// size? Requests carry N rows; with N = maxBatchSize (32) every batch is exactly one request,
// so sluice and the raw loop run identical batches, and the raw loop takes its turn in every
// round (sluice → naive-uws → raw). N = 1 shows what batching forms.
import { fx, planFor, rawTable, targetTable, withServers, compareAt } from '../lib/side-by-side.js';
import { benchModel, inferBodies, loadRows } from '../lib/data.js';
import { openRaw, type RawRun, summarizeRaw } from '../lib/raw-ort.js';
import { defineScenario, type Goal, type Table } from '../lib/registry.js';
import type { Sample, Summary } from '../lib/compare.js';
import { formatSpread, spread } from '../lib/stats.js';

const FULL = 32; // digits-wide's maxBatchSize
const CASES = [
  { rowsPerRequest: FULL, connections: 8 },
  { rowsPerRequest: 1, connections: 64 },
];

export default defineScenario({
  name: 'heavy-model',
  order: 30,
  description: `digits-wide MLP (64→1536→1536→10): sluice rows/s vs raw in-process ORT at equal batch size; requests of ${FULL} rows and of 1 row.`,
  async run(ctx) {
    const model = benchModel('digits-wide');
    const rows = loadRows(model);
    const raw = await openRaw(model, rows);
    try {
      const measured: { rowsPerRequest: number; summaries: Summary[]; samples: Map<string, Sample[]> }[] = [];
      const tables: Table[] = [];
      const rawFull: RawRun[] = [];
      for (const c of CASES) {
        const plan = planFor(ctx, c.connections, {
          // The in-process limit alternates with the servers in the equal-batch case.
          ...(c.rowsPerRequest === FULL ? { afterRound: async () => void rawFull.push(await raw.measure(FULL, plan.durationS * 1000)) } : {}),
        });
        ctx.log(`digits-wide: ${c.rowsPerRequest} rows per request, ${c.connections} connections, ${plan.generator}`);
        const bodies = inferBodies(model, rows, c.rowsPerRequest, c.rowsPerRequest > 1 ? 64 : 256);
        const r = await withServers(model, ['sluice', 'naive-uws'], { bodies, rowsPerRequest: c.rowsPerRequest }, (t) => compareAt(t, plan));
        measured.push({ rowsPerRequest: c.rowsPerRequest, ...r });
        tables.push(targetTable(`digits-wide, ${c.rowsPerRequest} rows per request, ${c.connections} connections`, r.summaries, c.rowsPerRequest));
      }
      const sluiceOf = (n: number): Summary => measured.find((m) => m.rowsPerRequest === n)!.summaries.find((s) => s.label === 'sluice')!;
      const formed = Math.max(1, Math.round(sluiceOf(1).meanBatchRows.median || 1));
      ctx.log(`digits-wide: raw onnxruntime-node in-process at batch 1 and ${formed}`);
      const durationMs = ctx.quick ? 700 : 2000;
      const rawResults = [summarizeRaw(FULL, rawFull)];
      for (const b of [...new Set([1, formed])].filter((b) => b !== FULL)) {
        const runs: RawRun[] = [];
        for (let i = 0; i < 3; i++) runs.push(await raw.measure(b, durationMs));
        rawResults.push(summarizeRaw(b, runs));
      }
      rawResults.sort((a, b) => a.batch - b.batch);
      const rawAt = (b: number) => rawResults.find((r) => r.batch === b)!;
      // Per round: sluice rows/s ÷ raw rows/s, both at batch 32.
      const sluiceFull = measured[0]!.samples.get('sluice')!;
      const equal = spread(sluiceFull.map((s, i) => (s.reqPerSec * FULL) / rawFull[i]!.rowsPerSec));
      const equalFormed = sluiceOf(1).rowsPerSec.median / rawAt(formed).rowsPerSec.median;
      tables.push(rawTable('raw onnxruntime-node in-process, digits-wide', rawResults));
      tables.push({
        title: 'sluice as ratios (rows/s)',
        columns: ['ratio', 'median (min–max)'],
        rows: [
          [`sluice ÷ raw at batch ${FULL} (${FULL}-row requests: every batch one request; per round)`, formatSpread(equal, 2)],
          [`sluice ÷ raw at batch ${formed} (1-row requests; sluice formed ${formed}-row batches on average)`, fx(equalFormed)],
          ['sluice ÷ raw at batch 1 (1-row requests)', fx(sluiceOf(1).rowsPerSec.median / rawAt(1).rowsPerSec.median)],
          ...measured.map((m) => [
            `sluice ÷ naive-uws, ${m.rowsPerRequest}-row requests`,
            fx(m.summaries[0]!.rowsPerSec.median / m.summaries[1]!.rowsPerSec.median),
          ]),
        ],
      });
      const goals: Goal[] = [
        { name: `heavy model vs raw in-process, equal batch size (${FULL})`, target: '≥ 0.8x', measured: fx(equal.median), met: equal.median >= 0.8 },
      ];
      return {
        summary:
          `A single run at batch 1 costs ${Math.round(rawAt(1).p50Us.median)} µs (raw p50). sluice runs with its defaults ` +
          `(1 worker: the same one compute thread the raw loop uses). Load by ${ctx.generator}; warm-up, then 3 rounds per ` +
          `case alternating sluice → naive-uws (→ raw at batch ${FULL} in the ${FULL}-row case); the other raw sizes run after.`,
        tables,
        goals,
        charts: [],
        data: { measured: measured.map((m) => ({ ...m, samples: Object.fromEntries(m.samples) })), raw: rawResults, rawFull, formed, equal },
      };
    } finally {
      await raw.close();
    }
  },
});
