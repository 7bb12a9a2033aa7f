// Issue 3: sluice under 3x overload. First its saturation throughput S (closed loop, 16
// connections, digits-wide with 16-row requests: ~2 ms of compute each, so 3·S is a rate an
// open-loop Node generator on these 2 cores sends on time). Then an open-loop run at 3·S req/s,
// every request carrying `x-timeout-ms: 200`. Rounds alternate saturation and overload runs, so
// each overload run has a saturation run beside it for the CPU cost of a served request.
import { measureOnce, type Sample, type Target } from '../lib/compare.js';
import { benchModel, inferBodies, loadRows } from '../lib/data.js';
import { type OpenLoopRun, runOpenLoop } from '../lib/open-loop.js';
import { defineScenario, type Goal, type Table } from '../lib/registry.js';
import type { ServerHandle } from '../lib/procs.js';
import { privateRepository, removeRepository, startSluice } from '../lib/servers.js';
import { fx, planFor } from '../lib/side-by-side.js';
import { formatSpread, spread, type Spread } from '../lib/stats.js';

const MODEL = 'digits-wide';
const ROWS = 16;
const DEADLINE_MS = 200;
const OVERLOAD = 3;

interface OverloadSample {
  run: OpenLoopRun;
  serverCpuS: number;
  rssMaxMiB: number;
  rssEndMiB: number;
  /** Served (200) answers per second of schedule. */
  goodput: number;
  /** Rows the workers ran during the run ÷ rows per request: requests that cost compute. */
  executed: number;
}

async function rowsRun(server: ServerHandle): Promise<number> {
  const line = await server.query('SIGUSR2', '"benchStats"');
  return (JSON.parse(line) as { benchStats: Record<string, { rows: number }> }).benchStats[MODEL]?.rows ?? 0;
}

const count = (r: OpenLoopRun, ...statuses: string[]): number => statuses.reduce((n, s) => n + (r.byStatus[s]?.count ?? 0), 0);
const ms = (us: number): string => (Number.isFinite(us) ? (us / 1000).toFixed(1) : 'n/a');
const msSpread = (s: Spread): string => (s.n === 0 ? 'n/a' : `${ms(s.median)} (${ms(s.min)}–${ms(s.max)})`);

export default defineScenario({
  name: 'overload',
  order: 62,
  description: `digits-wide, ${ROWS}-row requests: saturation throughput S, then an open-loop run at ${OVERLOAD}·S with a ${DEADLINE_MS} ms deadline — latency per status, RSS, CPU per refusal, survival.`,
  async run(ctx) {
    const model = benchModel(MODEL);
    const bodies = inferBodies(model, loadRows(model), ROWS, 64);
    const plan = planFor(ctx, 16, ctx.quick ? { durationS: 1, warmupS: 1 } : { durationS: 3, warmupS: 2 });
    const overloadS = ctx.quick ? 2 : 6;
    const repo = privateRepository([MODEL]);
    const server = await startSluice(repo);
    try {
      const rssRest = server.rssMiB();
      const target: Target = { label: 'sluice', server, path: `/v2/models/${MODEL}/infer`, bodies, rowsPerRequest: ROWS, batchStatsModel: MODEL };
      const warm = await measureOnce(target, plan, plan.warmupS);
      const rssWarm = server.rssMiB();
      const rate = Math.round(OVERLOAD * warm.reqPerSec);
      // Enough sockets for every request the server may hold a full deadline, with room.
      const connections = Math.min(2048, Math.ceil(warm.reqPerSec * (DEADLINE_MS / 1000) * 2) + 64);
      ctx.log(`${MODEL}: warm-up S ≈ ${Math.round(warm.reqPerSec)} req/s → open loop at ${rate} req/s over ${connections} sockets`);
      const sat: Sample[] = [];
      const over: OverloadSample[] = [];
      for (let round = 0; round < plan.repeats; round++) {
        const s = await measureOnce(target, plan, plan.durationS);
        sat.push(s);
        const rows0 = await rowsRun(server);
        const cpu0 = server.cpuSeconds();
        let rssMax = server.rssMiB();
        const sampler = setInterval(() => (rssMax = Math.max(rssMax, server.rssMiB())), 100);
        const run = await runOpenLoop({
          port: server.port, path: target.path, headers: { 'x-timeout-ms': String(DEADLINE_MS) }, model: MODEL,
          rowsPerRequest: ROWS, rate, durationS: overloadS, connections, drainMs: 1000,
        }).finally(() => clearInterval(sampler));
        const serverCpuS = server.cpuSeconds() - cpu0;
        const o: OverloadSample = {
          run, serverCpuS, rssMaxMiB: rssMax, rssEndMiB: server.rssMiB(),
          goodput: count(run, '200') / run.durationS, executed: ((await rowsRun(server)) - rows0) / ROWS,
        };
        over.push(o);
        ctx.log(
          `  round ${round + 1}/${plan.repeats} saturation ${Math.round(s.reqPerSec)} req/s (cpu ${Math.round(s.cpuUsPerReq)} µs/req) | ` +
            `overload ${Math.round(run.sentPerSec)} req/s: ` +
            Object.entries(run.byStatus).map(([k, v]) => `${k}×${v.count} p99 ${ms(v.p99Us)} ms`).join(', ') +
            ` | rss max ${rssMax.toFixed(0)} MiB`,
        );
      }
      // Direct price of a refusal: on the now idle (calibrated) server, a 1 ms deadline is
      // always below the predicted wait (one batch of service), so every request gets 429.
      const probeCpu0 = server.cpuSeconds();
      const probe = await runOpenLoop({
        port: server.port, path: target.path, headers: { 'x-timeout-ms': '1' }, model: MODEL, rowsPerRequest: ROWS,
        rate: Math.min(rate, 2000), durationS: ctx.quick ? 1 : 2, connections: 32, drainMs: 1000,
      });
      const probeCpuUs = ((server.cpuSeconds() - probeCpu0) * 1e6) / Math.max(1, probe.sent);
      const probe429 = count(probe, '429');
      ctx.log(`  refusal probe: ${probe.sent} sent, ${probe429} answered 429, server CPU ${Math.round(probeCpuUs)} µs each`);
      // Survival: the process is there and serves a valid request.
      await new Promise((r) => setTimeout(r, 300));
      const after = await fetch(server.origin + target.path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[0]! })
        .then(async (r) => ({ status: r.status, ok: r.status === 200 && Array.isArray(((await r.json()) as { outputs?: unknown }).outputs) }))
        .catch((e: unknown) => ({ status: 0, ok: false, error: String(e) }));
      const rssAfter = server.rssMiB();

      // CPU per served request from the saturation run beside each overload run; whatever the
      // overload run used beyond its 200s at that price is charged to its other answers.
      const perRound = over.map((o, i) => {
        const served = sat[i]!.cpuUsPerReq;
        const others = o.run.sent - count(o.run, '200');
        const refusal = (o.serverCpuS * 1e6 - count(o.run, '200') * served) / Math.max(1, others);
        return { served, refusal, ratio: refusal / served, factor: o.run.sentPerSec / sat[i]!.reqPerSec };
      });
      const statuses = [...new Set(over.flatMap((o) => Object.keys(o.run.byStatus)))].sort();
      const pct = (st: string, p: 'p50Us' | 'p99Us' | 'maxUs'): Spread => spread(over.map((o) => o.run.byStatus[st]?.[p] ?? NaN));
      const statusRows = statuses.map((st) => [
        st, formatSpread(spread(over.map((o) => count(o.run, st)))),
        formatSpread(spread(over.map((o) => (100 * count(o.run, st)) / o.run.sent)), 1),
        msSpread(pct(st, 'p50Us')), msSpread(pct(st, 'p99Us')), msSpread(pct(st, 'maxUs')),
        String(over.reduce((n, o) => n + (o.run.byStatus[st]?.missingRetryAfter ?? 0), 0)),
      ]);
      const p99ok = pct('200', 'p99Us');
      const expired = spread(over.map((o) => (100 * count(o.run, '504')) / Math.max(1, count(o.run, '200', '504'))));
      const refusedP99 = spread(over.map((o) => Math.max(o.run.byStatus['429']?.p99Us ?? 0, o.run.byStatus['503']?.p99Us ?? 0)));
      const refusedN = over.reduce((n, o) => n + count(o.run, '429', '503'), 0);
      const rssMax = Math.max(...over.map((o) => o.rssMaxMiB));
      const servedUs = spread(perRound.map((r) => r.served)).median;
      const directRatio = probeCpuUs / servedUs;
      const probeOk = probe429 >= 0.99 * probe.sent; // a few 504s: the 1 ms passed before admission
      const goals: Goal[] = [
        {
          name: `3x overload: accepted requests' p99 within their ${DEADLINE_MS} ms deadline, ≤ 1% of accepted expire (504)`,
          target: `200 p99 ≤ ${DEADLINE_MS} ms, 504 ≤ 1%`,
          measured: `p99 ${msSpread(p99ok)} ms, 504 ${formatSpread(expired, 1)}% of accepted`,
          met: p99ok.median <= DEADLINE_MS * 1000 && expired.median <= 1,
        },
        {
          name: '3x overload: refusals (429/503) answered quickly',
          target: `p99 ≤ ${DEADLINE_MS / 10} ms (a tenth of the deadline)`,
          measured: refusedN === 0 ? 'no refusals' : `p99 ${msSpread(refusedP99)} ms`,
          met: refusedN > 0 && refusedP99.median <= (DEADLINE_MS / 10) * 1000,
        },
        { name: '3x overload: RSS bounded', target: '≤ 1.5x RSS at rest', measured: `max ${rssMax.toFixed(0)} MiB vs ${rssRest.toFixed(0)} MiB at rest (${fx(rssMax / rssRest)})`, met: rssMax <= 1.5 * rssRest },
        { name: '3x overload: nothing crashes', target: 'server alive, answers a valid request 200', measured: `HTTP ${after.status}`, met: after.ok },
        {
          name: 'refusals are cheap (429 probe: server CPU per refusal ÷ per served request)',
          target: '≤ 0.25x',
          measured: probeOk ? `${fx(directRatio)} (${Math.round(probeCpuUs)} µs vs ${Math.round(servedUs)} µs)` : `probe got only ${probe429}/${probe.sent} 429s`,
          met: probeOk && directRatio <= 0.25,
        },
      ];
      const tables: Table[] = [
        {
          title: `saturation: closed loop, ${plan.connections} connections, ${ROWS}-row requests (${plan.generator})`,
          columns: ['req/s (S)', 'rows/s', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'rows/batch', 'errors'],
          rows: [[
            formatSpread(spread(sat.map((s) => s.reqPerSec))), formatSpread(spread(sat.map((s) => s.reqPerSec * ROWS))),
            msSpread(spread(sat.map((s) => s.p50Us))), msSpread(spread(sat.map((s) => s.p99Us))),
            formatSpread(spread(sat.map((s) => s.cpuUsPerReq))), formatSpread(spread(sat.map((s) => s.meanBatchRows)), 1),
            String(sat.reduce((n, s) => n + s.errors, 0)),
          ]],
        },
        {
          title: `overload: open loop at ${rate} req/s (${OVERLOAD}x warm-up S), x-timeout-ms ${DEADLINE_MS}, per status (latency from scheduled send)`,
          columns: ['status', 'count per run', '% of sent', 'p50 ms', 'p99 ms', 'max ms', '429/503 without Retry-After'],
          rows: statusRows,
        },
        {
          title: 'overload run: load and resources (median (min–max) over rounds)',
          columns: ['figure', 'value'],
          rows: [
            ['offered rate ÷ S of the same round', formatSpread(spread(perRound.map((r) => r.factor)), 2)],
            ['sent req/s (generator)', formatSpread(spread(over.map((o) => o.run.sentPerSec)))],
            ['generator: p99 lateness vs schedule (ms), max requests waiting for a socket', `${msSpread(spread(over.map((o) => o.run.lateP99Us)))}, ${Math.max(...over.map((o) => o.run.maxBacklog))}`],
            ['generator CPU (cores)', formatSpread(spread(over.map((o) => o.run.clientCores)), 2)],
            ['served (200) req/s during overload ÷ S', formatSpread(spread(over.map((o, i) => o.goodput / sat[i]!.reqPerSec)), 2)],
            ['requests run by a worker ÷ answered 200 (> 1: compute spent on answers that expired)', formatSpread(spread(over.map((o) => o.executed / Math.max(1, count(o.run, '200')))), 2)],
            ['unanswered, socket errors (all rounds)', `${over.reduce((n, o) => n + o.run.unanswered, 0)}, ${over.reduce((n, o) => n + o.run.socketErrors, 0)}`],
            ['server CPU µs per served request (saturation run)', formatSpread(spread(perRound.map((r) => r.served)))],
            ['server CPU µs per non-200 answer during overload (derived), ÷ per served', `${formatSpread(spread(perRound.map((r) => r.refusal)))}, ${formatSpread(spread(perRound.map((r) => r.ratio)), 2)}`],
            [
              `server CPU µs per refused request (probe: ${probe.sent} requests at ${probe.rate}/s with x-timeout-ms 1 on the idle server; ` +
                Object.entries(probe.byStatus).map(([k, v]) => `${v.count}× ${k}`).join(', ') + ')',
              String(Math.round(probeCpuUs)),
            ],
            ['RSS MiB: at rest → after warm-up → max during overload → after', `${rssRest.toFixed(0)} → ${rssWarm.toFixed(0)} → ${rssMax.toFixed(0)} → ${rssAfter.toFixed(0)}`],
          ],
        },
      ];
      return {
        summary:
          `sluice (defaults: 1 worker) serving ${MODEL} (maxBatchSize 32) with ${ROWS} real rows per request. S is measured ` +
          `closed loop by ${plan.generator} at ${plan.connections} connections; the overload load is an open-loop Node generator ` +
          `in its own process (bench/lib/open-loop.ts: requests on a fixed schedule over ${connections} keep-alive sockets, ` +
          `latency from the scheduled time). Warm-up ${plan.warmupS} s, then ${plan.repeats} rounds of a ${plan.durationS} s ` +
          `saturation run and a ${overloadS} s overload run. CPU per non-200 answer = (overload-run server CPU − 200s × ` +
          `CPU per request of the saturation run beside it) ÷ non-200 answers; the goal uses a direct probe instead: ` +
          `requests with a 1 ms deadline, which admission always refuses, on the idle server.`,
        tables,
        goals,
        charts: [],
        data: { rate, connections, deadlineMs: DEADLINE_MS, warm, saturation: sat, overload: over, perRound, probe: { run: probe, cpuUsPerRequest: probeCpuUs }, rss: { rssRest, rssWarm, rssMax, rssAfter }, after },
      };
    } finally {
      await server.stop();
      removeRepository(repo);
    }
  },
});
