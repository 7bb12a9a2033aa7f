// `node dist/src/train/retrain-cli.js <model> [options]` (also `npm run retrain -- <model>` and
// `sluice train <model>`): the reference retraining job (retrain.ts), the command a model's retrain
// trigger typically runs. Exit 0 written (or --dry-run passed), 3 refused (too few labelled rows, or
// the candidate is worse than the primary: nothing written), 2 usage error, 1 any other failure.
// Paths default to the gateway's environment (SLUICE_MODELS, SLUICE_PREDICTION_LOG,
// SLUICE_FEEDBACK_LOG), which a trigger's command inherits; the trigger's event comes in
// SLUICE_RETRAIN_EVENT and is kept in the new version's lineage.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { routingFiles } from '../routing/table-file.js';
import { readCodeVersion } from './pipeline.js';
import { retrainModel } from './retrain.js';

export const RETRAIN_USAGE =
  'usage: sluice train <model> [--models DIR] [--prediction-log PATH] [--feedback-log PATH] [--shadow-percent N] [--holdout-share X] [--min-labeled N] [--max-logged-rows N] [--dry-run]';

const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export async function retrainMain(argv: readonly string[], env: NodeJS.ProcessEnv, out: (line: string) => void = console.log, err: (line: string) => void = console.error): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        models: { type: 'string' },
        'prediction-log': { type: 'string' },
        'feedback-log': { type: 'string' },
        'shadow-percent': { type: 'string' },
        'holdout-share': { type: 'string' },
        'min-labeled': { type: 'string' },
        'max-logged-rows': { type: 'string' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    err(`${(e as Error).message}\n${RETRAIN_USAGE}`);
    return 2;
  }
  const v = parsed.values;
  if (v.help) {
    out(RETRAIN_USAGE);
    return 0;
  }
  const usage = (message: string): number => {
    err(`${message}\n${RETRAIN_USAGE}`);
    return 2;
  };
  if (parsed.positionals.length !== 1) return usage(parsed.positionals.length === 0 ? 'missing <model>' : `unexpected argument "${parsed.positionals[1]}"`);
  const predictionLog = v['prediction-log'] ?? env.SLUICE_PREDICTION_LOG;
  const feedbackLog = v['feedback-log'] ?? env.SLUICE_FEEDBACK_LOG;
  if (predictionLog === undefined || predictionLog === 'off' || predictionLog === 'stdout') return usage('--prediction-log (or SLUICE_PREDICTION_LOG) must name the prediction log file');
  if (feedbackLog === undefined || feedbackLog === 'off' || feedbackLog === 'stdout') return usage('--feedback-log (or SLUICE_FEEDBACK_LOG) must name the feedback log file');
  const number = (name: string, raw: string | undefined, min: number, max: number, integer = false): number | undefined | null => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    return raw.trim() !== '' && Number.isFinite(n) && n >= min && n <= max && (!integer || Number.isInteger(n)) ? n : null;
  };
  const shadowPercent = number('--shadow-percent', v['shadow-percent'], 0, 100);
  const holdoutShare = number('--holdout-share', v['holdout-share'], 0.01, 0.9);
  const minLabeled = number('--min-labeled', v['min-labeled'], 1, 1e9, true);
  const maxLogged = number('--max-logged-rows', v['max-logged-rows'], 1, 1e9, true);
  if (shadowPercent === null) return usage('--shadow-percent must be a number from 0 to 100');
  if (holdoutShare === null) return usage('--holdout-share must be a number from 0.01 to 0.9');
  if (minLabeled === null) return usage('--min-labeled must be a positive integer');
  if (maxLogged === null) return usage('--max-logged-rows must be a positive integer');
  let trigger: unknown;
  try {
    trigger = env.SLUICE_RETRAIN_EVENT === undefined ? undefined : JSON.parse(env.SLUICE_RETRAIN_EVENT);
  } catch {
    trigger = undefined; // lineage only: a malformed event does not stop the job
  }
  try {
    const result = await retrainModel({
      // The process entry wires routing's file access into the job (train/ imports no other engine).
      routingFiles,
      modelsDir: path.resolve(v.models ?? env.SLUICE_MODELS ?? 'models'),
      model: parsed.positionals[0]!,
      // Absolute: they are recorded in the new version's lineage.
      predictionLog: path.resolve(predictionLog),
      feedbackLog: path.resolve(feedbackLog),
      ...(shadowPercent === undefined ? {} : { shadowPercent }),
      ...(holdoutShare === undefined ? {} : { holdoutShare }),
      ...(minLabeled === undefined ? {} : { minLabeledRows: minLabeled }),
      ...(maxLogged === undefined ? {} : { maxLoggedRows: maxLogged }),
      created: new Date().toISOString(),
      codeVersion: readCodeVersion(PROJECT_ROOT),
      ...(trigger === undefined ? {} : { trigger }),
      dryRun: v['dry-run'] === true,
      say: out,
    });
    out(JSON.stringify(result));
    return result.ok ? 0 : 3;
  } catch (e) {
    err(`retrain failed: ${(e as Error).message}`);
    return 1;
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await retrainMain(process.argv.slice(2), process.env);
}
