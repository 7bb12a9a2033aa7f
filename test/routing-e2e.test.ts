// routing.json in a running gateway: the primary it names answers unversioned requests, a change
// on disk is picked up by the watcher, an explicit version bypasses it, a corrupt file falls back
// to the newest READY version with one warning and is left as it is, and routing survives a restart.
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { copyModels, postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/load.js';
import { digitsRows } from './helpers/ort.js';

const body = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: digitsRows(1)[0] }] };
let t: TestGateway | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

/** digits with versions 1 and 2 (same weights) and both served (versionPolicy latest 2). */
async function twoVersions(): Promise<string> {
  const dir = await copyModels(['digits']);
  await cp(path.join(dir, 'digits/1'), path.join(dir, 'digits/2'), { recursive: true });
  const file = path.join(dir, 'digits/model.json');
  await writeFile(file, (await readFile(file, 'utf8')).replace('"latest": 1', '"latest": 2'));
  return dir;
}

const versionOf = async (url: string, suffix = '') => (await postJson(`${url}/v2/models/digits${suffix}/infer`, body)).json.model_version;

it('the primary named in routing.json answers; a change on disk is picked up; an explicit version bypasses it; it survives a restart', async () => {
  const dir = await twoVersions();
  await writeFile(path.join(dir, 'digits/routing.json'), '{"primary": "1"}\n');
  t = await startTestGateway({ modelsDir: dir, config: { pollIntervalMs: 100 } });
  expect(await versionOf(t.url)).toBe('1');
  expect(await versionOf(t.url, '/versions/2')).toBe('2');
  expect(t.logs.some((l) => l.msg === 'routing loaded' && l.model === 'digits')).toBe(true);
  // Another replica (or an operator) changes the file: picked up at the next scan.
  await writeFile(path.join(dir, 'digits/routing.json'), '{"primary": "2"}\n');
  await waitFor(async () => (await versionOf(t!.url)) === '2');
  await t.stop();
  t = await startTestGateway({ modelsDir: dir, config: { pollIntervalMs: 100 } });
  expect(await versionOf(t.url)).toBe('2');
  await writeFile(path.join(dir, 'digits/routing.json'), '{"primary": "1"}\n');
  await waitFor(async () => (await versionOf(t!.url)) === '1');
});

it('a corrupt routing.json: the newest READY version answers, one warning, the file is left byte for byte', async () => {
  const dir = await twoVersions();
  const corrupt = '{"primary": "1", "shadows": [{"version": "2", "percent": 250}]}\n';
  await writeFile(path.join(dir, 'digits/routing.json'), corrupt);
  t = await startTestGateway({ modelsDir: dir, config: { pollIntervalMs: 100 } });
  expect(await versionOf(t.url)).toBe('2');
  await new Promise((r) => setTimeout(r, 400)); // a few more scans: still one warning
  const warnings = t.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('routing.json is invalid'));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]!.msg).toBe(
    'routing.json is invalid (invalid routing: /shadows/0/percent: must be a share from 0 to 100); the newest READY version answers, no shadows, until it is fixed',
  );
  expect(await readFile(path.join(dir, 'digits/routing.json'), 'utf8')).toBe(corrupt);
  // Fixing it takes effect without a restart.
  await writeFile(path.join(dir, 'digits/routing.json'), '{"primary": "1"}\n');
  await waitFor(async () => (await versionOf(t!.url)) === '1');
});

it('a primary the repository does not have is refused (404), not silently served by another version', async () => {
  const dir = await twoVersions();
  await writeFile(path.join(dir, 'digits/routing.json'), '{"primary": "7"}\n');
  t = await startTestGateway({ modelsDir: dir });
  const r = await postJson(`${t.url}/v2/models/digits/infer`, body);
  expect(r.status).toBe(404);
  expect(r.json.code).toBe('SLUICE_ERR_MODEL_VERSION_NOT_FOUND');
  expect(await versionOf(t.url, '/versions/1')).toBe('1');
});
