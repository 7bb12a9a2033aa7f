// A model configured for cuda:N on a machine without the CUDA provider falls back to CPU
// with one clear log line, and reports the provider it really uses.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { copyModels, getJson, postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { digitsRows } from './helpers/ort.js';

let t: TestGateway;
beforeAll(async () => {
  const dir = await copyModels(['digits']);
  const file = path.join(dir, 'digits/model.json');
  await writeFile(file, (await readFile(file, 'utf8')).replace('"device": "cpu"', '"device": "cuda:0"'));
  t = await startTestGateway({ modelsDir: dir });
});
afterAll(async () => {
  await t.stop();
});

it('falls back to CPU, logs it once, and reports the active provider in metadata and metrics', async () => {
  const meta = await getJson(`${t.url}/v2/models/digits`);
  expect(meta.json.parameters).toMatchObject({ device: 'cuda:0', execution_provider: 'cpu' });
  const lines = t.logs.filter((l) => /CUDA execution provider unavailable/.test(String(l.msg)));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ level: 40, device: 'cuda:0' });
  const provider = (await t.gw.metrics.executionProvider.get()).values;
  expect(provider).toEqual([expect.objectContaining({ value: 1, labels: { device: 'cuda:0', provider: 'cpu' } })]);
  const r = await postJson(`${t.url}/v2/models/digits/infer`, { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: digitsRows(1)[0] }] });
  expect(r.status).toBe(200);
});
