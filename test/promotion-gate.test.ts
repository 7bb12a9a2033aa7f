// The promotion gate in model.json: a shadow that meets its thresholds is promoted by itself,
// not before, and the decision is recorded with its numbers; a gate it cannot meet never fires.
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { copyModels, postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { sleep, waitFor } from './helpers/load.js';
import { digitsRows } from './helpers/ort.js';

const rows = digitsRows(100);
let t: TestGateway | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function repo(gate: object): Promise<string> {
  const dir = await copyModels(['digits']);
  await cp(path.join(dir, 'digits/1'), path.join(dir, 'digits/2'), { recursive: true });
  const file = path.join(dir, 'digits/model.json');
  const config = JSON.parse(await readFile(file, 'utf8'));
  await writeFile(file, JSON.stringify({ ...config, versionPolicy: { latest: 2 }, promotionGate: gate }));
  await writeFile(path.join(dir, 'digits/routing.json'), JSON.stringify({ primary: '1', shadows: [{ version: '2', percent: 100 }] }));
  return dir;
}

async function send(from: number, to: number): Promise<string[]> {
  const versions: string[] = [];
  for (let i = from; i < to; i++) {
    const r = await postJson(`${t!.url}/v2/models/digits/infer`, { id: `g-${i}`, inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: rows[i % rows.length] }] });
    expect(r.status).toBe(200);
    versions.push(r.json.model_version);
  }
  return versions;
}

const compared = () => t!.gw.shadows.report('digits').pairs[0]?.compared ?? 0;

it('promotes the shadow once it was compared minSamples times with enough agreement, not before', async () => {
  t = await startTestGateway({ modelsDir: await repo({ minSamples: 40, minAgreement: 0.99 }) });
  expect(await send(0, 39)).toEqual(new Array(39).fill('1'));
  await waitFor(() => compared() === 39);
  await sleep(100);
  expect(t.gw.events.list('digits')).toEqual([]);
  await send(39, 41);
  await waitFor(async () => (await send(41, 42))[0] === '2');
  const [event] = t.gw.events.list('digits');
  expect(event).toMatchObject({ kind: 'gate', by: 'gate', from: '1', to: '2', numbers: { compared: 40, agreement: 1 } });
  expect(event!.reason).toBe('version 2 promoted to primary, replacing 1 (promotion gate passed: compared >= 40, agreement >= 0.99)');
  // routing.json on disk says so too, with the old primary kept for rollback.
  expect(JSON.parse(await readFile(path.join(t.modelsDir, 'digits/routing.json'), 'utf8'))).toEqual({ primary: '2', shadows: [], previousPrimary: '1' });
  expect(t.logs.some((l) => l.msg === 'model event' && (l.event as { kind?: string } | undefined)?.kind === 'gate')).toBe(true);
});

it('a gate that asks for an accuracy gain the shadow does not have never promotes, labels or not', async () => {
  t = await startTestGateway({ modelsDir: await repo({ minSamples: 10, minLabeled: 10, minAccuracyGain: 0.01 }) });
  await send(0, 30);
  await waitFor(() => compared() === 30);
  const labels = Array.from({ length: 30 }, (_, i) => ({ id: `g-${i}`, label: 0 }));
  expect((await postJson(`${t.url}/v2/models/digits/feedback`, labels)).json.accepted).toBe(30);
  expect(t.gw.shadows.report('digits').pairs[0]!.labeled).toBe(30);
  await sleep(200);
  expect(t.gw.events.list('digits')).toEqual([]);
  expect(await send(30, 31)).toEqual(['1']);
});
