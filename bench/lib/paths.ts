// Where things are, whether this runs from bench/ (vitest) or dist/bench/ (npm run bench).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}

/** The project root (holds package.json, models/, bench/). */
export const ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));
/** Compiled benchmark code: baselines and scenarios are loaded from here. */
export const DIST_BENCH = path.join(ROOT, 'dist', 'bench');
export const MODELS_DIR = path.join(ROOT, 'models');
export const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
export const BENCH_README = path.join(ROOT, 'bench', 'README.md');
