// The model repository's life as an operator sees it: a --models typo refuses to start, an empty
// repository starts unready and fills, a deleted model is forgotten (404), a broken model.json
// edit changes nothing that serves, and one broken model under each readiness policy.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type * as ConfigModule from '../src/config/config.js';
import type * as GatewayModule from '../src/gateway.js';
import { copyModels, getJson, postJson, ROOT, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { sleep, startLoad, waitFor } from './helpers/load.js';
import { breastRows, digitsRows } from './helpers/ort.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';

const { startGateway } = (await import(path.join(ROOT, 'dist/src/gateway.js'))) as typeof GatewayModule;
const { loadConfig } = (await import(path.join(ROOT, 'dist/src/config/config.js'))) as typeof ConfigModule;

const digitsBody = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: digitsRows(1)[0] }] };
const breastBody = { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 30], data: breastRows(1)[0] }] };
const POLL_MS = 200;

let t: TestGateway | undefined;
const dirs: string[] = [];
const spawned: ServerProcess[] = [];
afterEach(async () => {
  await t?.stop();
  t = undefined;
});
afterAll(async () => {
  for (const s of spawned) s.child.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempRepo(names: string[] = []): Promise<string> {
  const dir = await copyModels(names);
  dirs.push(dir);
  return dir;
}

/** Replaces a file the way a deploy should (write aside, one rename), so no poll reads it half-written. */
async function replaceFile(file: string, text: string | Buffer): Promise<void> {
  const aside = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  await writeFile(aside, text);
  await rename(aside, file);
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const stateLines = (logs: Record<string, unknown>[], model: string) =>
  logs.filter((l) => l.model === model && typeof l.msg === 'string' && l.msg.startsWith('version '));

describe('repository lifecycle', () => {
  it('a missing --models directory: the process exits 1 with one line on stderr and never listens', async () => {
    const missing = path.join(os.tmpdir(), `sluice-no-such-repo-${process.pid}`);
    const s = spawnServer(['--host', '127.0.0.1', '--port', '0', '--models', missing]);
    spawned.push(s);
    const exit = await Promise.race([s.exited, sleep(20_000).then(() => 'still running')]);
    await s.closed;
    expect(exit).toEqual({ code: 1, signal: null });
    expect(s.stderrChunks.join('')).toBe(
      `sluice: SLUICE_ERR_REPOSITORY_NOT_FOUND: model repository ${missing} does not exist (--models / SLUICE_MODELS)\n`,
    );
    expect(s.logs.map((l) => l.msg)).not.toContain('listening');
  });

  it('a missing --models directory: startGateway rejects with the code and leaves no listener', async () => {
    const missing = path.join(os.tmpdir(), `sluice-no-such-repo-${process.pid}`);
    const port = await freePort();
    const lines: string[] = [];
    const sink = { write: (s: string) => lines.push(s) };
    const config = loadConfig([], {}, { host: '127.0.0.1', port, modelsDir: missing, workers: 1 });
    const err = await startGateway(config, { logDestination: sink }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'SluiceError', code: 'SLUICE_ERR_REPOSITORY_NOT_FOUND', status: 500 });
    expect((err as Error).message).toBe(`model repository ${missing} does not exist (--models / SLUICE_MODELS)`);
    // Had it listened before checking, the port would still answer.
    const probe = await fetch(`http://127.0.0.1:${port}/v2/health/live`).catch((e: { cause?: { code?: string } }) => e.cause?.code);
    expect(probe).toBe('ECONNREFUSED');
    expect(lines.join('')).not.toContain('"listening"');
  });

  it('an empty directory starts unready (live 200, ready 503) and turns ready when a model is copied in', async () => {
    const dir = await tempRepo();
    t = await startTestGateway({ modelsDir: dir, config: { pollIntervalMs: POLL_MS } });
    expect(t.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('the model repository is empty'))).toMatchObject({ level: 40, root: dir });
    expect(await getJson(`${t.url}/v2/health/live`)).toMatchObject({ status: 200, json: { live: true } });
    expect(await getJson(`${t.url}/v2/health/ready`)).toMatchObject({ status: 503, json: { ready: false } });
    // A few polls over an empty directory do not change that.
    await sleep(3 * POLL_MS);
    expect((await getJson(`${t.url}/v2/health/ready`)).status).toBe(503);

    // Build the model aside, then one rename into the repository.
    const staging = await tempRepo(['digits']);
    await rename(path.join(staging, 'digits'), path.join(dir, 'digits'));
    await waitFor(async () => (await getJson(`${t!.url}/v2/health/ready`)).status === 200, 20_000);
    const r = await postJson(`${t.url}/v2/models/digits/infer`, digitsBody);
    expect(r).toMatchObject({ status: 200, json: { model_name: 'digits', model_version: '1' } });
    expect(stateLines(t.logs, 'digits').map((l) => [l.msg, l.previous, l.reason])).toEqual([
      ['version LOADING', 'UNKNOWN', 'new version'],
      ['version READY', 'LOADING', 'loaded and warmed up in every worker'],
    ]);
  });

  it('a deleted model directory is forgotten: 404 MODEL_NOT_FOUND everywhere, "model removed", the other model serves', async () => {
    t = await startTestGateway({ models: ['digits', 'breast-cancer'], config: { pollIntervalMs: POLL_MS } });
    expect((await postJson(`${t.url}/v2/models/breast-cancer/infer`, breastBody)).status).toBe(200);
    await rm(path.join(t.modelsDir, 'breast-cancer'), { recursive: true });

    const url = t.url;
    await waitFor(async () => (await getJson(`${url}/v2/models/breast-cancer`)).status === 404, 5_000);
    const notFound = { code: 'SLUICE_ERR_MODEL_NOT_FOUND', error: 'unknown model "breast-cancer"' };
    expect(await getJson(`${url}/v2/models/breast-cancer`)).toMatchObject({ status: 404, json: notFound });
    expect(await getJson(`${url}/v2/models/breast-cancer/ready`)).toMatchObject({ status: 404, json: notFound });
    expect(await getJson(`${url}/v2/models/breast-cancer/versions/1`)).toMatchObject({ status: 404, json: notFound });
    expect(await postJson(`${url}/v2/models/breast-cancer/infer`, breastBody)).toMatchObject({ status: 404, json: notFound });

    const removed = t.logs.filter((l) => l.msg === 'model removed');
    expect(removed).toEqual([expect.objectContaining({ model: 'breast-cancer', reason: expect.any(String) })]);
    // Its version unloaded on the way out, each step one line with its reason. (`rm -r` is not
    // atomic: a poll between its unlinks may see model.onnx gone first, which words the reason
    // differently, so only its shape is pinned.)
    expect(stateLines(t.logs, 'breast-cancer').slice(-2).map((l) => [l.msg, l.previous, l.reason])).toEqual([
      ['version UNLOADING', 'READY', expect.stringMatching(/\S/)],
      ['version UNAVAILABLE', 'UNLOADING', expect.stringMatching(/^unloaded: \S/)],
    ]);

    expect(await postJson(`${url}/v2/models/digits/infer`, digitsBody)).toMatchObject({ status: 200, json: { model_name: 'digits' } });
    expect((await getJson(`${url}/v2/models/digits`)).status).toBe(200);
    expect((await getJson(`${url}/v2/health/ready`)).status).toBe(200);
    expect(stateLines(t.logs, 'digits').map((l) => l.msg)).toEqual(['version LOADING', 'version READY']);
  });

  it('an invalid model.json edit changes nothing that serves; the fix clears the error; a valid change reloads', async () => {
    t = await startTestGateway({ models: ['digits'], config: { pollIntervalMs: POLL_MS } });
    const url = t.url;
    const file = path.join(t.modelsDir, 'digits/model.json');
    const original = await readFile(file, 'utf8');
    expect(original).toContain('"maxBatchSize": 64');
    const reloadLines = (from: number) =>
      t!.logs.slice(from).filter((l) => l.model === 'digits' && (l.msg === 'version READY' || l.msg === 'version LOADING'));
    const configErrors = (from: number) => t!.logs.slice(from).filter((l) => l.model === 'digits' && l.level === 50);
    const load = startLoad(`${url}/v2/models/digits/infer`, digitsBody, 4);
    await sleep(POLL_MS);

    // 1. A schema error.
    const atEdit = t.logs.length;
    await replaceFile(file, original.replace('"maxBatchSize": 64', '"maxBatchSize": "lots"'));
    await waitFor(() => configErrors(atEdit).length > 0, 5_000);
    await sleep(4 * POLL_MS); // more polls: the same bad text is not reported again, nothing reloads
    expect(configErrors(atEdit)).toEqual([
      expect.objectContaining({ code: 'SLUICE_ERR_MODEL_CONFIG_INVALID', details: ['/batching/maxBatchSize: must be an integer'] }),
    ]);
    expect(reloadLines(atEdit)).toEqual([]);
    const meta = await getJson(`${url}/v2/models/digits`);
    expect(meta.status).toBe(200);
    expect(meta.json.parameters).toMatchObject({ state: 'READY', config_error: { code: 'SLUICE_ERR_MODEL_CONFIG_INVALID' } });
    expect(meta.json.parameters.config_error.details).toEqual([expect.stringMatching(/^\/batching\/maxBatchSize: /)]);
    // The last valid config stays in force.
    expect((await getJson(`${url}/v2/models/digits/config`)).json.batching).toMatchObject({ maxBatchSize: 64, maxQueueDelayUs: 2000 });

    // 2. The original text back: the error is gone, and it is the config in force, so no reload.
    const atFix = t.logs.length;
    await replaceFile(file, original);
    await waitFor(async () => (await getJson(`${url}/v2/models/digits`)).json.parameters?.config_error === undefined, 5_000);
    await sleep(3 * POLL_MS);
    expect((await getJson(`${url}/v2/models/digits`)).json.parameters).toMatchObject({ state: 'READY', version: '1' });
    expect(t.logs.slice(atFix).filter((l) => l.model === 'digits').map((l) => l.msg)).toEqual(['model.json valid again']);
    expect(reloadLines(atEdit)).toEqual([]);

    // 3. A valid change: the version reloads with it, under load.
    const atChange = t.logs.length;
    await replaceFile(file, original.replace('"maxQueueDelayUs": 2000', '"maxQueueDelayUs": 3000'));
    await waitFor(() => reloadLines(atChange).length > 0, 20_000);
    expect(reloadLines(atChange)).toEqual([
      expect.objectContaining({ msg: 'version READY', version: 1, state: 'READY', previous: 'READY', reason: 'reloaded with changed files' }),
    ]);
    expect((await getJson(`${url}/v2/models/digits/config`)).json.batching).toMatchObject({ maxBatchSize: 64, maxQueueDelayUs: 3000 });
    await sleep(POLL_MS);
    const r = await load.stop();
    expect(r.total).toBeGreaterThan(20);
    expect(r.failures).toEqual([]);
    expect(configErrors(atFix)).toEqual([]);
  });
});

/** A repository with digits, breast-cancer and `broken` (garbage model.onnx, model.json optional). */
async function repoWithBroken(brokenModelJson?: object): Promise<string> {
  const dir = await tempRepo(['digits', 'breast-cancer']);
  await mkdir(path.join(dir, 'broken/1'), { recursive: true });
  await writeFile(path.join(dir, 'broken/1/model.onnx'), 'these bytes are not an ONNX model');
  if (brokenModelJson) await writeFile(path.join(dir, 'broken/model.json'), JSON.stringify(brokenModelJson));
  return dir;
}

describe('one broken model beside good ones, under each readiness policy', () => {
  it.each([
    { readyWhen: 'any' as const, brokenModelJson: undefined, ready: 200 },
    { readyWhen: 'all' as const, brokenModelJson: undefined, ready: 503 },
    { readyWhen: 'any' as const, brokenModelJson: { required: true }, ready: 503 },
    { readyWhen: 'all' as const, brokenModelJson: { required: false }, ready: 200 },
  ])('readyWhen $readyWhen, broken model.json $brokenModelJson: ready $ready', async ({ readyWhen, brokenModelJson, ready }) => {
    t = await startTestGateway({ modelsDir: await repoWithBroken(brokenModelJson), config: { readyWhen, pollIntervalMs: POLL_MS } });
    expect(await getJson(`${t.url}/v2/health/ready`)).toMatchObject({ status: ready, json: { ready: ready === 200 } });
    expect(await postJson(`${t.url}/v2/models/digits/infer`, digitsBody)).toMatchObject({ status: 200, json: { model_name: 'digits' } });
    expect(await postJson(`${t.url}/v2/models/breast-cancer/infer`, breastBody)).toMatchObject({ status: 200, json: { model_name: 'breast-cancer' } });

    const broken = await getJson(`${t.url}/v2/models/broken/versions/1`);
    expect(broken.status).toBe(200);
    expect(broken.json.parameters).toMatchObject({
      version: '1',
      state: 'UNAVAILABLE',
      reason: 'ONNX Runtime could not open the model: Load model from model.onnx failed:Protobuf parsing failed.',
    });
    expect(broken.json.parameters.config_error).toBeUndefined();
    expect(await getJson(`${t.url}/v2/models/broken/ready`)).toMatchObject({ status: 503, json: { name: 'broken', ready: false } });
    expect(await postJson(`${t.url}/v2/models/broken/infer`, digitsBody)).toMatchObject({ status: 503, json: { code: 'SLUICE_ERR_MODEL_NOT_READY' } });

    // Every state change is one line with its reason.
    const lines = (m: string) => stateLines(t!.logs, m).map((l) => ({ msg: l.msg, version: l.version, state: l.state, previous: l.previous, reason: l.reason }));
    expect(lines('broken')).toEqual([
      { msg: 'version LOADING', version: 1, state: 'LOADING', previous: 'UNKNOWN', reason: 'new version' },
      { msg: 'version UNAVAILABLE', version: 1, state: 'UNAVAILABLE', previous: 'LOADING', reason: broken.json.parameters.reason },
    ]);
    expect(stateLines(t.logs, 'broken')[1]).toMatchObject({ level: 50, code: 'SLUICE_ERR_MODEL_LOAD_FAILED' });
    for (const m of ['digits', 'breast-cancer']) {
      expect(lines(m)).toEqual([
        { msg: 'version LOADING', version: 1, state: 'LOADING', previous: 'UNKNOWN', reason: 'new version' },
        { msg: 'version READY', version: 1, state: 'READY', previous: 'LOADING', reason: 'loaded and warmed up in every worker' },
      ]);
    }
  });
});
