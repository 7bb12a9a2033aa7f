// Dynamic batching through the whole stack: concurrent single-row requests must come back
// with exactly what a direct onnxruntime-node run of each row returns, and batches > 1 form.
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { digitsRows, directRun } from './helpers/ort.js';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ models: ['digits'] });
});
afterAll(async () => {
  await t.stop();
});

it('300 concurrent single-row requests equal direct runs row by row (|diff| <= 1e-6), in batches > 1', async () => {
  const rows = digitsRows(300);
  const expected = await directRun(path.join(t.modelsDir, 'digits/1/model.onnx'), 'pixels', rows);
  const answers = await Promise.all(
    rows.map((row, i) =>
      postJson(`${t.url}/v2/models/digits/infer`, { id: `r${i}`, inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: row }] }),
    ),
  );
  let maxDiff = 0;
  answers.forEach((a, i) => {
    expect(a.status).toBe(200);
    expect(a.json.id).toBe(`r${i}`);
    const [probs, label] = a.json.outputs;
    expect(probs.shape).toEqual([1, 10]);
    expected[i]!.probabilities.forEach((p, j) => (maxDiff = Math.max(maxDiff, Math.abs(probs.data[j] - p))));
    expect(label.data[0]).toBe(expected[i]!.label);
  });
  expect(maxDiff).toBeLessThanOrEqual(1e-6);

  const hist = (await t.gw.metrics.batchRows.get()).values;
  const count = hist.find((v) => v.metricName === 'sluice_batch_rows_count')!.value;
  const sum = hist.find((v) => v.metricName === 'sluice_batch_rows_sum')!.value;
  const single = hist.find((v) => v.metricName === 'sluice_batch_rows_bucket' && (v.labels as Record<string, unknown>).le === 1)!.value;
  expect(sum).toBe(300);
  expect(count).toBeLessThan(300); // some batches held more than one row
  expect(count - single).toBeGreaterThan(0);
});
