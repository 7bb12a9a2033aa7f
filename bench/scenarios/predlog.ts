// Issue "Every prediction on the record": what the prediction log costs. Two sluice servers on
// the same private digits repository, one without the log and one writing every prediction with
// its inputs (--prediction-log-input-sample 1) to a file; runs alternate between them at 64
// connections (the digits-http-json load: a light model, so the log's share of each request is
// as large as it gets). Goals: throughput with the log ≥ 0.85x without, p99 within 15%.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pairedRatio, type Target } from '../lib/compare.js';
import { benchModel, inferBodies, loadRows } from '../lib/data.js';
import type { ServerHandle } from '../lib/procs.js';
import { defineScenario, type Goal } from '../lib/registry.js';
import { privateRepository, removeRepository, startSluice } from '../lib/servers.js';
import { compareAt, fx, planFor, ratioTable, targetTable } from '../lib/side-by-side.js';

const MODEL = 'digits';
const THROUGHPUT_MIN = 0.85;
const P99_MAX = 1.15;

export default defineScenario({
  name: 'predlog',
  order: 75,
  description: 'Prediction log on (every prediction, inputs sampled at 100%, to a file) vs off: digits over HTTP JSON at 64 connections.',
  async run(ctx) {
    const model = benchModel(MODEL);
    const bodies = inferBodies(model, loadRows(model), 1);
    const plan = planFor(ctx, 64);
    const repo = privateRepository([MODEL]);
    const logDir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-predlog-'));
    const logFile = path.join(logDir, 'predictions.log');
    const servers: ServerHandle[] = [];
    try {
      const off = await startSluice(repo);
      servers.push(off);
      // A size limit no run reaches: every line stays in one file, to be counted afterwards.
      const on = await startSluice(repo, { args: ['--prediction-log', logFile, '--prediction-log-input-sample', '1', '--prediction-log-max-bytes', String(64 * 2 ** 30)] });
      servers.push(on);
      const target = (label: string, server: ServerHandle): Target => ({ label, server, path: `/v2/models/${MODEL}/infer`, bodies, rowsPerRequest: 1, batchStatsModel: MODEL });
      const { summaries, samples } = await compareAt([target('log off', off), target('log on', on)], plan);
      await on.stop();
      servers.pop();
      const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => l !== '');
      const bytesPerLine = lines.length > 0 ? statSync(logFile).size / lines.length : 0;
      const last = lines.length > 0 ? (JSON.parse(lines.at(-1)!) as { seq: number }).seq : -1;
      const offS = samples.get('log off')!;
      const onS = samples.get('log on')!;
      const throughput = pairedRatio(onS, offS, (s) => s.reqPerSec);
      const p99 = pairedRatio(onS, offS, (s) => s.p99Us);
      const answered = onS.reduce((n, s) => n + s.requests, 0);
      const goals: Goal[] = [
        { name: 'throughput with the log on ÷ off', target: `≥ ${THROUGHPUT_MIN}x`, measured: `${fx(throughput.median)} (${fx(throughput.min)}–${fx(throughput.max)})`, met: throughput.median >= THROUGHPUT_MIN },
        { name: 'p99 with the log on ÷ off', target: `≤ ${P99_MAX}x (within 15%)`, measured: `${fx(p99.median)} (${fx(p99.min)}–${fx(p99.max)})`, met: p99.median <= P99_MAX },
        {
          name: 'every prediction of the server with the log is on the record',
          target: 'lines = seq of the last line + 1 (no gap) ≥ requests answered in the timed runs',
          measured: `${lines.length.toLocaleString('en-US')} lines, last seq ${last}, ${answered.toLocaleString('en-US')} answered in timed runs`,
          met: lines.length === last + 1 && lines.length >= answered,
        },
      ];
      return {
        summary:
          `Two sluice servers (defaults: 1 worker) on one private digits repository, one row per request (256 distinct bodies), ` +
          `${plan.connections} connections by ${plan.generator}; warm-up ${plan.warmupS} s each, then ${plan.repeats} rounds of ${plan.durationS} s ` +
          `alternating log off → log on. "log on": --prediction-log FILE --prediction-log-input-sample 1 (every line carries the ` +
          `64 input values and both outputs, ~${Math.round(bytesPerLine)} bytes). Ratios are medians of per-round ratios.`,
        tables: [
          targetTable(`${MODEL}, HTTP JSON, ${plan.connections} connections: prediction log off vs on`, summaries),
          ratioTable('log on ÷ log off, per round pair (median (min–max))', throughput, p99),
        ],
        goals,
        charts: [],
        data: { plan, summaries, samples: Object.fromEntries(samples), lines: lines.length, bytesPerLine },
      };
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      removeRepository(repo);
      rmSync(logDir, { recursive: true, force: true });
    }
  },
});
