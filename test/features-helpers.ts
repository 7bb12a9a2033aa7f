// Shared fixtures of the features suites: the bundled model configs and real rows of their data.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parseModelConfig, type ModelConfig } from '../src/repository/model-config.js';

const read = (rel: string): Buffer => readFileSync(new URL(`../${rel}`, import.meta.url));

export function bundled(name: 'breast-cancer' | 'digits'): ModelConfig {
  return parseModelConfig(JSON.parse(read(`models/${name}/model.json`).toString('utf8')), name);
}

export function rawConfig(name: 'breast-cancer' | 'digits'): Record<string, unknown> {
  return JSON.parse(read(`models/${name}/model.json`).toString('utf8')) as Record<string, unknown>;
}

/** Feature names per column as the trainer recorded them (reference.json). */
export function referenceNames(name: 'breast-cancer' | 'digits'): string[] {
  const ref = JSON.parse(read(`models/${name}/1/reference.json`).toString('utf8')) as { features: { name: string; index: number }[] };
  return ref.features.sort((a, b) => a.index - b.index).map((f) => f.name);
}

/** Feature rows (class column dropped) of the model's real data set, as numbers from the CSV text. */
export function dataRows(name: 'breast-cancer' | 'digits'): number[][] {
  const text =
    name === 'digits'
      ? gunzipSync(read('models/digits/data/digits.csv.gz')).toString('utf8')
      : read('models/breast-cancer/data/breast_cancer.csv').toString('utf8').split('\n').slice(1).join('\n');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.split(',').slice(0, -1).map(Number));
}

/** One instance object from a row, keyed by the config's feature names in column order. */
export function instanceOf(config: ModelConfig, row: number[]): Record<string, number> {
  return Object.fromEntries((config.features ?? []).map((f, j) => [f.name, row[j] as number]));
}
