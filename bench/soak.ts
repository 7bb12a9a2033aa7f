// `npm run soak [-- --duration-s 600 --slice-s 30]`: sluice under steady mixed traffic for a long
// while (issue 15). digits has versions 1 (primary) and 2 (a 25% shadow); the prediction log is
// on and rotates at 64 MiB. First the saturation S of the mix is measured: wrk at 32 connections
// plus the two hostile loops (bench/lib/soak-hostile.ts). Then every slice sends valid requests
// open loop at --load-share × S (bench/lib/open-loop.ts: a fixed schedule, latency from the
// scheduled time) while the hostile loops run, and reads RSS (/proc) and the main thread's heap
// (/metrics on the admin listener) after it. At the end sluice gets SIGTERM and its prediction
// log is read back.
//
// Fails (exit 1) on: a valid request not answered 200, or not answered at all; a hostile case
// answered 5xx; RSS over the last 3 slices more than 5% above the first 3 (medians); a primary
// log line count that differs from the answers each client counted; a seq gap or repeat; a
// dropped line in sluice_prediction_log_dropped_total.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { hostileCorpus } from './lib/hostile-corpus.js';
import { benchModel, inferBodies, loadRows } from './lib/data.js';
import { pickGenerator, runLoad } from './lib/load.js';
import { machineInfo } from './lib/machine.js';
import { runOpenLoop } from './lib/open-loop.js';
import { readPredictionLog } from './lib/predlog-read.js';
import { freePort } from './lib/procs.js';
import { removeRepository, startSluice, versionedRepository } from './lib/servers.js';
import { median } from './lib/stats.js';
import { fiveXx, hostileHttp, hostileWs, newTally, wsFrames, type HostileTally } from './lib/soak-hostile.js';

const { values } = parseArgs({
  options: {
    'duration-s': { type: 'string', default: '600' },
    'slice-s': { type: 'string', default: '30' },
    'saturation-s': { type: 'string', default: '20' },
    'load-share': { type: 'string', default: '0.7' },
  },
});
const durationS = Number(values['duration-s']);
const sliceS = Number(values['slice-s']);
const saturationS = Number(values['saturation-s']);
const loadShare = Number(values['load-share']);
if (!(durationS > 0 && sliceS > 0 && saturationS > 0 && loadShare > 0 && loadShare <= 1)) throw new Error('--duration-s, --slice-s, --saturation-s must be positive and --load-share in (0, 1]');

const RSS_GROWTH_MAX = 0.05;
const SHADOW_PERCENT = 25;
const MiB = 2 ** 20;
const parseMetrics = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => { name: string; metrics: { labels?: Record<string, string>; value: string }[] }[];

/** Sum of a family's samples on the admin listener's /metrics (--metrics-public: no token). */
async function metric(adminOrigin: string, name: string): Promise<number> {
  const text = await (await fetch(`${adminOrigin}/metrics`)).text();
  const family = parseMetrics(text).find((f) => f.name === name);
  return family ? family.metrics.reduce((a, m) => a + Number(m.value), 0) : 0;
}

/** Least-squares slope of y over x. */
function slope(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const mx = x.reduce((a, v) => a + v, 0) / n;
  const my = y.reduce((a, v) => a + v, 0) / n;
  const sxy = x.reduce((a, v, i) => a + (v - mx) * (y[i]! - my), 0);
  const sxx = x.reduce((a, v) => a + (v - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

const runHostile = (origin: string, untilMs: number, http: HostileTally, ws: HostileTally): Promise<[void, void]> =>
  Promise.all([hostileHttp(origin, corpus, untilMs, 'soak-hostile-http', http), hostileWs(origin, frames, untilMs, 'soak-hostile-ws', ws)]);

const model = benchModel('digits');
const bodies = inferBodies(model, loadRows(model), 1);
const corpus = hostileCorpus(15, 1500);
const frames = wsFrames(corpus);
const repo = versionedRepository('digits', 2, { primary: '1', shadows: [{ version: '2', percent: SHADOW_PERCENT }] });
const logDir = mkdtempSync(path.join(os.tmpdir(), 'sluice-soak-'));
const logFile = path.join(logDir, 'predictions.log');
const adminPort = await freePort();
// --metrics-public starts the admin listener without a token, serving only /metrics there.
const server = await startSluice(repo, {
  args: ['--prediction-log', logFile, '--prediction-log-max-bytes', String(64 * MiB), '--prediction-log-keep', '10000', '--admin-port', String(adminPort), '--metrics-public'],
});
const adminOrigin = `http://127.0.0.1:${adminPort}`;
const failures: string[] = [];
const report: string[] = [];
const say = (line: string): void => {
  console.log(line);
  report.push(line);
};
const http = newTally();
const ws = newTally();
let valid200 = 0;
try {
  const machine = await machineInfo();
  say(`soak: ${durationS} s in ${sliceS} s slices on ${machine.cpuModel} (${machine.cores} cores), digits v1 primary + v2 shadow at ${SHADOW_PERCENT}%, prediction log on`);
  const generator = pickGenerator();
  const [sat] = await Promise.all([
    runLoad(generator, { url: `${server.origin}/v2/models/digits/infer`, bodies, connections: 32, durationS: saturationS }),
    // Its hostile answers count toward the totals the log is checked against (same client ids).
    runHostile(server.origin, Date.now() + saturationS * 1000, http, ws),
  ]);
  const rate = Math.round(sat.reqPerSec * loadShare);
  say(`saturation (${generator}, 32 connections, hostile loops on): ${Math.round(sat.reqPerSec)} req/s; open-loop rate ${rate} req/s (${loadShare} × S)`);
  say('');
  say('| t (s) | valid sent | 200 | other / unanswered | p50 (ms) | p99 (ms) | hostile HTTP (5xx) | hostile WS (5xx) | RSS (MiB) | heap used (MiB) |');
  say('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const t: number[] = [];
  const rss: number[] = [];
  const heap: number[] = [];
  for (let elapsed = 0; elapsed < durationS; elapsed += sliceS) {
    const sliceHttp = newTally();
    const sliceWs = newTally();
    const [load] = await Promise.all([
      runOpenLoop({ port: server.port, path: '/v2/models/digits/infer', headers: { 'x-client-id': 'soak-valid' }, model: 'digits', rowsPerRequest: 1, rate, durationS: sliceS, connections: 64, drainMs: 10_000 }),
      runHostile(server.origin, Date.now() + sliceS * 1000, sliceHttp, sliceWs),
    ]);
    for (const [from, to] of [[sliceHttp, http], [sliceWs, ws]] as const) {
      for (const [s, n] of from.byStatus) to.byStatus.set(s, (to.byStatus.get(s) ?? 0) + n);
      to.answered += from.answered;
    }
    const ok = load.byStatus['200'];
    valid200 += ok?.count ?? 0;
    const other = load.sent - (ok?.count ?? 0);
    if (other > 0) failures.push(`slice ending ${elapsed + sliceS} s: ${other} valid requests not answered 200 (${JSON.stringify(Object.fromEntries(Object.entries(load.byStatus).map(([s, f]) => [s, f.count])))}, ${load.unanswered} unanswered)`);
    if (fiveXx(sliceHttp) + fiveXx(sliceWs) > 0) failures.push(`slice ending ${elapsed + sliceS} s: hostile input answered 5xx`);
    t.push(elapsed + sliceS);
    rss.push(server.rssMiB());
    heap.push((await metric(adminOrigin, 'sluice_process_nodejs_heap_size_used_bytes')) / MiB);
    const ms = (us: number | undefined): string => (us === undefined ? '–' : (us / 1000).toFixed(2));
    say(
      `| ${elapsed + sliceS} | ${load.sent} | ${ok?.count ?? 0} | ${other} / ${load.unanswered} | ${ms(ok?.p50Us)} | ${ms(ok?.p99Us)} | ` +
        `${sliceHttp.answered} (${fiveXx(sliceHttp)}) | ${sliceWs.answered} (${fiveXx(sliceWs)}) | ${rss.at(-1)!.toFixed(0)} | ${heap.at(-1)!.toFixed(1)} |`,
    );
  }
  say('');
  // RSS moves ±3% from slice to slice (GC, allocator): growth compares the median of the last
  // three slices with the median of the first three, so one noisy reading decides nothing.
  const start = median(rss.slice(0, 3));
  const end = median(rss.slice(-3));
  const growth = end / start - 1;
  const minutes = t.map((s) => s / 60);
  say(`RSS (median of 3 slices) at the start ${start.toFixed(0)} MiB, at the end ${end.toFixed(0)} MiB: ${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}% (goal <= ${RSS_GROWTH_MAX * 100}%); highest ${Math.max(...rss).toFixed(0)} MiB; slope ${slope(minutes, rss).toFixed(2)} MiB/min`);
  say(`main-thread heap used: slope ${slope(minutes, heap).toFixed(2)} MiB/min (${Math.min(...heap).toFixed(1)}–${Math.max(...heap).toFixed(1)} MiB)`);
  if (growth > RSS_GROWTH_MAX) failures.push(`RSS grew ${(growth * 100).toFixed(1)}%`);
  const dropped = await metric(adminOrigin, 'sluice_prediction_log_dropped_total');
  if (dropped > 0) failures.push(`${dropped} prediction log lines dropped`);
  await server.stop(30_000);
  const log = await readPredictionLog(logFile);
  const expected: Record<string, number> = { 'soak-valid': valid200, 'soak-hostile-http': http.answered, 'soak-hostile-ws': ws.answered };
  say(`prediction log after SIGTERM: ${log.lines} lines in ${log.files} files, ${log.shadow} shadow lines, seq gaps ${log.seqGaps}, repeats ${log.seqRepeats}, unparsable ${log.unparsable}, dropped ${dropped}`);
  for (const [client, want] of Object.entries(expected)) {
    const got = log.primaryByClient.get(client) ?? 0;
    say(`  ${client}: ${want} answered, ${got} primary lines`);
    if (got !== want) failures.push(`${client}: ${want} answers but ${got} log lines`);
  }
  say(`  saturation phase (no client id): ${log.primaryByClient.get('') ?? 0} primary lines`);
  say(`hostile answers by status: HTTP ${JSON.stringify(Object.fromEntries(http.byStatus))}, WS ${JSON.stringify(Object.fromEntries(ws.byStatus))}`);
  if (log.seqGaps + log.seqRepeats + log.unparsable > 0) failures.push('prediction log seq has gaps, repeats or unparsable lines');
} catch (err) {
  failures.push(`soak aborted: ${(err as Error).stack ?? String(err)}`);
} finally {
  await server.stop();
  removeRepository(repo);
  rmSync(logDir, { recursive: true, force: true });
}
say(failures.length === 0 ? 'soak passed' : `soak FAILED:\n- ${failures.join('\n- ')}`);
process.exit(failures.length === 0 ? 0 : 1);
