// Issue 15, faults while load runs: a corrupt model version dropped into the repository, and a
// truncated copy of the real model, while clients keep asking. Nothing fails or hangs: the
// broken version is UNAVAILABLE with its reason, and the version that served keeps serving.
// (A worker killed, or out of heap, under load: test/worker-fault.test.ts; SIGTERM under load:
// test/process.test.ts; promote and rollback under load: test/admin-routing.test.ts.)
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { getJson, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { sleep, startLoad, waitFor } from '../helpers/load.js';

let t: TestGateway;
const body = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: Array.from({ length: 64 }, (_, i) => (i * 11) % 17) }] };

beforeAll(async () => {
  t = await startTestGateway({ models: ['digits'] });
  // Let versions 1..3 load when they appear.
  const file = path.join(t.modelsDir, 'digits', 'model.json');
  const config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  await writeFile(file, `${JSON.stringify({ ...config, versionPolicy: { latest: 3 } }, null, 2)}\n`);
  await waitFor(async () => (await getJson(`${t.url}/v2/models/digits/versions/1/ready`)).status === 200);
});

afterAll(async () => {
  await t?.stop();
});

async function versionState(v: string): Promise<{ state?: string; reason?: string | null }> {
  const r = await getJson(`${t.url}/v2/models/digits/versions/${v}`);
  return ((r.json as { parameters?: object } | undefined)?.parameters ?? {}) as { state?: string; reason?: string | null };
}

it('a version of garbage bytes and one of a truncated real model, dropped in under load: no request fails or hangs, both are UNAVAILABLE with a reason, version 1 keeps answering', async () => {
  const load = startLoad(`${t.url}/v2/models/digits/infer`, body, 8, 60_000);
  await sleep(300);
  const dir = path.join(t.modelsDir, 'digits');
  await mkdir(path.join(dir, '2'));
  await writeFile(path.join(dir, '2', 'model.onnx'), Buffer.from('this is not an ONNX model'.repeat(40)));
  const real = await readFile(path.join(dir, '1', 'model.onnx'));
  await mkdir(path.join(dir, '3'));
  await writeFile(path.join(dir, '3', 'model.onnx'), real.subarray(0, Math.floor(real.length / 2)));
  await waitFor(async () => {
    const [a, b] = await Promise.all([versionState('2'), versionState('3')]);
    return a.state === 'UNAVAILABLE' && b.state === 'UNAVAILABLE';
  }, 20_000, 100);
  const atBroken = load.result.total;
  await waitFor(() => load.result.total - atBroken >= 200, 20_000);
  const r = await load.stop();
  expect(r.failures).toEqual([]);
  expect([...r.versions.keys()]).toEqual(['1']);
  for (const v of ['2', '3']) expect((await versionState(v)).reason, v).toEqual(expect.any(String));
  // The fix is picked up: a good model in version 3 loads and becomes the primary (highest READY).
  await copyFile(path.join(dir, '1', 'model.onnx'), path.join(dir, '3', 'model.onnx'));
  await waitFor(async () => (await versionState('3')).state === 'READY', 20_000, 100);
  const answered = await fetch(`${t.url}/v2/models/digits/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(((await answered.json()) as { model_version?: string }).model_version).toBe('3');
});
