// Light models run small batches on the main thread while the pool is idle (no worker round
// trip at low load); under concurrency batches go to the workers; answers are the same either
// way, and a heavy model never runs inline.
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { digitsRows, directRun } from './helpers/ort.js';

const body = (row: number[]) => ({ inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: row }] });
const rows = digitsRows(200);
let expected: Awaited<ReturnType<typeof directRun>>;
let t: TestGateway;
let off: TestGateway;

async function batchesWhere(g: TestGateway, model: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await g.gw.metrics.batches.get()).values) {
    if (v.labels.model === model) out[String(v.labels.where)] = (out[String(v.labels.where)] ?? 0) + v.value;
  }
  return out;
}

/** The admission estimate of digits' batcher: rows/s its worker batches are served at (0: not calibrated). */
const serviceRate = (g: TestGateway): number => g.gw.repository.resolve('digits').handle.batcher.serviceRowsPerSecond;

function expectDigits(answer: { status: number; json: any }, i: number): void {
  expect(answer.status).toBe(200);
  const [probs, label] = answer.json.outputs;
  expected[i]!.probabilities.forEach((p, j) => expect(Math.abs(probs.data[j] - p)).toBeLessThanOrEqual(1e-6));
  expect(label.data[0]).toBe(expected[i]!.label);
}

beforeAll(async () => {
  // 5 ms: generous, so that a busy test machine cannot push digits over the budget.
  t = await startTestGateway({ models: ['digits'], config: { workers: 1, inlineMaxRunUs: 5000 } });
  off = await startTestGateway({ models: ['digits'], config: { workers: 1, inlineMaxRunUs: 0 } });
  expected = await directRun(path.join(t.modelsDir, 'digits/1/model.onnx'), 'pixels', rows);
});
afterAll(async () => {
  await Promise.all([t.stop(), off.stop()]);
});

it('one request at a time runs inline on the main thread and equals a direct run', async () => {
  for (let i = 0; i < 20; i++) expectDigits(await postJson(`${t.url}/v2/models/digits/infer`, body(rows[i]!)), i);
  expect(await batchesWhere(t, 'digits')).toEqual({ inline: 20 });
  expect(serviceRate(t)).toBe(0); // 20 batches answered, none of them measured the workers
  const line = t.logs.find((l) => l.model === 'digits' && /run inline/.test(String(l.msg)));
  expect(line).toMatchObject({ maxRows: 64 });
});

it('concurrent requests also use the worker, with the same answers', async () => {
  const before = await batchesWhere(t, 'digits');
  const answers = await Promise.all(rows.map((r) => postJson(`${t.url}/v2/models/digits/infer`, body(r))));
  answers.forEach((a, i) => expectDigits(a, i));
  const after = await batchesWhere(t, 'digits');
  expect((after.worker ?? 0) - (before.worker ?? 0)).toBeGreaterThan(0);
});

it('with --inline-max-run-us 0 every batch goes to a worker', async () => {
  for (let i = 0; i < 5; i++) expectDigits(await postJson(`${off.url}/v2/models/digits/infer`, body(rows[i]!)), i);
  expect(await batchesWhere(off, 'digits')).toEqual({ worker: 5 });
  expect(serviceRate(off)).toBeGreaterThan(0); // 5 worker batches calibrate the estimate
});

it('a model slower than the budget never runs inline', async () => {
  const wide = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: rows[0] }] };
  const t2 = await startTestGateway({ models: ['digits-wide'], config: { workers: 1, inlineMaxRunUs: 20 } });
  try {
    for (let i = 0; i < 3; i++) expect((await postJson(`${t2.url}/v2/models/digits-wide/infer`, wide)).status).toBe(200);
    expect(await batchesWhere(t2, 'digits-wide')).toEqual({ worker: 3 });
    expect(t2.logs.some((l) => /run inline/.test(String(l.msg)))).toBe(false);
  } finally {
    await t2.stop();
  }
});
