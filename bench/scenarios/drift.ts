// Issue "Drift statistics that trigger retraining": what drift tracking costs on the request path.
// Two sluice servers on the same private digits repository (its version has a reference.json):
// one with --disable-drift, one tracking drift as served by default (answers' 64 inputs and outputs
// binned on the reference edges, at most drift.maxSampledPerSecond = 2000 requests a second, windows
// closed every 1,000 binned rows). Runs alternate
// between them at 64 connections (a light model: tracking's share of each request is as large as
// it gets). Goal: throughput with drift tracking on ≥ 0.95x off.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pairedRatio, type Target } from '../lib/compare.js';
import { benchModel, inferBodies, loadRows } from '../lib/data.js';
import type { ServerHandle } from '../lib/procs.js';
import { defineScenario, type Goal } from '../lib/registry.js';
import { privateRepository, removeRepository, startSluice } from '../lib/servers.js';
import { compareAt, fx, planFor, ratioTable, targetTable } from '../lib/side-by-side.js';

const MODEL = 'digits';
const THROUGHPUT_MIN = 0.95;

export default defineScenario({
  name: 'drift',
  order: 76,
  description: 'Drift tracking on (default: inputs and outputs binned per answer) vs --disable-drift: digits over HTTP JSON at 64 connections.',
  async run(ctx) {
    const model = benchModel(MODEL);
    const bodies = inferBodies(model, loadRows(model), 1);
    // Seven short rounds, not three long ones: on a shared 2-vCPU box the median of more paired
    // ratios is what steals least from the comparison.
    const plan = planFor(ctx, 64, ctx.quick ? {} : { repeats: 7, durationS: 3 });
    const repo = privateRepository([MODEL]);
    // The same model binning every request (no sampling cap): what the cap saves, reported, not a goal.
    const repoAll = privateRepository([MODEL]);
    const file = path.join(repoAll, MODEL, 'model.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), drift: { maxSampledPerSecond: 0 } }));
    const servers: ServerHandle[] = [];
    try {
      const off = await startSluice(repo, { args: ['--disable-drift'] });
      servers.push(off);
      const on = await startSluice(repo);
      servers.push(on);
      const all = await startSluice(repoAll);
      servers.push(all);
      const target = (label: string, server: ServerHandle): Target => ({ label, server, path: `/v2/models/${MODEL}/infer`, bodies, rowsPerRequest: 1, batchStatsModel: MODEL });
      const { summaries, samples } = await compareAt([target('drift off', off), target('drift on', on), target('every request', all)], plan);
      const report = (await (await fetch(`${on.origin}/v2/models/${MODEL}/drift`)).json()) as { versions: { tracking: boolean; rows?: number; history?: unknown[]; windows?: { count: { rows: number } } }[] };
      const tracked = report.versions.find((v) => v.tracking);
      const offS = samples.get('drift off')!;
      const onS = samples.get('drift on')!;
      const throughput = pairedRatio(onS, offS, (s) => s.reqPerSec);
      const p99 = pairedRatio(onS, offS, (s) => s.p99Us);
      const allS = samples.get('every request')!;
      const allThroughput = pairedRatio(allS, offS, (s) => s.reqPerSec);
      const allP99 = pairedRatio(allS, offS, (s) => s.p99Us);
      const answered = onS.reduce((n, s) => n + s.requests, 0);
      const goals: Goal[] = [
        { name: 'throughput with drift tracking on ÷ off', target: `≥ ${THROUGHPUT_MIN}x`, measured: `${fx(throughput.median)} (${fx(throughput.min)}–${fx(throughput.max)})`, met: throughput.median >= THROUGHPUT_MIN },
        {
          name: 'the server tracking drift kept measuring under load',
          target: 'its count window full (1,000 rows) and windows closed',
          measured: `${(tracked?.rows ?? 0).toLocaleString('en-US')} rows binned of ${answered.toLocaleString('en-US')} answered in timed runs (drift.maxSampledPerSecond 2000), ${tracked?.history?.length ?? 0} windows closed, count window ${tracked?.windows?.count.rows ?? 0} rows`,
          met: (tracked?.windows?.count.rows ?? 0) === 1000 && (tracked?.history?.length ?? 0) > 0,
        },
      ];
      return {
        summary:
          `Two sluice servers (defaults: 1 worker) on one private digits repository, one row per request (256 distinct bodies), ` +
          `${plan.connections} connections by ${plan.generator}; warm-up ${plan.warmupS} s each, then ${plan.repeats} rounds of ${plan.durationS} s ` +
          `alternating drift off → drift on. "drift off": --disable-drift; "drift on": the default (each answer's 64 inputs, its label ` +
          `and its top probability binned on the reference edges, at most 2000 requests a second); "every request": the same with ` +
          `drift.maxSampledPerSecond 0, to show what the cap saves. Ratios are medians of per-round ratios; p99 is reported, not a goal.`,
        tables: [
          targetTable(`${MODEL}, HTTP JSON, ${plan.connections} connections: drift tracking off vs on`, summaries),
          ratioTable('drift on ÷ drift off, per round pair (median (min–max))', throughput, p99),
          ratioTable('every request binned (maxSampledPerSecond 0) ÷ drift off, per round pair (median (min–max)); not a goal', allThroughput, allP99),
        ],
        goals,
        charts: [],
        data: { plan, summaries, samples: Object.fromEntries(samples), rowsBinned: tracked?.rows ?? 0 },
      };
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      removeRepository(repo);
      removeRepository(repoAll);
    }
  },
});
