// The model repository under load: new versions are picked up with zero failed requests, a
// corrupt model leaves the previous version serving, and a broken model.json is reported.
import { cp, mkdir, rename, writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { getJson, postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { startLoad, sleep, waitFor } from './helpers/load.js';
import { digitsRows } from './helpers/ort.js';

const body = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: digitsRows(1)[0] }] };
let t: TestGateway | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

/** Writes a version directory the way a deploy should: build aside, then one rename. */
async function dropVersion(modelsDir: string, model: string, version: number, onnx: Buffer): Promise<void> {
  const staging = path.join(modelsDir, model, `.staging-${version}`);
  await mkdir(staging, { recursive: true });
  await writeFile(path.join(staging, 'model.onnx'), onnx);
  await rename(staging, path.join(modelsDir, model, String(version)));
}

const versionState = async (url: string, v: number) => (await getJson(`${url}/v2/models/digits/versions/${v}`)).json?.parameters?.state;

describe('model repository', () => {
  it('serves a new version directory dropped in under load with 0 failed requests', async () => {
    t = await startTestGateway({ models: ['digits'] });
    const load = startLoad(`${t.url}/v2/models/digits/infer`, body, 16);
    await sleep(300);
    await dropVersion(t.modelsDir, 'digits', 2, await readFile(path.join(t.modelsDir, 'digits/1/model.onnx')));
    await waitFor(async () => (await versionState(t!.url, 2)) === 'READY');
    await waitFor(() => (load.result.versions.get('2') ?? 0) > 50);
    const r = await load.stop();
    expect(r.failures).toEqual([]);
    expect(r.versions.get('1')).toBeGreaterThan(0);
    expect(r.versions.get('2')).toBeGreaterThan(50);
    // versionPolicy latest: 1 — the old version is unloaded once the new one serves.
    await waitFor(async () => (await versionState(t!.url, 1)) === 'UNAVAILABLE');
    expect((await getJson(`${t.url}/v2/models/digits`)).json.versions).toEqual(['2']);
    expect(t.logs.some((l) => l.msg === 'version READY' && l.version === 2)).toBe(true);
  });

  it('a corrupt model.onnx leaves the old version serving, and a fixed file is retried', async () => {
    t = await startTestGateway({ models: ['digits'] });
    const good = await readFile(path.join(t.modelsDir, 'digits/1/model.onnx'));
    const load = startLoad(`${t.url}/v2/models/digits/infer`, body, 8);
    await dropVersion(t.modelsDir, 'digits', 2, Buffer.from('this is not an onnx model'));
    await waitFor(async () => (await versionState(t!.url, 2)) === 'UNAVAILABLE');
    await sleep(500); // a few more polls: the failure must not be retried nor disturb v1
    const r = await load.stop();
    expect(r.failures).toEqual([]);
    expect([...r.versions.keys()]).toEqual(['1']);
    expect((await getJson(`${t.url}/v2/models/digits/versions/2`)).json.parameters.reason).toMatch(/./);
    expect(t.logs.filter((l) => l.msg === 'version UNAVAILABLE' && l.version === 2)).toHaveLength(1);
    expect((await getJson(`${t.url}/v2/health/ready`)).status).toBe(200);
    const v2 = await postJson(`${t.url}/v2/models/digits/versions/2/infer`, body);
    expect(v2).toMatchObject({ status: 503, json: { code: 'SLUICE_ERR_MODEL_NOT_READY' } });
    expect(v2.headers.get('retry-after')).toBe('1');
    // Replace the broken file: its identity changes, so the load is tried again.
    await writeFile(path.join(t.modelsDir, 'digits/2/model.onnx'), good);
    await waitFor(async () => (await versionState(t!.url, 2)) === 'READY');
    expect((await postJson(`${t.url}/v2/models/digits/infer`, body)).json.model_version).toBe('2');
  });

  it('a broken model.json edit is reported and the model keeps serving with its last good config', async () => {
    t = await startTestGateway({ models: ['digits'] });
    const file = path.join(t.modelsDir, 'digits/model.json');
    const good = await readFile(file, 'utf8');
    await writeFile(file, good.replace('"maxBatchSize": 64', '"maxBatchSize": "lots"'));
    await waitFor(() => t!.logs.some((l) => l.code === 'SLUICE_ERR_MODEL_CONFIG_INVALID'));
    const logged = t.logs.find((l) => l.code === 'SLUICE_ERR_MODEL_CONFIG_INVALID')!;
    expect(logged.details).toEqual(['/batching/maxBatchSize: must be an integer']);
    expect((await postJson(`${t.url}/v2/models/digits/infer`, body)).status).toBe(200);
  });

  it('a model with an invalid config at start is not served and is logged with its path', async () => {
    const { copyModels } = await import('./helpers/gateway.js');
    const dir = await copyModels(['digits', 'breast-cancer']);
    await cp(path.join(dir, 'digits'), path.join(dir, 'broken'), { recursive: true });
    await writeFile(path.join(dir, 'broken/model.json'), '{"name": "broken", "inputs": []}');
    t = await startTestGateway({ modelsDir: dir });
    expect(t.logs.find((l) => l.code === 'SLUICE_ERR_MODEL_CONFIG_INVALID')?.details).toEqual(
      expect.arrayContaining(['/inputs: must hold at least 1 item']),
    );
    expect((await postJson(`${t.url}/v2/models/broken/infer`, body)).json.code).toBe('SLUICE_ERR_MODEL_NOT_READY');
    expect((await postJson(`${t.url}/v2/models/digits/infer`, body)).status).toBe(200);
  });
});
