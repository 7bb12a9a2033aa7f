// The reference retraining job (train/retrain.ts, retrain-cli.ts) on real files: version 1 trained
// on half the real breast-cancer rows; a prediction log and a feedback log in the gateway's formats
// holding the other rows with the scanner shift (a rotated file, a cut last line). Checked: what it
// writes (routing first, the version directory with its lineage), that the new model is better on
// shifted rows it never saw (direct onnxruntime run), that it refuses with too few rows, and the
// CLI's exit codes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvText, rowOf, shiftedCopy, splitRows } from '../src/demo/split.js';
import { loadCsvDataset, type Dataset } from '../src/train/dataset.js';
import { writeVersionDir } from '../src/train/files.js';
import { buildModel } from '../src/train/pipeline.js';
import { retrainModel } from '../src/train/retrain.js';
import { BREAST_CANCER } from '../src/train/specs.js';
import { ROOT } from './helpers/gateway.js';

const data = loadCsvDataset(path.join(ROOT, BREAST_CANCER.dataPath), BREAST_CANCER.format).dataset;
const split = splitRows(data, 3);
let dir: string;
let models: string;
let predLog: string;
let fbLog: string;

/** Prediction and feedback log lines for `rows` of `d` (shifted), ids from `first`. */
function logLines(d: Dataset, first: number, count: number): { pred: string[]; fb: string[] } {
  const pred: string[] = [];
  const fb: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = i % d.rows;
    const id = `r-${first + i}`;
    const x = rowOf(d, r, true);
    const time = new Date(1_700_000_000_000 + first + i).toISOString();
    pred.push(JSON.stringify({ level: 30, time, seq: first + i, run: 'abcd', id, model: 'breast-cancer', version: '1', sha256: 'x', shadow: false, batch_id: 1, batch_size: 1, rows: 1, queue_us: 1, compute_us: 1, total_us: 2, protocol: 'http_json', status: 200, code: 'OK', outputs: [], inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 30], data: x, truncated: false }] }));
    // The shadow's copy of the same request: the job must not count it twice.
    pred.push(JSON.stringify({ level: 30, time, id, model: 'breast-cancer', version: '2', shadow: true, code: 'OK', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 30], data: x, truncated: false }] }));
    fb.push(JSON.stringify({ level: 30, time, model: 'breast-cancer', id, label: [d.y[r]] }));
  }
  return { pred, fb };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-retrain-'));
  models = path.join(dir, 'models');
  const modelDir = path.join(models, 'breast-cancer');
  mkdirSync(path.join(modelDir, 'data'), { recursive: true });
  writeFileSync(path.join(modelDir, 'data/breast_cancer.csv'), csvText(split.train, BREAST_CANCER.classNames));
  writeFileSync(path.join(modelDir, 'model.json'), readFileSync(path.join(ROOT, 'models/breast-cancer/model.json')));
  writeVersionDir(path.join(modelDir, '1'), buildModel(BREAST_CANCER, { repoRoot: dir, version: 1, created: '2026-01-01T00:00:00.000Z', codeVersion: 'test' }).files);
  predLog = path.join(dir, 'predictions.log');
  fbLog = path.join(dir, 'feedback.log');
  // 600 labelled requests from the traffic rows: the older 300 in the rotated files, a cut last line.
  const older = logLines(split.traffic, 0, 300);
  const newer = logLines(split.traffic, 300, 300);
  writeFileSync(`${predLog}.1`, `${older.pred.join('\n')}\n`);
  writeFileSync(predLog, `${newer.pred.join('\n')}\n{"level":30,"time":"2026-`);
  writeFileSync(`${fbLog}.1`, `${older.fb.join('\n')}\n`);
  writeFileSync(fbLog, `${newer.fb.join('\n')}\n{"model":"breast-cancer","id":"ghost","label":[1]}\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function accuracyOn(modelFile: string, d: Dataset): Promise<number> {
  const s = await ort.InferenceSession.create(modelFile);
  const out = await s.run({ features: new ort.Tensor('float32', Float32Array.from(d.x), [d.rows, d.cols]) });
  const labels = out.label!.data as BigInt64Array;
  return Array.from(labels).filter((l, i) => Number(l) === d.y[i]).length / d.rows;
}

describe('retrainModel', () => {
  it('refuses with too few labelled rows, writing nothing', async () => {
    const lines: string[] = [];
    const r = await retrainModel({ modelsDir: models, model: 'breast-cancer', predictionLog: predLog, feedbackLog: fbLog, minLabeledRows: 10_000, created: '2026-12-02T00:00:00.000Z', codeVersion: 'test', say: (l) => lines.push(l) });
    expect(r).toMatchObject({ ok: false, version: 2, parentVersion: 1, dir: null });
    expect(r.reason).toBe('600 labelled live rows, at least 10000 needed');
    expect(existsSync(path.join(models, 'breast-cancer/2'))).toBe(false);
    expect(existsSync(path.join(models, 'breast-cancer/routing.json'))).toBe(false);
    expect(lines[0]).toContain('600 labelled live rows from 1201 prediction and 601 feedback lines (1 unparsable, 1 labels without a logged input)');
  });

  it('writes version 2 with its lineage, registers it as a shadow, and it beats version 1 on shifted rows it never saw', async () => {
    const trigger = { id: 'e1', reason: 'drift' };
    const r = await retrainModel({ modelsDir: models, model: 'breast-cancer', predictionLog: predLog, feedbackLog: fbLog, shadowPercent: 40, created: '2026-12-02T00:00:00.000Z', codeVersion: 'test', trigger, say: () => {} });
    expect(r).toMatchObject({ ok: true, version: 2, parentVersion: 1, rows: { base: split.train.rows, logged: 600, holdout: 150, recentWeight: 1 } });
    expect(r.holdoutAccuracy!).toBeGreaterThan(r.parentHoldoutAccuracy!);
    const modelDir = path.join(models, 'breast-cancer');
    expect(JSON.parse(readFileSync(path.join(modelDir, 'routing.json'), 'utf8'))).toEqual({ primary: '1', shadows: [{ version: '2', percent: 40 }] });
    const meta = JSON.parse(readFileSync(path.join(modelDir, '2/meta.json'), 'utf8'));
    expect(meta).toMatchObject({
      name: 'breast-cancer',
      version: 2,
      parentVersion: 1,
      codeVersion: 'test',
      trainingData: { base: { rows: split.train.rows, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }, logged: { rows: 600, trainRows: 450, holdoutRows: 150, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), predictionLog: predLog } },
      metrics: { holdoutRows: 150 },
      trigger,
    });
    const reference = JSON.parse(readFileSync(path.join(modelDir, '2/reference.json'), 'utf8'));
    expect(reference.rows).toBe(200); // the most recent live rows
    const test = shiftedCopy(split.test);
    expect(await accuracyOn(path.join(modelDir, '2/model.onnx'), test)).toBeGreaterThan(await accuracyOn(path.join(modelDir, '1/model.onnx'), test));
  });

  it('refuses a candidate worse than the primary on the held-out rows, writing nothing', async () => {
    // The older logged rows carry wrong labels (say a labelling bug), the newest ones true labels:
    // a candidate trained on the older ones loses to version 1 on the newest, and is refused.
    const flipped: Dataset = { ...split.traffic, y: split.traffic.y.map((y) => 1 - y) };
    const older = logLines(flipped, 10_000, 300);
    const newer = logLines(split.traffic, 20_000, 100);
    const p = path.join(dir, 'flipped-pred.log');
    const f = path.join(dir, 'flipped-fb.log');
    writeFileSync(p, `${[...older.pred, ...newer.pred].join('\n')}\n`);
    writeFileSync(f, `${[...older.fb, ...newer.fb].join('\n')}\n`);
    const r = await retrainModel({ modelsDir: models, model: 'breast-cancer', predictionLog: p, feedbackLog: f, created: '2026-12-02T00:00:00.000Z', codeVersion: 'test', say: () => {} });
    expect(r.ok).toBe(false);
    expect(r.holdoutAccuracy!).toBeLessThan(r.parentHoldoutAccuracy!);
    expect(r.reason).toMatch(/^candidate accuracy 0\.\d+ < primary's 0\.\d+ on the held-out rows$/);
    expect(existsSync(path.join(models, 'breast-cancer/3'))).toBe(false);
    expect(JSON.parse(readFileSync(path.join(models, 'breast-cancer/routing.json'), 'utf8')).shadows).toEqual([{ version: '2', percent: 40 }]);
  });
});

describe('retrain-cli', () => {
  const cli = path.join(ROOT, 'dist/src/train/retrain-cli.js');
  const run = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });

  it('exit 2 on a usage error, 3 when refused, 0 for a dry run that would write; paths from the environment', () => {
    expect(run([]).status).toBe(2);
    expect(run(['breast-cancer', '--models', models]).stderr).toContain('--prediction-log (or SLUICE_PREDICTION_LOG)');
    expect(run(['breast-cancer', '--shadow-percent', '300', '--prediction-log', predLog, '--feedback-log', fbLog]).status).toBe(2);
    const env = { SLUICE_MODELS: models, SLUICE_PREDICTION_LOG: predLog, SLUICE_FEEDBACK_LOG: fbLog, SLUICE_RETRAIN_EVENT: '{"reason":"admin"}' };
    const refused = run(['breast-cancer', '--min-labeled', '100000'], env);
    expect(refused.status).toBe(3);
    expect(JSON.parse(refused.stdout.trim().split('\n').at(-1)!)).toMatchObject({ ok: false });
    const dry = run(['breast-cancer', '--dry-run'], env);
    expect(dry.status, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout.trim().split('\n').at(-1)!)).toMatchObject({ ok: true, dir: null, version: 3 });
    expect(existsSync(path.join(models, 'breast-cancer/3'))).toBe(false);
    expect(run(['no-such-model'], env).status).toBe(1);
  });

  it('is `sluice train` too', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/src/cli.js'), 'train', 'breast-cancer', '--dry-run'], { encoding: 'utf8', env: { PATH: process.env.PATH, SLUICE_MODELS: models, SLUICE_PREDICTION_LOG: predLog, SLUICE_FEEDBACK_LOG: fbLog } });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ ok: true, version: 3, parentVersion: 1 });
    const help = spawnSync(process.execPath, [path.join(ROOT, 'dist/src/cli.js'), '--help'], { encoding: 'utf8' });
    expect(help.stdout).toContain('train <model>');
  });
});
