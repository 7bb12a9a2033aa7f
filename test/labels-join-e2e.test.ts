// Late labels join the whole answer, once, for both readers: live accuracy (GET /v2/models/{m}/drift)
// and the shadow board's per-pair accuracy (the admin report) read the one result of each label.
// Events carry bounded copies of the outputs (here 16 values); a label must still be judged on
// every row of a larger answer. And a label of a request answered before the routing changed
// credits live accuracy but not the restarted comparison.
import { copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyModels, getJson, MODELS, postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/load.js';
import { directRun } from './helpers/ort.js';
import { cohortPoint } from '../src/routing/index.js';

const ROWS = 40;
const data = gunzipSync(readFileSync(path.join(MODELS, 'digits/data/digits.csv.gz'))).toString('utf8').trim().split('\n').slice(100, 100 + ROWS);
const rows = data.map((l) => l.split(',').slice(0, 64).map(Number));
const truth = data.map((l) => Number(l.split(',')[64]));
const WIDE = path.join(MODELS, 'digits-wide/1/model.onnx');

let t: TestGateway;
let routingFile: string;
beforeAll(async () => {
  // digits version 1 (primary) and 2 (digits-wide's file: another model of the same task), mirrored at 100%.
  const dir = await copyModels(['digits']);
  await mkdir(path.join(dir, 'digits/2'));
  await copyFile(WIDE, path.join(dir, 'digits/2/model.onnx'));
  const file = path.join(dir, 'digits/model.json');
  await writeFile(file, (await readFile(file, 'utf8')).replace('"latest": 1', '"latest": 2'));
  routingFile = path.join(dir, 'digits/routing.json');
  await writeFile(routingFile, JSON.stringify({ primary: '1', shadows: [{ version: '2', percent: 100 }] }));
  t = await startTestGateway({ modelsDir: dir, config: { pollIntervalMs: 100, predictionLogMaxValues: 16 } });
});
afterAll(async () => {
  await t?.stop();
});

const infer = (id: string, batch: number[][]) => postJson(`${t.url}/v2/models/digits/infer`, { id, inputs: [{ name: 'pixels', datatype: 'FP32', shape: [batch.length, 64], data: batch.flat() }] });
const feedback = (body: unknown) => postJson(`${t.url}/v2/models/digits/feedback`, body);
const pair = () => t.gw.shadows.report('digits').pairs.find((p) => p.shadow === '2');
const live = async (version: string) => ((await getJson(`${t.url}/v2/models/digits/drift`)).json.versions as { version: string; accuracy: { labeled: number; correct: number } }[]).find((v) => v.version === version)!.accuracy;

describe('late labels', () => {
  it('are judged on every row of an answer larger than the events copy, by live accuracy and the shadow pair alike', async () => {
    const r = await infer('big', rows);
    expect(r.status).toBe(200);
    await waitFor(() => pair()?.compared === 1);
    const a = await directRun(path.join(MODELS, 'digits/1/model.onnx'), 'pixels', rows);
    const b = await directRun(WIDE, 'pixels', rows);
    const right = (xs: { label: number }[]) => xs.filter((x, i) => x.label === truth[i]).length;
    expect(right(a)).not.toBe(right(b)); // the two sides differ on these rows: the check below can tell them apart

    expect((await feedback({ id: 'big', label: truth })).json).toEqual({ accepted: 1, refused: [] });
    expect(pair()).toMatchObject({ labeled: ROWS, accuracy: { primary: right(a) / ROWS, shadow: right(b) / ROWS } });
    expect(await live('1')).toMatchObject({ labeled: ROWS, correct: right(a) });
    expect(await live('2')).toMatchObject({ labeled: ROWS, correct: right(b) });
    // Joined once: a second label for the id is refused, and nothing was credited twice.
    expect((await feedback({ id: 'big', label: truth })).json.refused).toEqual([{ id: 'big', reason: 'unknown_id' }]);
    expect(t.gw.shadows.report('digits').labels).toMatchObject({ entries: 0, evicted_full: 0, evicted_age: 0 });
  });

  it('of a request answered before the routing changed credit live accuracy, not the restarted comparison', async () => {
    expect((await infer('before', rows.slice(0, 1))).status).toBe(200);
    await waitFor(() => pair()?.compared === 2);
    const since = t.gw.shadows.report('digits').since;
    // Any change restarts the comparison; a 99.9% share still mirrors the id chosen below.
    await writeFile(`${routingFile}.tmp`, JSON.stringify({ primary: '1', shadows: [{ version: '2', percent: 99.9 }] }));
    await rename(`${routingFile}.tmp`, routingFile);
    await waitFor(() => t.gw.shadows.report('digits').since !== since);
    const liveBefore = (await live('1')).labeled;

    expect((await feedback({ id: 'before', label: truth[0] })).json).toEqual({ accepted: 1, refused: [] });
    expect((await live('1')).labeled).toBe(liveBefore + 1);
    expect(pair()?.labeled ?? 0).toBe(0);

    let k = 0;
    while (cohortPoint(`after-${k}`) >= 99.9) k++;
    expect((await infer(`after-${k}`, rows.slice(0, 1))).status).toBe(200);
    await waitFor(() => pair()?.compared === 1);
    expect((await feedback({ id: `after-${k}`, label: truth[0] })).json).toEqual({ accepted: 1, refused: [] });
    expect(pair()).toMatchObject({ labeled: 1 });
    expect((await live('1')).labeled).toBe(liveBefore + 2);
  });
});
