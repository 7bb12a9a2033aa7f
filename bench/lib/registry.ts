// The scenario registry. A scenario is one file in bench/scenarios/ whose default export is
// defineScenario({...}); the runner imports every file there, so adding a scenario is a
// one-file change (no list to edit). Names must be unique; `order` sorts `all` and the list.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { GeneratorName } from './load.js';
import { DIST_BENCH } from './paths.js';

export interface ScenarioContext {
  /** Short runs (CI, smoke): fewer seconds per run, same alternation and repeats. */
  quick: boolean;
  generator: GeneratorName;
  log(line: string): void;
}

export interface Goal {
  name: string;
  /** The goal as written in the issue, e.g. "≥ 2.0x naive-fastify req/s". */
  target: string;
  measured: string;
  met: boolean;
}

export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
}

export interface Chart {
  /** File name under bench/results/. */
  file: string;
  alt: string;
  svg: string;
}

/** What a scenario hands back; the runner adds machine, versions and date and writes it. */
export interface ScenarioOutput {
  /** One paragraph: what was run, against what, with which generator and plan. */
  summary: string;
  tables: Table[];
  goals: Goal[];
  charts: Chart[];
  /** Every measured figure, for bench/results/<name>.json. */
  data: unknown;
}

export interface Scenario {
  name: string;
  description: string;
  /** Position in `all` and in the list (ascending). */
  order: number;
  run(ctx: ScenarioContext): Promise<ScenarioOutput>;
}

/** Identity: gives a scenario file its type checking. */
export function defineScenario(s: Scenario): Scenario {
  return s;
}

/** Every scenario in `dir` (compiled .js files), sorted by order then name. */
export async function loadScenarios(dir = path.join(DIST_BENCH, 'scenarios')): Promise<Scenario[]> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.js')).sort();
  const scenarios: Scenario[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(path.join(dir, f)).href)) as { default?: Scenario };
    const s = mod.default;
    if (!s || typeof s.run !== 'function' || typeof s.name !== 'string') {
      throw new Error(`${f}: the default export must be defineScenario({...})`);
    }
    if (scenarios.some((o) => o.name === s.name)) throw new Error(`${f}: scenario name "${s.name}" is taken`);
    scenarios.push(s);
  }
  return scenarios.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
}
