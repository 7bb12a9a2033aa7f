// The access log (src/logging/access-log.ts) through the real gateway: one line per answered
// inference request — HTTP success and refusals, WebSocket — none for shadow answers, flushed by
// shutdown; off by default; a path it cannot open refuses the start.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import type { PredictionEvent } from '../src/dataplane/prediction-event.js';
import { copyModels, postJson, startTestGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/load.js';
import { digitsRows } from './helpers/ort.js';
import { spawnServer } from './helpers/process.js';

const rows = digitsRows(4);
const pixels = (i: number, shape = [1, 64]) => ({ name: 'pixels', datatype: 'FP32', shape, data: rows[i]! });
const temps: string[] = [];
afterAll(async () => {
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** digits version 1 primary, version 2 (the same file) its 100% shadow. */
async function shadowedDigits(): Promise<string> {
  const dir = await copyModels(['digits'], await tempDir('sluice-access-models-'));
  await cp(path.join(dir, 'digits/1'), path.join(dir, 'digits/2'), { recursive: true });
  const modelJson = path.join(dir, 'digits/model.json');
  await writeFile(modelJson, (await readFile(modelJson, 'utf8')).replace('"latest": 1', '"latest": 2'));
  await writeFile(path.join(dir, 'digits/routing.json'), JSON.stringify({ primary: '1', shadows: [{ version: '2', percent: 100 }] }));
  return dir;
}

async function wsOnce(url: string, frame: object): Promise<any> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v2/ws`, { headers: { 'x-client-id': 'ws-app' } });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const answer = new Promise<any>((resolve) => ws.once('message', (m) => resolve(JSON.parse(String(m)))));
  ws.send(JSON.stringify(frame));
  const a = await answer;
  ws.close();
  return a;
}

const isAccessLine = (l: Record<string, unknown>): boolean => 'method' in l && 'total_us' in l;
const jsonLines = (text: string): Record<string, unknown>[] => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));

describe('access log', () => {
  it('holds exactly one line per answered request (HTTP and WebSocket, success and refusal), none per shadow answer', async () => {
    const file = path.join(await tempDir('sluice-access-'), 'access.log');
    const t = await startTestGateway({ modelsDir: await shadowedDigits(), config: { accessLog: file } });
    const events: PredictionEvent[] = [];
    t.gw.dataplane.addObserver((e) => void events.push(e));
    try {
      const ok = await postJson(`${t.url}/v2/models/digits/infer`, { inputs: [pixels(0)] }, { 'x-request-id': 'ok-1', 'x-client-id': 'web' });
      expect(ok.status).toBe(200);
      const bad = await postJson(`${t.url}/v2/models/digits/infer`, { inputs: [pixels(1, [1, 63])] }, { 'x-request-id': 'bad-1' });
      expect(bad.status).toBe(400);
      const unknown = await postJson(`${t.url}/v2/models/no-such-model/infer`, { inputs: [pixels(2)] }, { 'x-request-id': 'nf-1' });
      expect(unknown.status).toBe(404);
      const ws = await wsOnce(t.url, { model_name: 'digits', id: 'ws-1', inputs: [pixels(3)] });
      expect(ws).toMatchObject({ id: 'ws-1', model_version: '1' });
      // Both answered requests were mirrored: the shadow answers reached the observers.
      await waitFor(() => events.filter((e) => e.shadow).length >= 2);
      expect(events.filter((e) => e.shadow)).toHaveLength(2);
    } finally {
      await t.stop();
    }

    const lines = jsonLines(await readFile(file, 'utf8'));
    expect(lines.map((l) => l.id)).toEqual(['ok-1', 'bad-1', 'nf-1', 'ws-1']);
    const [okLine, badLine, nfLine, wsLine] = lines;
    expect(okLine).toEqual({
      level: 30,
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      method: 'POST',
      path: '/v2/models/digits/infer',
      status: 200,
      code: 'OK',
      model: 'digits',
      version: '1',
      total_us: expect.any(Number),
      id: 'ok-1',
      protocol: 'http_json',
      client_id: 'web',
    });
    expect(badLine).toMatchObject({ method: 'POST', path: '/v2/models/digits/infer', status: 400, code: 'SLUICE_ERR_INPUT_SHAPE', model: 'digits', version: '1', protocol: 'http_json' });
    expect(badLine).not.toHaveProperty('client_id');
    expect(nfLine).toMatchObject({ method: 'POST', path: '/v2/models/no-such-model/infer', status: 404, code: 'SLUICE_ERR_MODEL_NOT_FOUND', model: 'no-such-model', version: null });
    expect(wsLine).toMatchObject({ method: 'WS', path: '/v2/ws', status: 200, code: 'OK', model: 'digits', version: '1', protocol: 'ws_json', client_id: 'ws-app' });
    for (const l of lines) {
      expect(Number.isInteger(l.total_us)).toBe(true);
      expect(l.total_us as number).toBeGreaterThan(0);
    }
    // Nothing of the access log leaked into the application log.
    expect(t.logs.filter(isAccessLine)).toEqual([]);
  }, 60_000);

  it('writes to stdout when asked, and nothing at all by default', async () => {
    const models = await copyModels(['digits'], await tempDir('sluice-access-models-'));
    const run = async (extra: string[]) => {
      const server = spawnServer(['--host', '127.0.0.1', '--port', '0', '--models', models, '--workers', '1', ...extra]);
      try {
        const url = `http://127.0.0.1:${await server.port}`;
        await waitReady(url);
        const r = await postJson(`${url}/v2/models/digits/infer`, { inputs: [pixels(0)] }, { 'x-request-id': 'p-1' });
        expect(r.status).toBe(200);
      } finally {
        server.child.kill('SIGTERM');
      }
      expect((await server.exited).code).toBe(0);
      await server.closed;
      return server.logs.filter(isAccessLine);
    };
    expect(await run([])).toEqual([]);
    expect(await run(['--access-log', 'stdout'])).toMatchObject([{ method: 'POST', path: '/v2/models/digits/infer', status: 200, id: 'p-1', version: '1' }]);
  }, 60_000);

  it('refuses to start when the file cannot be opened', async () => {
    const missing = path.join(await tempDir('sluice-access-'), 'no-such-dir', 'access.log');
    const server = spawnServer(['--host', '127.0.0.1', '--port', '0', '--models', await tempDir('sluice-access-models-'), '--access-log', missing]);
    expect((await server.exited).code).toBe(1);
    await server.closed;
    expect(server.stderrChunks.join('')).toContain(`sluice: SLUICE_ERR_CONFIG_INVALID: --access-log ${missing}: cannot open the file for appending (ENOENT)`);
  }, 30_000);
});

const waitReady = (url: string): Promise<void> => waitFor(async () => (await fetch(`${url}/v2/health/ready`)).status === 200);
