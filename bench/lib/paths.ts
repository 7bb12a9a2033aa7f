// Where things are, whether this runs from bench/ (vitest) or dist/bench/ (npm run bench).
import path from 'node:path';
import { packageRoot } from '../../src/util/package-root.js';

/** The project root (holds package.json, models/, bench/). */
export const ROOT = packageRoot(import.meta.url);
/** Compiled benchmark code: baselines and scenarios are loaded from here. */
export const DIST_BENCH = path.join(ROOT, 'dist', 'bench');
export const MODELS_DIR = path.join(ROOT, 'models');
export const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
export const BENCH_README = path.join(ROOT, 'bench', 'README.md');
