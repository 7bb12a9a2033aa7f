// The prediction log end to end, on the real process: mixed models, protocols and statuses, some
// requests shadowed; SIGTERM; then the file holds exactly one line per answered request plus one
// per shadow answer, each with the version that answered, its model.onnx's sha256 and the status
// the client saw — and every line is valid against the published JSON Schema.
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { pack } from 'msgpackr';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyModels, MODELS, postJson, ROOT } from './helpers/gateway.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { breastRows, digitsRows } from './helpers/ort.js';
import { PREDICTION_RECORD_SCHEMA } from '../src/predlog/record.js';

const rows = digitsRows(64);
const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const DIGITS_SHA = sha(path.join(MODELS, 'digits/1/model.onnx'));
const CANCER_SHA = sha(path.join(MODELS, 'breast-cancer/1/model.onnx'));

let server: ServerProcess;
let url: string;
let logFile: string;
beforeAll(async () => {
  // digits: version 1 primary, version 2 (the same file) its 100% shadow.
  const dir = await copyModels(['digits', 'breast-cancer']);
  await cp(path.join(dir, 'digits/1'), path.join(dir, 'digits/2'), { recursive: true });
  const modelJson = path.join(dir, 'digits/model.json');
  await writeFile(modelJson, (await readFile(modelJson, 'utf8')).replace('"latest": 1', '"latest": 2'));
  await writeFile(path.join(dir, 'digits/routing.json'), JSON.stringify({ primary: '1', shadows: [{ version: '2', percent: 100 }] }));
  logFile = path.join(await mkdtemp(path.join(os.tmpdir(), 'sluice-predlog-')), 'predictions.log');
  server = spawnServer(['--host', '127.0.0.1', '--port', '0', '--models', dir, '--workers', '1', '--prediction-log', logFile, '--prediction-log-input-sample', '1']);
  url = `http://127.0.0.1:${await server.port}`;
  for (let i = 0; i < 200; i++) {
    if ((await fetch(`${url}/v2/health/ready`)).status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server never became ready');
}, 60_000);
afterAll(() => {
  server?.child.kill('SIGKILL');
});

/** What the client saw of each request: id (when it has one), model, version, status. */
interface Sent {
  id?: string;
  model: string;
  status: number;
  protocol: string;
  clientId?: string;
}

const pixels = (i: number) => ({ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: rows[i % rows.length] });

async function wsOnce(frames: object[]): Promise<any[]> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v2/ws`, { headers: { 'x-client-id': 'ws-app' } });
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  const answers: any[] = [];
  const done = new Promise<void>((resolve) =>
    ws.on('message', (m) => {
      answers.push(JSON.parse(String(m)));
      if (answers.length === frames.length) resolve();
    }),
  );
  for (const f of frames) ws.send(JSON.stringify(f));
  await done;
  ws.close();
  return answers;
}

describe('prediction log', () => {
  it('after SIGTERM holds exactly one line per answered request and per shadow answer, with version, sha256 and status', async () => {
    const sent: Sent[] = [];
    // 1. digits over JSON, 30 requests with ids, some with a client id: 200, mirrored.
    for (let i = 0; i < 30; i++) {
      const clientId = i % 3 === 0 ? `app-${i}` : undefined;
      const r = await postJson(`${url}/v2/models/digits/infer`, { id: `json-${i}`, inputs: [pixels(i)] }, clientId ? { 'x-client-id': clientId } : {});
      expect(r.status).toBe(200);
      sent.push({ id: `json-${i}`, model: 'digits', status: 200, protocol: 'http_json', ...(clientId ? { clientId } : {}) });
    }
    // 2. digits over msgpack, version 1 named explicitly: 200, not mirrored.
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${url}/v2/models/digits/versions/1/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/msgpack', 'x-request-id': `mp-${i}` },
        body: pack({ inputs: [pixels(i)] }),
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      sent.push({ id: `mp-${i}`, model: 'digits', status: 200, protocol: 'http_msgpack' });
    }
    // 3. breast-cancer by named features (/v1): 200.
    const features = JSON.parse(readFileSync(path.join(MODELS, 'breast-cancer/model.json'), 'utf8')).features as { name: string }[];
    const cancerRows = breastRows(5);
    for (let i = 0; i < 5; i++) {
      const values = cancerRows[i]!;
      const instance = Object.fromEntries(features.map((f, k) => [f.name, values[k]]));
      const r = await postJson(`${url}/v1/models/breast-cancer:predict`, { instances: [instance] }, { 'x-request-id': `v1-${i}` });
      expect(r.status).toBe(200);
      sent.push({ id: `v1-${i}`, model: 'breast-cancer', status: 200, protocol: 'http_v1' });
    }
    // 4. refusals: a wrong shape (400), an unknown model (404), an unsupported content type (415).
    for (let i = 0; i < 4; i++) {
      const r = await postJson(`${url}/v2/models/digits/infer`, { id: `bad-${i}`, inputs: [{ ...pixels(i), shape: [1, 63] }] });
      expect(r.status).toBe(400);
      sent.push({ id: `bad-${i}`, model: 'digits', status: 400, protocol: 'http_json' });
    }
    for (let i = 0; i < 3; i++) {
      const r = await postJson(`${url}/v2/models/no-such-model/infer`, { inputs: [pixels(i)] }, { 'x-request-id': `nf-${i}` });
      expect(r.status).toBe(404);
      sent.push({ id: `nf-${i}`, model: 'no-such-model', status: 404, protocol: 'http_json' });
    }
    const ct = await fetch(`${url}/v2/models/digits/infer`, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-request-id': 'ct-0' }, body: 'x' });
    expect(ct.status).toBe(415);
    sent.push({ id: 'ct-0', model: 'digits', status: 415, protocol: 'http_json' });
    // 5. WebSocket: 8 answered frames (mirrored), 1 refused (shape).
    const frames = [...Array.from({ length: 8 }, (_, i) => ({ model_name: 'digits', id: `ws-${i}`, inputs: [pixels(i)] })), { model_name: 'digits', id: 'ws-bad', inputs: [{ ...pixels(0), shape: [2, 64] }] }];
    const answers = await wsOnce(frames);
    expect(answers.filter((a) => a.outputs !== undefined)).toHaveLength(8);
    for (let i = 0; i < 8; i++) sent.push({ id: `ws-${i}`, model: 'digits', status: 200, protocol: 'ws_json', clientId: 'ws-app' });
    sent.push({ id: 'ws-bad', model: 'digits', status: 400, protocol: 'ws_json', clientId: 'ws-app' });

    server.child.kill('SIGTERM');
    const exit = await server.exited;
    expect(exit.code).toBe(0);

    const lines = (await readFile(logFile, 'utf8')).split('\n').filter((l) => l !== '');
    const records = lines.map((l) => JSON.parse(l));
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true, formats: { 'date-time': true } });
    const validate = ajv.compile(PREDICTION_RECORD_SCHEMA);
    for (const r of records) expect(validate(r) ? [] : validate.errors).toEqual([]);
    // The published schema is this module's.
    expect(JSON.parse(await readFile(path.join(ROOT, 'docs/prediction-log.schema.json'), 'utf8'))).toEqual(PREDICTION_RECORD_SCHEMA);

    const primary = records.filter((r) => !r.shadow);
    const shadow = records.filter((r) => r.shadow);
    expect(primary).toHaveLength(sent.length);
    // Mirrored: the 30 unversioned JSON requests and the 8 WebSocket ones that answered.
    expect(shadow).toHaveLength(38);
    expect(new Set(records.map((r) => r.seq)).size).toBe(records.length);
    expect(Math.max(...records.map((r) => r.seq))).toBe(records.length - 1);

    const byId = new Map(primary.map((r) => [r.id, r]));
    for (const s of sent) {
      const r = byId.get(s.id);
      expect(r, s.id).toBeDefined();
      expect({ id: r.id, model: r.model, status: r.status, protocol: r.protocol, client_id: r.client_id }).toEqual({
        id: s.id,
        model: s.model,
        status: s.status,
        protocol: s.protocol,
        client_id: s.clientId,
      });
      if (s.status === 200) {
        expect(r.version).toBe('1');
        expect(r.sha256).toBe(s.model === 'digits' ? DIGITS_SHA : CANCER_SHA);
        expect(r.code).toBe('OK');
        expect(r.outputs.length).toBeGreaterThan(0);
        expect(r.inputs.length).toBe(1); // sampled at 1
        expect(r.batch_size).toBeGreaterThanOrEqual(1);
      } else {
        expect(r.code).toMatch(/^SLUICE_ERR_/);
        expect(r.outputs).toEqual([]);
      }
    }
    expect(byId.get('nf-0').version).toBeNull();
    expect(byId.get('json-1').inputs[0].data).toEqual(rows[1]);
    for (const r of shadow) {
      expect(r.version).toBe('2');
      expect(r.sha256).toBe(DIGITS_SHA);
      expect(r.primary_id).toBe(r.id);
      expect(byId.get(r.id).status).toBe(200);
      // Equal files: the shadow answered what the primary answered.
      expect(r.outputs).toEqual(byId.get(r.id).outputs);
    }
  }, 60_000);
});
