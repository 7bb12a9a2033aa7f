// Results on disk: bench/results/<scenario>.json (every figure, with machine, versions and
// date), the scenario's SVG charts beside it, and a generated section of bench/README.md
// between markers, so a re-run rewrites exactly its own section.
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { MachineInfo, Versions } from './machine.js';
import type { Goal, ScenarioOutput, Table } from './registry.js';
import { BENCH_README, RESULTS_DIR } from './paths.js';

export interface ScenarioReport extends Omit<ScenarioOutput, 'charts'> {
  scenario: string;
  description: string;
  date: string;
  quick: boolean;
  machine: MachineInfo;
  versions: Versions;
  /** Chart file names under bench/results/. */
  charts: { file: string; alt: string }[];
}

function writeAtomic(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

export function writeReport(report: ScenarioReport, svgs: ReadonlyMap<string, string>): string {
  for (const [file, svg] of svgs) writeAtomic(path.join(RESULTS_DIR, file), svg);
  const file = path.join(RESULTS_DIR, `${report.scenario}.json`);
  writeAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

export function renderTable(t: Table): string {
  const esc = (c: string): string => c.replaceAll('|', '\\|');
  return [
    `**${t.title}**`,
    '',
    `| ${t.columns.map(esc).join(' | ')} |`,
    `| ${t.columns.map(() => '---').join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

export function renderGoals(goals: readonly Goal[]): string {
  return [
    '| goal | target | measured | met |',
    '| --- | --- | --- | --- |',
    ...goals.map((g) => `| ${g.name} | ${g.target} | ${g.measured} | ${g.met ? '✓' : '✗'} |`),
  ].join('\n');
}

export function renderReport(r: ScenarioReport): string {
  const m = r.machine;
  const v = r.versions;
  const parts = [
    `### ${r.scenario}${r.quick ? ' (quick run)' : ''}`,
    '',
    r.description,
    '',
    r.summary,
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, ${m.backgroundCpuPercent}% CPU busy with other work just before. ` +
      `Versions: Node ${v.node}, sluice ${v.sluice} (${v.sluiceCommit}), onnxruntime-node ${v.onnxruntimeNode}, ` +
      `uWebSockets.js ${v.uWebSocketsJs}, fastify ${v.fastify}, autocannon ${v.autocannon}, wrk ${v.wrk ?? 'not installed'}. ` +
      `Date: ${r.date}.`,
    '',
    ...r.tables.flatMap((t) => [renderTable(t), '']),
  ];
  if (r.goals.length > 0) parts.push(renderGoals(r.goals), '');
  for (const c of r.charts) parts.push(`![${c.alt}](results/${c.file})`, '');
  return parts.join('\n').trimEnd();
}

/** Replaces the text between `<!-- bench:KEY:begin -->` and `<!-- bench:KEY:end -->`, or appends it. */
export function replaceSection(doc: string, key: string, body: string): string {
  const begin = `<!-- bench:${key}:begin -->`;
  const end = `<!-- bench:${key}:end -->`;
  const block = `${begin}\n${body}\n${end}`;
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) return doc.slice(0, i) + block + doc.slice(j + end.length);
  return `${doc.trimEnd()}\n\n${block}\n`;
}

/** Every results file's goals, for the README's overview (one row per goal, newest figures). */
export function allGoals(): { scenario: string; date: string; quick: boolean; goal: Goal }[] {
  if (!existsSync(RESULTS_DIR)) return [];
  const out: { scenario: string; date: string; quick: boolean; goal: Goal }[] = [];
  for (const f of readdirSync(RESULTS_DIR).filter((n) => n.endsWith('.json')).sort()) {
    const r = JSON.parse(readFileSync(path.join(RESULTS_DIR, f), 'utf8')) as ScenarioReport;
    for (const goal of r.goals ?? []) out.push({ scenario: r.scenario, date: r.date, quick: r.quick, goal });
  }
  return out;
}

/** Rewrites the scenario's section and the goals overview in bench/README.md. */
export function updateReadme(report: ScenarioReport): void {
  let doc = existsSync(BENCH_README) ? readFileSync(BENCH_README, 'utf8') : '# Benchmarks\n';
  doc = replaceSection(doc, report.scenario, renderReport(report));
  const rows = allGoals().map(
    ({ scenario, date, quick, goal }) =>
      `| ${scenario} | ${goal.name} | ${goal.target} | ${goal.measured} | ${goal.met ? '✓' : '✗'} | ${date.slice(0, 10)}${quick ? ' (quick)' : ''} |`,
  );
  const overview = ['| scenario | goal | target | measured | met | run |', '| --- | --- | --- | --- | --- | --- |', ...rows].join('\n');
  doc = replaceSection(doc, 'goals', overview);
  writeAtomic(BENCH_README, doc);
}
