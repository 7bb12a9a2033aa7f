// `npm run bench:ci [-- --slow-on-purpose] [--generator wrk|autocannon]`: the benchmark gate.
// Short alternating runs of the core scenario (digits over HTTP JSON at 64 connections:
// sluice vs naive fastify and naive uWS; breast-cancer: sluice vs naive uWS), ratios checked
// against bench/floors.json. Exit 0 pass, 1 a ratio below its floor or failed requests, 2
// the gate itself could not run. --slow-on-purpose (or BENCH_SLOW_ON_PURPOSE=1, which
// the sluice process reads itself) turns batching off in sluice: the gate must then fail.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { evaluateGate, floorsFor } from './lib/gate.js';
import { measureHttpJson } from './lib/http-json.js';
import { pickGenerator } from './lib/load.js';
import { backgroundCpuPercent } from './lib/machine.js';
import { ROOT } from './lib/paths.js';
import type { ScenarioContext } from './lib/registry.js';
import { formatSpread } from './lib/stats.js';

const GATE_TIMEOUT_MS = 150_000;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { 'slow-on-purpose': { type: 'boolean', default: false }, generator: { type: 'string' } },
  });
  const started = Date.now();
  const generator = pickGenerator(values.generator);
  const floors = floorsFor(JSON.parse(readFileSync(path.join(ROOT, 'bench', 'floors.json'), 'utf8')), generator);
  const slow = values['slow-on-purpose'] || /^(1|true)$/i.test(process.env.BENCH_SLOW_ON_PURPOSE ?? '');
  const busy = await backgroundCpuPercent();
  console.log(`bench:ci: ${generator}; ${busy}% CPU busy with other work before the run`);
  if (slow) console.log('bench:ci: SLOW ON PURPOSE: sluice serves the models with maxBatchSize 1; this gate must fail');
  const ctx: ScenarioContext = { quick: true, generator, log: (l) => console.log(l) };
  const sluice = { disableBatching: slow };

  const ratios: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const runs = [
    { model: 'digits', kinds: ['sluice', 'naive-fastify', 'naive-uws'] as const },
    { model: 'breast-cancer', kinds: ['sluice', 'naive-uws'] as const },
  ];
  for (const run of runs) {
    const m = await measureHttpJson(ctx, run.model, { kinds: run.kinds, sluice });
    for (const [name, s] of Object.entries(m.ratios)) {
      ratios[`${run.model}: ${name}`] = s.median;
      console.log(`  ${run.model}: ${name} = ${formatSpread(s, 2)}`);
    }
    for (const s of m.summaries) errors[`${run.model}: ${s.label}`] = s.errors;
  }
  const verdict = evaluateGate(ratios, floors, errors);
  console.log(`\nbench:ci gate (${generator}, floors from bench/floors.json):`);
  for (const line of verdict.lines) console.log(`  ${line}`);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (!verdict.passed) {
    console.error(`\nbench:ci FAILED in ${seconds} s: ${verdict.failures.join('; ')}`);
    console.error('A ratio of sluice to a baseline measured in this same run fell below its floor: sluice got slower.');
    return 1;
  }
  console.log(`\nbench:ci passed in ${seconds} s`);
  return 0;
}

const timer = setTimeout(() => {
  console.error(`bench:ci: gave up after ${GATE_TIMEOUT_MS / 1000} s`);
  process.exit(2);
}, GATE_TIMEOUT_MS);
timer.unref();
main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`bench:ci could not run: ${(err as Error).stack ?? String(err)}`);
    process.exit(2);
  },
);
