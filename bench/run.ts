// `npm run bench` lists the scenarios; `npm run bench -- <scenario|all> [--quick]
// [--generator wrk|autocannon] [--no-write]` runs them. Each finished scenario writes
// bench/results/<name>.json (+ its SVG charts) and rewrites its section of bench/README.md,
// unless --no-write. Exit 1 if any scenario failed.
import { parseArgs } from 'node:util';
import { pickGenerator } from './lib/load.js';
import { machineInfo, versions } from './lib/machine.js';
import { loadScenarios, type Scenario } from './lib/registry.js';
import { type ScenarioReport, updateReadme, writeReport } from './lib/results.js';

const USAGE = 'usage: npm run bench -- <scenario|all> [--quick] [--generator wrk|autocannon] [--no-write]';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      generator: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  const scenarios = await loadScenarios();
  if (positionals.length === 0) {
    console.log(`${USAGE}\n\nscenarios:`);
    for (const s of scenarios) console.log(`  ${s.name.padEnd(26)} ${s.description}`);
    return 0;
  }
  const chosen: Scenario[] = [];
  for (const name of positionals) {
    if (name === 'all') chosen.push(...scenarios);
    else {
      const s = scenarios.find((x) => x.name === name);
      if (!s) {
        console.error(`unknown scenario "${name}"; run \`npm run bench\` for the list`);
        return 2;
      }
      chosen.push(s);
    }
  }
  const generator = pickGenerator(values.generator);
  const vers = versions();
  const first = await machineInfo();
  console.log(`machine: ${first.cpuModel}, ${first.cores} cores, ${first.memoryGiB} GiB; generator ${generator}`);
  let failed = 0;
  for (const s of chosen) {
    const started = Date.now();
    console.log(`\n== ${s.name}${values.quick ? ' (quick)' : ''}`);
    const machine = await machineInfo();
    if (machine.backgroundCpuPercent > 10) {
      console.warn(`  warning: ${machine.backgroundCpuPercent}% CPU busy before the run: another process is disturbing it`);
    }
    try {
      const out = await s.run({ quick: values.quick, generator, log: (l) => console.log(l) });
      const report: ScenarioReport = {
        scenario: s.name,
        description: s.description,
        date: new Date().toISOString(),
        quick: values.quick,
        machine,
        versions: vers,
        summary: out.summary,
        tables: out.tables,
        goals: out.goals,
        charts: out.charts.map((c) => ({ file: c.file, alt: c.alt })),
        data: out.data,
      };
      for (const g of out.goals) console.log(`  goal ${g.met ? '✓' : '✗'} ${g.name}: ${g.measured} (target ${g.target})`);
      if (!values['no-write']) {
        const file = writeReport(report, new Map(out.charts.map((c) => [c.file, c.svg])));
        updateReadme(report);
        console.log(`  wrote ${file} and bench/README.md`);
      }
      console.log(`  ${s.name} took ${((Date.now() - started) / 1000).toFixed(0)} s`);
    } catch (err) {
      failed++;
      console.error(`  ${s.name} FAILED: ${(err as Error).stack ?? String(err)}`);
    }
  }
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
