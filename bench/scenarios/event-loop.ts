// Issue 12: the main thread's cost per small request, by stage. sluice serves digits at 64
// connections under V8's sampling profiler (node --cpu-prof), once with the native core and
// once with --disable-native; the samples of the timed run are grouped into stages by source
// file (lib/cpu-profile.ts) and divided by the requests served. A uWS hello server's CPU per
// request, measured in the same run, is the floor for HTTP alone.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { measureOnce } from '../lib/compare.js';
import { monotonicUs, stageTimes, type StageTime } from '../lib/cpu-profile.js';
import { benchModel, inferBodies, loadRows } from '../lib/data.js';
import { runLoad } from '../lib/load.js';
import { defineScenario, type Table } from '../lib/registry.js';
import { privateRepository, removeRepository, startBaseline, startSluice } from '../lib/servers.js';
import { planFor } from '../lib/side-by-side.js';

const CONNECTIONS = 64;

interface Profiled {
  label: string;
  reqPerSec: number;
  requests: number;
  stages: StageTime[];
}

export default defineScenario({
  name: 'event-loop',
  order: 65,
  description: 'digits at 64 connections under the CPU profiler: sluice main-thread µs per request by stage, addon vs --disable-native, beside uWS hello.',
  async run(ctx) {
    const model = benchModel('digits');
    const bodies = inferBodies(model, loadRows(model), 1);
    const plan = planFor(ctx, CONNECTIONS);
    const repo = privateRepository(['digits']);
    const profiled: Profiled[] = [];
    try {
      for (const [label, args] of [['addon', []], ['fallback', ['--disable-native']]] as const) {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-prof-'));
        try {
          const server = await startSluice(repo, { args, nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir] });
          const url = `${server.origin}/v2/models/digits/infer`;
          let run;
          let from = 0;
          let to = 0;
          try {
            await runLoad(plan.generator, { url, bodies, connections: CONNECTIONS, durationS: plan.warmupS });
            from = monotonicUs();
            run = await runLoad(plan.generator, { url, bodies, connections: CONNECTIONS, durationS: plan.durationS });
            to = monotonicUs();
          } finally {
            await server.stop(15_000);
          }
          // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread.
          const main = readdirSync(dir).find((f) => f.split('.')[4] === '0');
          if (!main) throw new Error(`no main-thread profile in ${dir}`);
          profiled.push({ label, reqPerSec: run.reqPerSec, requests: run.requests, stages: stageTimes(path.join(dir, main), from, to) });
          ctx.log(`  ${label}: ${Math.round(run.reqPerSec)} req/s under the profiler`);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    } finally {
      removeRepository(repo);
    }
    const hello = await startBaseline('uws-hello', model);
    let helloCpuUs: number;
    try {
      await measureOnce({ label: 'uws-hello', server: hello, path: '/v2/models/digits/infer', bodies, rowsPerRequest: 1 }, plan, plan.warmupS);
      helloCpuUs = (await measureOnce({ label: 'uws-hello', server: hello, path: '/v2/models/digits/infer', bodies, rowsPerRequest: 1 }, plan, plan.durationS)).cpuUsPerReq;
    } finally {
      await hello.stop();
    }

    const stages = [...new Set(profiled.flatMap((p) => p.stages.map((s) => s.stage)))];
    const perReq = (p: Profiled, stage: string): number => (p.stages.find((s) => s.stage === stage)?.us ?? 0) / Math.max(1, p.requests);
    const busy = (p: Profiled): number => p.stages.filter((s) => s.stage !== 'idle').reduce((a, s) => a + s.us, 0) / Math.max(1, p.requests);
    const order = stages.filter((s) => s !== 'idle').sort((a, b) => perReq(profiled[0]!, b) - perReq(profiled[0]!, a));
    const table: Table = {
      title: `sluice main thread, µs per request by stage (digits, ${CONNECTIONS} connections, ${plan.generator}, under --cpu-prof)`,
      columns: ['stage', ...profiled.map((p) => `${p.label} µs/req`)],
      rows: [
        ...order.map((stage) => [stage, ...profiled.map((p) => perReq(p, stage).toFixed(2))]),
        ['busy (all but idle)', ...profiled.map((p) => busy(p).toFixed(2))],
        ['idle', ...profiled.map((p) => perReq(p, 'idle').toFixed(2))],
        ['req/s during the profiled run', ...profiled.map((p) => String(Math.round(p.reqPerSec)))],
      ],
    };
    return {
      summary:
        `sluice (defaults: 1 worker on 2 cores) under node --cpu-prof (sampling, ~1 ms; it costs some throughput itself), ` +
        `warm-up ${plan.warmupS} s, then one ${plan.durationS} s run per implementation; each main-thread sample of the run ` +
        `is charged to the stage of the frame that was running (its source file: bench/lib/cpu-profile.ts), divided by the ` +
        `requests served. A uWS hello server, measured right after, used ${helloCpuUs.toFixed(1)} µs of CPU per request ` +
        `(all threads): the cost of HTTP alone.`,
      tables: [table],
      goals: [],
      charts: [],
      data: { profiled, helloCpuUsPerReq: helloCpuUs },
    };
  },
});
