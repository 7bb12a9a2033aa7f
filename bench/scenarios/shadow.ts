// Issue "Benchmark scenario shadow, side by side in one run": what mirroring every request to a
// shadow version costs the primary. One sluice (defaults: 1 worker) serves digits-wide as two
// versions of the same model.onnx (equal cost); routing.json says primary 1, shadow 2 at a share
// this scenario rewrites between runs (rescan every POLL_MS; each switch is confirmed by a probe
// request and sluice_shadow_copies_total before the run starts). (1) the primary's saturation S,
// closed loop, share 0%; (2) open loop at 0.5·S, rounds alternating share 0% and 100%: primary
// p99 and throughput; (3) open loop at 2·S with a deadline, alternating again: the shadow sheds its
// copies while the primary's refusals and errors stay where they were.
import { measureOnce, type Sample, type Target } from '../lib/compare.js';
import { disturbance, selfAndChildrenSeconds } from '../lib/cpu.js';
import { benchModel, inferBodies, loadRows } from '../lib/data.js';
import { type OpenLoopRun, runOpenLoop } from '../lib/open-loop.js';
import type { ServerHandle } from '../lib/procs.js';
import { defineScenario, type Goal, type Table } from '../lib/registry.js';
import { removeRepository, type RoutingFile, startSluice, versionedRepository, writeRouting } from '../lib/servers.js';
import { fx, planFor } from '../lib/side-by-side.js';
import { formatSpread, spread } from '../lib/stats.js';

const MODEL = 'digits-wide';
const PATH = `/v2/models/${MODEL}/infer`; // unversioned: routing.json decides
const ROWS = 16;
const POLL_MS = 200;
const DEADLINE_MS = 200;
const SHARES = [0, 100] as const;
const DROPS = ['dropped_queue_full', 'dropped_deadline', 'dropped_shutting_down', 'dropped_error'] as const;
// Goal thresholds. "Does not rise" needs a tolerance on a noisy 2-core VM: refusals may grow by
// at most 5 % (as a share of requests sent: the generator may fall behind its schedule), errors
// (504 and 5xx other than 503) by at most 0.1 % of the requests sent.
const P99_RATIO_MAX = 1.1;
const REFUSAL_RATIO_MAX = 1.05;
const ERROR_POINTS_MAX = 0.1;

/** sluice_shadow_copies_total of MODEL by outcome (summed over the version pair). */
type Copies = Record<string, number>;

interface ShareRun {
  share: number;
  run: OpenLoopRun;
  /** Counter deltas from the run's start until its copies settled. */
  copies: Copies;
  /** Server CPU (all threads) over the run and the shadow's drain after it, per request sent. */
  cpuUsPerReq: number;
  otherCpuPercent: number;
  stealPercent: number;
  /** ms from rewriting routing.json to the first probe that showed the new share. */
  switchMs: number;
  /** Mean µs per answered primary request by stage over the run (sluice_stage_seconds deltas). */
  stageUs: Record<string, number>;
}

type StageSums = Record<string, { sum: number; count: number }>;
/** Stages as the gateway names them; `rest` is what total has beyond them (the event loop: reading, waiting to be written). */
const STAGES = ['decode', 'validate', 'queue', 'compute', 'encode', 'total'] as const;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const count = (r: OpenLoopRun, ...statuses: string[]): number => statuses.reduce((n, s) => n + (r.byStatus[s]?.count ?? 0), 0);
const refused = (r: OpenLoopRun): number => count(r, '429', '503');
const errored = (r: OpenLoopRun): number => Object.entries(r.byStatus).filter(([s]) => s.startsWith('5') && s !== '503').reduce((n, [, v]) => n + v.count, 0);
const c = (x: Copies, k: string): number => x[k] ?? 0;
const dropsOf = (x: Copies): number => DROPS.reduce((n, d) => n + c(x, d), 0);
const settledOf = (x: Copies): number => c(x, 'compared') + c(x, 'errored') + dropsOf(x);
const ms = (us: number): string => (Number.isFinite(us) ? (us / 1000).toFixed(1) : 'n/a');
const sp = (xs: readonly number[], digits = 0): string => formatSpread(spread(xs), digits);
const msSp = (xs: readonly number[]): string => sp(xs.map((x) => x / 1000), 1);
const p99of = (r: ShareRun): number => r.run.byStatus['200']?.p99Us ?? NaN;
const pct = (n: number, r: OpenLoopRun): number => (100 * n) / Math.max(1, r.sent);
const disturbed = (rs: readonly ShareRun[]): string => `${Math.round(Math.max(...rs.map((r) => r.otherCpuPercent)))} / ${Math.round(Math.max(...rs.map((r) => r.stealPercent)))}`;

async function statsOf(server: ServerHandle): Promise<{ copies: Copies; stages: StageSums }> {
  const line = await server.query('SIGUSR2', '"benchStats"');
  const { shadowCopies, stages } = JSON.parse(line) as { shadowCopies?: Record<string, Copies>; stages?: Record<string, StageSums> };
  if (shadowCopies === undefined || stages === undefined) throw new Error('the bench entry prints no shadowCopies or stages: rebuild (npm run build)');
  return { copies: shadowCopies[MODEL] ?? {}, stages: stages[MODEL] ?? {} };
}

const copiesOf = async (server: ServerHandle): Promise<Copies> => (await statsOf(server)).copies;

/** Mean µs per request of each stage between two reads, and `rest`: total beyond the named stages. */
function stageMeans(a: StageSums, b: StageSums): Record<string, number> {
  const mean = (k: string): number => (1e6 * ((b[k]?.sum ?? 0) - (a[k]?.sum ?? 0))) / Math.max(1, (b[k]?.count ?? 0) - (a[k]?.count ?? 0));
  const out: Record<string, number> = Object.fromEntries(STAGES.map((k) => [k, mean(k)]));
  out.rest = out.total! - STAGES.filter((k) => k !== 'total').reduce((n, k) => n + out[k]!, 0);
  return out;
}

/** Returns once no copy settled over three reads 150 ms apart: the shadow lane is empty again. */
async function settle(server: ServerHandle): Promise<Copies> {
  let last = await copiesOf(server);
  for (let quiet = 0, until = Date.now() + 30_000; quiet < 3 && Date.now() < until; ) {
    await sleep(150);
    const now = await copiesOf(server);
    quiet = settledOf(now) === settledOf(last) ? quiet + 1 : 0;
    last = now;
  }
  return last;
}

export default defineScenario({
  name: 'shadow',
  order: 64,
  description: `digits-wide, ${ROWS}-row requests, primary version 1 with version 2 (same model.onnx) as shadow: primary p99 at 0.5·S and refusals/errors at 2·S, shadow share 0% vs 100% alternating in one server run.`,
  async run(ctx) {
    const model = benchModel(MODEL);
    const bodies = inferBodies(model, loadRows(model), ROWS, 64);
    const plan = planFor(ctx, 16, ctx.quick ? { durationS: 1, warmupS: 1 } : { durationS: 3, warmupS: 2 });
    const [halfRounds, halfS, overRounds, overS] = ctx.quick ? [2, 2, 1, 2] : [6, 6, 3, 5];
    const routing = (percent: number): RoutingFile => ({ primary: '1', shadows: [{ version: '2', percent }] });
    const repo = versionedRepository(MODEL, 2, routing(0));
    const server = await startSluice(repo, { pollIntervalMs: POLL_MS });
    try {
      for (const until = Date.now() + 60_000; (await fetch(`${server.origin}/v2/models/${MODEL}/versions/2/ready`).then((r) => r.status, () => 0)) !== 200; await sleep(200)) {
        if (Date.now() > until) throw new Error(`${MODEL} version 2 not ready within 60 s`);
      }
      /** Rewrites routing.json; resolves once a probe is mirrored (share > 0) or not (0). */
      const setShare = async (percent: number): Promise<number> => {
        writeRouting(repo, MODEL, routing(percent));
        const t0 = performance.now();
        while (performance.now() - t0 < 10_000) {
          await sleep(POLL_MS / 4);
          const before = c(await copiesOf(server), 'mirrored');
          const r = await fetch(server.origin + PATH, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[0]! });
          if (r.status !== 200) throw new Error(`probe answered ${r.status}: ${await r.text()}`);
          if ((c(await copiesOf(server), 'mirrored') > before) === percent > 0) return performance.now() - t0;
        }
        throw new Error(`shadow share ${percent}% not picked up within 10 s (poll ${POLL_MS} ms)`);
      };
      const measure = async (share: number, rate: number, durationS: number, connections: number, headers: Record<string, string>): Promise<ShareRun> => {
        const switchMs = await setShare(share);
        const c0 = await settle(server); // the probes' copies settle before the run
        const s0 = (await statsOf(server)).stages;
        const cpu0 = server.cpuSeconds();
        const { result, otherCpuPercent, stealPercent } = await disturbance(
          () => server.cpuSeconds() + selfAndChildrenSeconds(),
          async () => {
            const run = await runOpenLoop({ port: server.port, path: PATH, headers, model: MODEL, rowsPerRequest: ROWS, rate, durationS, connections, drainMs: 1000 });
            const stages = (await statsOf(server)).stages;
            return { run, stages, after: await settle(server) };
          },
        );
        const copies = Object.fromEntries(Object.keys(result.after).map((k) => [k, c(result.after, k) - c(c0, k)]));
        const cpuUsPerReq = ((server.cpuSeconds() - cpu0) * 1e6) / Math.max(1, result.run.sent);
        return { share, run: result.run, copies, cpuUsPerReq, otherCpuPercent, stealPercent, switchMs, stageUs: stageMeans(s0, result.stages) };
      };
      const alternate = async (label: string, rounds: number, rate: number, durationS: number, connections: number, headers: Record<string, string>): Promise<ShareRun[][]> => {
        const pairs: ShareRun[][] = [];
        for (let round = 1; round <= rounds; round++) {
          pairs.push([]);
          for (const share of SHARES) {
            const r = await measure(share, rate, durationS, connections, headers);
            pairs[round - 1]!.push(r);
            ctx.log(
              `  ${label} round ${round}/${rounds} share ${share}%: sent ${Math.round(r.run.sentPerSec)}/s, ` +
                Object.entries(r.run.byStatus).map(([k, v]) => `${k}×${v.count} p99 ${ms(v.p99Us)} ms`).join(', ') +
                ` | copies ${JSON.stringify(r.copies)} | cpu ${Math.round(r.cpuUsPerReq)} µs/req | other CPU ${Math.round(r.otherCpuPercent)}% steal ${Math.round(r.stealPercent)}%`,
            );
          }
        }
        return pairs;
      };

      // (1) Saturation of the primary, share 0% (as overload.ts: wrk, 16 connections).
      const target: Target = { label: 'sluice', server, path: PATH, bodies, rowsPerRequest: ROWS, batchStatsModel: MODEL };
      await measureOnce(target, plan, plan.warmupS);
      const sat: Sample[] = [];
      for (let i = 0; i < plan.repeats; i++) sat.push(await measureOnce(target, plan, plan.durationS));
      const S = spread(sat.map((s) => s.reqPerSec)).median;
      const halfRate = Math.round(S / 2);
      const overRate = Math.round(2 * S);
      const overConns = Math.min(2048, Math.ceil(S * (DEADLINE_MS / 1000) * 2) + 64);
      ctx.log(`  S = ${Math.round(S)} req/s (${sat.map((s) => Math.round(s.reqPerSec)).join(', ')}) → half load ${halfRate} req/s, overload ${overRate} req/s`);

      // (2) Half load, alternating 0% / 100%, after one unrecorded 100% run that warms the shadow.
      await measure(100, halfRate, plan.warmupS, 64, {});
      const half = await alternate('half', halfRounds, halfRate, halfS, 64, {});
      // (3) 2x overload with a deadline, alternating 0% / 100%.
      const over = await alternate('2x', overRounds, overRate, overS, overConns, { 'x-timeout-ms': String(DEADLINE_MS) });
      await setShare(0);

      const of = (pairs: ShareRun[][], share: number): ShareRun[] => pairs.map((p) => p.find((r) => r.share === share)!);
      const ratios = (pairs: ShareRun[][], f: (r: ShareRun) => number): number[] => pairs.map(([a, b]) => f(b!) / f(a!));
      const p99Ratio = spread(ratios(half, p99of));
      const refusalRatio = spread(ratios(over, (r) => pct(refused(r.run), r.run)));
      const errorPoints = spread(over.map(([a, b]) => pct(errored(b!.run), b!.run) - pct(errored(a!.run), a!.run)));
      const over100 = of(over, 100);
      const dropCounts = DROPS.map((d) => `${d.slice(8)} ${sp(over100.map((r) => c(r.copies, d)))}`).join(', ');
      const mirroredAt0 = [...of(half, 0), ...of(over, 0)].reduce((n, r) => n + c(r.copies, 'mirrored'), 0);

      const tables: Table[] = [
        {
          title: `(1) saturation of the primary, shadow share 0%: closed loop, ${plan.connections} connections (${plan.generator})`,
          columns: ['req/s (S)', 'rows/s', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'rows/batch', 'errors', 'other CPU / steal % (max)'],
          rows: [[
            sp(sat.map((s) => s.reqPerSec)), sp(sat.map((s) => s.reqPerSec * ROWS)), msSp(sat.map((s) => s.p50Us)), msSp(sat.map((s) => s.p99Us)),
            sp(sat.map((s) => s.cpuUsPerReq)), sp(sat.map((s) => s.meanBatchRows), 1), String(sat.reduce((n, s) => n + s.errors, 0)),
            `${Math.round(Math.max(...sat.map((s) => s.otherCpuPercent)))} / ${Math.round(Math.max(...sat.map((s) => s.stealPercent)))}`,
          ]],
        },
        {
          title: `(2) half load: open loop at ${halfRate} req/s (0.5·S), ${halfRounds} rounds of ${halfS} s per share, alternating (latency from scheduled send)`,
          columns: ['shadow share', 'sent req/s', 'answered 200 req/s', 'p50 ms', 'p99 ms', 'non-200', 'copies per run: mirrored / compared / dropped', 'server CPU µs per request', 'generator p99 lateness ms', 'other CPU / steal % (max)'],
          rows: SHARES.map((share) => {
            const rs = of(half, share);
            return [
              `${share}%`, sp(rs.map((r) => r.run.sentPerSec)), sp(rs.map((r) => count(r.run, '200') / r.run.durationS)),
              msSp(rs.map((r) => r.run.byStatus['200']?.p50Us ?? NaN)), msSp(rs.map(p99of)), String(rs.reduce((n, r) => n + r.run.sent - count(r.run, '200'), 0)),
              `${sp(rs.map((r) => c(r.copies, 'mirrored')))} / ${sp(rs.map((r) => c(r.copies, 'compared')))} / ${sp(rs.map((r) => dropsOf(r.copies)))}`,
              sp(rs.map((r) => r.cpuUsPerReq)), msSp(rs.map((r) => r.run.lateP99Us)), disturbed(rs),
            ];
          }),
        },
        {
          title: '(2) half load, per round: primary p99 (the goal is the median of the per-round ratios)',
          columns: ['round', 'p99 ms at 0%', 'p99 ms at 100%', 'p99 100% ÷ 0%', '200 req/s 100% ÷ 0%', 'other CPU % (0% / 100%)', 'share switch seen after ms (0% / 100%)'],
          rows: half.map(([a, b], i) => [
            String(i + 1), ms(p99of(a!)), ms(p99of(b!)), fx(p99of(b!) / p99of(a!)), fx(count(b!.run, '200') / b!.run.durationS / (count(a!.run, '200') / a!.run.durationS)),
            `${Math.round(a!.otherCpuPercent)} / ${Math.round(b!.otherCpuPercent)}`, `${Math.round(a!.switchMs)} / ${Math.round(b!.switchMs)}`,
          ]),
        },
        {
          title: '(2) half load, where the primary\'s time goes: mean µs per answered request by stage (sluice_stage_seconds), median over rounds',
          columns: ['stage', 'at 0%', 'at 100%', '100% − 0%'],
          rows: ['queue', 'compute', 'decode', 'validate', 'encode', 'rest', 'total'].map((k) => {
            const [a, b] = [0, 100].map((share) => spread(of(half, share).map((r) => r.stageUs[k]!)).median);
            const label = k === 'rest' ? 'rest (the event loop: read, dispatch, write)' : k === 'compute' ? 'compute (worker run + its reply reaching the loop)' : k;
            return [label, a!.toFixed(0), b!.toFixed(0), `${b! - a! >= 0 ? '+' : ''}${(b! - a!).toFixed(0)}`];
          }),
        },
        {
          title: `(3) 2x overload: open loop at ${overRate} req/s (2·S), x-timeout-ms ${DEADLINE_MS}, ${overRounds} rounds of ${overS} s per share; counts per run`,
          columns: ['shadow share', 'sent req/s', '200', '429', '503', '504', 'other 5xx', '200 p99 ms', 'refused (429/503) % of sent', 'errors (5xx but 503) % of sent', 'copies mirrored', 'compared', 'dropped: queue_full / deadline / shutting_down / error', 'not compared (primary failed)', 'other CPU / steal % (max)'],
          rows: SHARES.map((share) => {
            const rs = of(over, share);
            return [
              `${share}%`, sp(rs.map((r) => r.run.sentPerSec)), sp(rs.map((r) => count(r.run, '200'))), sp(rs.map((r) => count(r.run, '429'))),
              sp(rs.map((r) => count(r.run, '503'))), sp(rs.map((r) => count(r.run, '504'))), sp(rs.map((r) => errored(r.run) - count(r.run, '504'))),
              msSp(rs.map(p99of)), sp(rs.map((r) => pct(refused(r.run), r.run)), 1), sp(rs.map((r) => pct(errored(r.run), r.run)), 2),
              sp(rs.map((r) => c(r.copies, 'mirrored'))), sp(rs.map((r) => c(r.copies, 'compared'))),
              DROPS.map((d) => sp(rs.map((r) => c(r.copies, d)))).join(' / '),
              sp(rs.map((r) => c(r.copies, 'mirrored') - settledOf(r.copies))), disturbed(rs),
            ];
          }),
        },
        {
          title: '(3) 2x overload: 100% against 0%, per round pair (median (min–max))',
          columns: ['figure', 'value'],
          rows: [
            ['refused (429/503) % of sent at 100% ÷ at 0%', formatSpread(refusalRatio, 3)],
            ['errors (504, other 5xx) % of sent: 100% − 0%, points', formatSpread(errorPoints, 2)],
            ['answered 200 at 100% ÷ at 0%', sp(ratios(over, (r) => count(r.run, '200')), 3)],
            ['200 p99 at 100% ÷ at 0%', sp(ratios(over, p99of), 2)],
            ['server CPU µs per request at 100% ÷ at 0%', sp(ratios(over, (r) => r.cpuUsPerReq), 2)],
          ],
        },
      ];
      const signed = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(2)}`;
      const goals: Goal[] = [
        { name: 'half load (0.5·S): primary p99 with every request mirrored ÷ p99 without (median of per-round ratios)', target: `≤ ${P99_RATIO_MAX.toFixed(2)}x`,
          measured: `${fx(p99Ratio.median)} (${fx(p99Ratio.min)}–${fx(p99Ratio.max)}, ${p99Ratio.n} rounds)`, met: p99Ratio.median <= P99_RATIO_MAX },
        { name: '2x overload: primary refusals (429/503, % of sent) at shadow 100% ÷ at 0%', target: `≤ ${REFUSAL_RATIO_MAX}x (does not rise)`,
          measured: `${refusalRatio.median.toFixed(3)}x (${refusalRatio.min.toFixed(3)}–${refusalRatio.max.toFixed(3)})`, met: refusalRatio.median <= REFUSAL_RATIO_MAX },
        { name: '2x overload: primary errors (504, other 5xx) % of sent, 100% − 0%', target: `≤ +${ERROR_POINTS_MAX} points (does not rise)`,
          measured: `${signed(errorPoints.median)} points (${signed(errorPoints.min)} to ${signed(errorPoints.max)})`, met: errorPoints.median <= ERROR_POINTS_MAX },
        { name: '2x overload: the shadow sheds its copies (dropped at 100%; nothing mirrored at 0%)', target: 'dropped > 0 per run at 100%, 0 mirrored at 0%',
          measured: `mirrored ${sp(over100.map((r) => c(r.copies, 'mirrored')))}, dropped ${sp(over100.map((r) => dropsOf(r.copies)))} per run (${dropCounts}); mirrored at 0%: ${mirroredAt0}`,
          met: over100.every((r) => dropsOf(r.copies) > 0) && mirroredAt0 === 0 },
      ];
      return {
        summary:
          `One sluice (defaults: 1 worker, --poll-interval-ms ${POLL_MS}) serving ${MODEL} (maxBatchSize 32) as versions 1 and 2 (the same ` +
          `model.onnx copied: equal cost), ${ROWS} real rows per request, requests unversioned so that routing.json routes them: primary 1, ` +
          `shadow 2 at share 0% or 100%. The share is changed by rewriting routing.json (rename) and confirmed before every run by probe ` +
          `requests until sluice_shadow_copies_total{outcome="mirrored"} moves (100%) or stays (0%); after every run the runner waits until ` +
          `no shadow copy settles for 450 ms, so a run's backlog is counted with it. (1) S: closed loop by ${plan.generator} at ` +
          `${plan.connections} connections, share 0%, warm-up ${plan.warmupS} s + ${plan.repeats} × ${plan.durationS} s. (2) open loop ` +
          `(bench/lib/open-loop.ts, own process, 64 keep-alive sockets, latency from the scheduled time) at 0.5·S, no deadline header ` +
          `(model default 10 s), one unrecorded 100% warm-up run, then ${halfRounds} rounds of 0% → 100%. (3) open loop at 2·S over ` +
          `${overConns} sockets with x-timeout-ms ${DEADLINE_MS}, ${overRounds} rounds of 0% → 100%. Ratios are per round pair. ` +
          `"Not compared" copies: the shadow answered but the primary was refused or expired, so nothing was compared and no outcome counted.`,
        tables,
        goals,
        charts: [],
        data: { S, halfRate, overRate, overConns, pollMs: POLL_MS, deadlineMs: DEADLINE_MS, saturation: sat, half, overload: over, p99Ratio, refusalRatio, errorPoints },
      };
    } finally {
      await server.stop();
      removeRepository(repo);
    }
  },
});
