// The reference retraining job (train/retrain.ts, retrain-cli.ts) on real files: version 1 trained
// on half the real breast-cancer rows; a prediction log and a feedback log in the gateway's formats
// holding the other rows with the scanner shift (a rotated file, a cut last line). Checked: what it
// writes (routing first, the version directory with its lineage), that the new model is better on
// shifted rows it never saw (direct onnxruntime run), that it refuses with too few rows or a worse
// candidate, a full routing table, the log reader's join rules, its row bound and rotated files
// mid-rotation, and the CLI's exit codes.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvText, rowOf, shiftedCopy, splitRows } from '../src/demo/split.js';
import { routingFiles } from '../src/routing/table-file.js';
import { loadCsvDataset, type Dataset } from '../src/train/dataset.js';
import { writeVersionDir } from '../src/train/files.js';
import { buildModel } from '../src/train/pipeline.js';
import { retrainModel } from '../src/train/retrain.js';
import { readLoggedData, rowsSha256 } from '../src/train/retrain-data.js';
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
    const r = await retrainModel({ routingFiles, modelsDir: models, model: 'breast-cancer', predictionLog: predLog, feedbackLog: fbLog, minLabeledRows: 10_000, created: '2026-12-02T00:00:00.000Z', codeVersion: 'test', say: (l) => lines.push(l) });
    expect(r).toMatchObject({ ok: false, version: 2, parentVersion: 1, dir: null });
    expect(r.reason).toBe('600 labelled live rows, at least 10000 needed');
    expect(existsSync(path.join(models, 'breast-cancer/2'))).toBe(false);
    expect(existsSync(path.join(models, 'breast-cancer/routing.json'))).toBe(false);
    expect(lines[0]).toContain('600 labelled live rows from 1201 prediction and 601 feedback lines (1 unparsable, 1 labels without a logged input)');
  });

  it('writes version 2 with its lineage, registers it as a shadow, and it beats version 1 on shifted rows it never saw', async () => {
    const trigger = { id: 'e1', reason: 'drift' };
    const r = await retrainModel({ routingFiles, modelsDir: models, model: 'breast-cancer', predictionLog: predLog, feedbackLog: fbLog, shadowPercent: 40, created: '2026-12-02T00:00:00.000Z', codeVersion: 'test', trigger, say: () => {} });
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
    // The hashes: the model file's bytes, and the 600 joined rows exactly (log order, shifted).
    expect(meta.modelSha256).toBe(createHash('sha256').update(readFileSync(path.join(modelDir, '2/model.onnx'))).digest('hex'));
    const joined = Array.from({ length: 600 }, (_, i) => (i % 300) % split.traffic.rows); // logLines' rows, twice
    expect(meta.trainingData.logged.sha256).toBe(rowsSha256(Float64Array.from(joined.flatMap((r) => rowOf(split.traffic, r, true))), Int32Array.from(joined, (r) => split.traffic.y[r]!)));
    expect(meta.metrics).toMatchObject({ holdoutAccuracy: expect.any(Number), parentHoldoutAccuracy: expect.any(Number), trainAccuracy: expect.any(Number) });
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
    const r = await retrainModel({ routingFiles, modelsDir: models, model: 'breast-cancer', predictionLog: p, feedbackLog: f, created: '2026-12-02T00:00:00.000Z', codeVersion: 'test', say: () => {} });
    expect(r.ok).toBe(false);
    expect(r.holdoutAccuracy!).toBeLessThan(r.parentHoldoutAccuracy!);
    expect(r.reason).toMatch(/^candidate accuracy 0\.\d+ < primary's 0\.\d+ on the held-out rows$/);
    expect(existsSync(path.join(models, 'breast-cancer/3'))).toBe(false);
    expect(JSON.parse(readFileSync(path.join(models, 'breast-cancer/routing.json'), 'utf8')).shadows).toEqual([{ version: '2', percent: 40 }]);
  });
});

describe('retrainModel with a busy routing table', () => {
  it('keeps the primary, previousPrimary and shadows, drops the oldest shadow past MAX_SHADOWS, numbers above an incomplete directory', async () => {
    const copy = path.join(dir, 'busy');
    cpSync(models, copy, { recursive: true });
    const modelDir = path.join(copy, 'breast-cancer');
    mkdirSync(path.join(modelDir, '5')); // no model.onnx (say a copy in progress): never written into
    const shadows = Array.from({ length: 8 }, (_, i) => ({ version: String(10 + i), percent: 10 }));
    writeFileSync(path.join(modelDir, 'routing.json'), JSON.stringify({ primary: '1', previousPrimary: '2', shadows }));
    const r = await retrainModel({ routingFiles, modelsDir: copy, model: 'breast-cancer', predictionLog: predLog, feedbackLog: fbLog, created: '2026-12-02T00:00:00.000Z', codeVersion: 'test' });
    expect(r).toMatchObject({ ok: true, version: 18, parentVersion: 1 });
    // Version 18: one above every numbered directory and routed version (17 is a routed shadow without a directory).
    expect(JSON.parse(readFileSync(path.join(modelDir, 'routing.json'), 'utf8'))).toEqual({
      primary: '1',
      shadows: [...shadows.slice(1), { version: '18', percent: 100 }],
      previousPrimary: '2',
    });
    expect(existsSync(path.join(modelDir, '18/meta.json'))).toBe(true);
  });
});

describe('readLoggedData', () => {
  const rowsOf = (first: number, n: number): number[] => Array.from(data.x.subarray(first * 30, (first + n) * 30));
  const pred = (id: string, first: number, n: number, extra: Record<string, unknown> = {}, input: Record<string, unknown> = {}): string =>
    JSON.stringify({ level: 30, time: '2026-12-02T00:00:00.000Z', id, model: 'breast-cancer', version: '1', shadow: false, code: 'OK', status: 200, outputs: [], ...extra, inputs: [{ name: 'features', datatype: 'FP32', shape: [n, 30], data: rowsOf(first, n), truncated: false, ...input }] });
  const fb = (id: string, label: number[]): string => JSON.stringify({ level: 30, time: '2026-12-02T00:00:01.000Z', model: 'breast-cancer', id, label });
  const read = (p: string, f: string, maxRows?: number) =>
    readLoggedData({ predictionLog: p, feedbackLog: f, model: 'breast-cancer', inputName: 'features', cols: 30, classCount: 2, ...(maxRows === undefined ? {} : { maxRows }) });

  it('joins whole primary OK inputs with one label per row, once per id; skips everything else', async () => {
    const p = path.join(dir, 'join-pred.log');
    const f = path.join(dir, 'join-fb.log');
    writeFileSync(p, [
      pred('multi', 0, 3), // joined: rows 0..2
      pred('multi', 0, 3), // the same id again: joined once
      pred('count', 3, 2), // 2 rows, 1 label: skipped
      pred('cut', 5, 1, {}, { truncated: true }),
      pred('redacted', 6, 1, {}, { data: [null, ...rowsOf(6, 1).slice(1)] }),
      pred('refused', 7, 1, { code: 'SLUICE_ERR_OVERLOADED', status: 503 }),
      pred('other', 8, 1, { model: 'digits' }),
      pred('fp64', 9, 1, {}, { datatype: 'FP64' }),
      pred('one', 10, 1, { shadow: true }), // a shadow's copy first: ignored, the primary's line joins
      pred('one', 10, 1),
      'not json',
    ].join('\n'));
    writeFileSync(f, [fb('multi', [data.y[0]!, data.y[1]!, data.y[2]!]), fb('count', [1]), fb('cut', [1]), fb('redacted', [1]), fb('refused', [1]), fb('other', [1]), fb('fp64', [1]), fb('one', [0]), fb('one', [data.y[10]!]), fb('bad', [7]), '{"model":'].join('\n'));
    const d = await read(p, f);
    expect(d.rows).toBe(4);
    expect(Array.from(d.x)).toEqual([...rowsOf(0, 3), ...rowsOf(10, 1)]);
    expect(Array.from(d.y)).toEqual([data.y[0], data.y[1], data.y[2], data.y[10]]); // a later label replaces an earlier one
    // count, cut, redacted, refused, other (its answer is digits'), fp64: labelled, no usable input; bad is no label.
    expect(d.counts).toEqual({ predictionLines: 11, feedbackLines: 11, unparsable: 2, labelsWithoutInput: 6, droppedRows: 0 });
    expect(d.sha256).toBe(rowsSha256(d.x, d.y));
  });

  it('keeps the most recent maxRows rows in log order, rotated files oldest first, a file under two names once', async () => {
    const p = path.join(dir, 'ring-pred.log');
    const f = path.join(dir, 'ring-fb.log');
    const ids = Array.from({ length: 9 }, (_, i) => `g${i}`);
    // Mid-rotation: PATH.1 already moved to PATH.2, PATH not yet to PATH.1 (a gap), and PATH.3 is
    // a second name of PATH.2 (as if seen before and after a rename): read once.
    writeFileSync(`${p}.2`, `${ids.slice(0, 3).map((id, i) => pred(id, i, 1)).join('\n')}\n`);
    linkSync(`${p}.2`, `${p}.3`);
    writeFileSync(p, `${ids.slice(3).map((id, i) => pred(id, i + 3, 1)).join('\n')}\n`);
    writeFileSync(f, `${ids.map((id, i) => fb(id, [data.y[i]!])).join('\n')}\n`);
    const all = await read(p, f);
    expect(all.rows).toBe(9);
    expect(Array.from(all.x)).toEqual(rowsOf(0, 9));
    const recent = await read(p, f, 4);
    expect(recent.rows).toBe(4);
    expect(Array.from(recent.x)).toEqual(rowsOf(5, 4));
    expect(Array.from(recent.y)).toEqual(Array.from(data.y.subarray(5, 9)));
    expect(recent.counts.droppedRows).toBe(5);
    expect(recent.sha256).toBe(rowsSha256(Float64Array.from(rowsOf(5, 4)), data.y.slice(5, 9)));
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
