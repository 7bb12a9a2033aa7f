// `node dist/src/train/cli.js [--out DIR] [--only NAME] [--version N] [--created ISO]`
//
// Trains every demo model (or one), prints its 5-fold CV accuracy next to the reference,
// and writes <out>/<name>/<version>/{model.onnx,reference.json,meta.json} atomically.
// Exit 0 when all pass; 1 when a model's CV accuracy is more than 2 points below its
// reference (that model's files are not written); 2 on a usage error. Run from the
// project root (npm run models does): data paths are relative to the working directory.

import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { writeVersionDir } from './files.js';
import { DEFAULT_CREATED } from './meta.js';
import { buildModel, readCodeVersion } from './pipeline.js';
import { EXTRA_MODEL_SPECS, MODEL_SPECS } from './specs.js';

const USAGE = 'usage: cli.js [--out DIR] [--only NAME] [--version N] [--created ISO-8601]';

function main(argv: string[]): number {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        out: { type: 'string', default: 'models' },
        only: { type: 'string' },
        version: { type: 'string', default: '1' },
        created: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    return usageError((err as Error).message);
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const version = Number(args.version);
  if (!/^[1-9][0-9]*$/.test(args.version) || !Number.isSafeInteger(version)) {
    return usageError(`--version must be a positive integer, got ${args.version}`);
  }
  let created = DEFAULT_CREATED;
  if (args.created !== undefined) {
    const t = Date.parse(args.created);
    if (Number.isNaN(t)) return usageError(`--created is not an ISO 8601 date: ${args.created}`);
    created = new Date(t).toISOString();
  }
  // --only may also name an extra (benchmark) model, which a plain run never builds.
  const known = [...MODEL_SPECS, ...EXTRA_MODEL_SPECS];
  const specs = args.only === undefined ? MODEL_SPECS : known.filter((s) => s.name === args.only);
  if (specs.length === 0) {
    return usageError(`--only: unknown model ${args.only}; known: ${known.map((s) => s.name).join(', ')}`);
  }

  const repoRoot = process.cwd();
  const codeVersion = readCodeVersion(repoRoot);
  const startedMs = performance.now();
  let failed = 0;
  for (const spec of specs) {
    const t0 = performance.now();
    const build = buildModel(spec, { repoRoot, version, created, codeVersion });
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    const folds = build.cv.foldAccuracies.map((a) => a.toFixed(3)).join(' ');
    console.log(
      `${spec.name}: ${spec.classifier.algorithm}, ${build.data.rows} rows; ` +
        `holdout (5-fold CV, unshuffled) accuracy ${build.cv.accuracy.toFixed(4)} [${folds}], ` +
        `reference ${spec.referenceAccuracy.toFixed(3)}, train ${build.trainAccuracy.toFixed(4)}; ${seconds} s`,
    );
    if (!build.passed) {
      failed++;
      console.error(
        `${spec.name}: FAILED — CV accuracy ${build.cv.accuracy.toFixed(4)} is more than 2 points below ` +
          `the reference ${spec.referenceAccuracy}; nothing written`,
      );
      continue;
    }
    const dir = join(args.out, spec.name, String(version));
    writeVersionDir(dir, build.files);
    console.log(`  wrote ${dir}/{${[...build.files.keys()].join(',')}} sha256 ${build.meta.modelSha256}`);
  }
  console.log(`total ${((performance.now() - startedMs) / 1000).toFixed(1)} s`);
  return failed > 0 ? 1 : 0;
}

function usageError(message: string): number {
  console.error(`${message}\n${USAGE}`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
