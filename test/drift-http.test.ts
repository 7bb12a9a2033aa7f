// Drift, live accuracy and the retrain trigger through a real gateway: GET /v2/models/{m}/drift
// (a version with a reference.json, one without, an unknown model), the drift and accuracy series
// read back from /metrics with a Prometheus text parser, the feedback log read back, and the admin
// retrain calls: the event with its command's outcome, 409 while cooling down (with Retry-After),
// 409 for a model without a retrain section, 401 without the token.
import { readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerOf, copyModels, postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/load.js';
import { breastRows } from './helpers/ort.js';
import { scrape } from './helpers/prometheus.js';

const TOKEN = 'drift-test-token';
const rows = breastRows(60);
let t: TestGateway;
let adminUrl: string;
let feedbackLog: string;
let marker: string;

beforeAll(async () => {
  const dir = await copyModels(['breast-cancer', 'digits']);
  // digits serves without a reference.json; breast-cancer gets a trigger whose command leaves a mark.
  await rm(path.join(dir, 'digits/1/reference.json'));
  marker = path.join(os.tmpdir(), `sluice-retrain-mark-${process.pid}`);
  const file = path.join(dir, 'breast-cancer/model.json');
  const config = JSON.parse(await readFile(file, 'utf8'));
  const script = `require('fs').writeFileSync(${JSON.stringify(marker)}, process.env.SLUICE_RETRAIN_MODEL + ' ' + JSON.parse(require('fs').readFileSync(0, 'utf8')).reason)`;
  await writeFile(file, JSON.stringify({ ...config, drift: { windowRows: 20 }, retrain: { onDrift: false, cooldownSeconds: 120, command: { argv: ['node', '-e', script], timeoutMs: 10_000 } } }));
  feedbackLog = path.join(dir, 'feedback.log');
  t = await startTestGateway({ modelsDir: dir, config: { adminToken: TOKEN, adminPort: 0, feedbackLog } });
  adminUrl = `http://127.0.0.1:${t.gw.adminPort}`;
});
afterAll(async () => {
  await t?.stop();
  await rm(marker, { force: true });
});

const auth = { authorization: `Bearer ${TOKEN}` };
const get = async (url: string, headers: Record<string, string> = {}) => answerOf(await fetch(url, { headers }));

describe('drift report, accuracy and metrics', () => {
  beforeAll(async () => {
    for (let i = 0; i < rows.length; i++) {
      const r = await postJson(`${t.url}/v2/models/breast-cancer/infer`, { id: `d-${i}`, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 30], data: rows[i] }] });
      expect(r.status).toBe(200);
      const predicted = r.json.outputs.find((o: { name: string }) => o.name === 'label').data[0];
      // Every fourth label contradicts the model: live accuracy 0.75.
      const fb = await postJson(`${t.url}/v2/models/breast-cancer/feedback`, { id: `d-${i}`, label: i % 4 === 0 ? 1 - predicted : predicted });
      expect(fb.json).toEqual({ accepted: 1, refused: [] });
    }
    await postJson(`${t.url}/v2/models/digits/infer`, { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: new Array(64).fill(1) }] });
  });

  it('reports each feature and output over both windows, with the window sizes and the score', async () => {
    await waitFor(async () => (await get(`${t.url}/v2/models/breast-cancer/drift`)).json.versions[0].rows === rows.length);
    const r = await get(`${t.url}/v2/models/breast-cancer/drift`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ model: 'breast-cancer', primary: '1', retrain: true, settings: { windowRows: 20, windowSeconds: 300, threshold: 0.25, consecutiveWindows: 3 } });
    const v = r.json.versions[0];
    expect(v).toMatchObject({ version: '1', role: 'primary', tracking: true, rows: 60 });
    expect(v.windows.count).toMatchObject({ kind: 'count', rows: 20, capacityRows: 20 });
    expect(v.windows.time).toMatchObject({ kind: 'time', rows: 60, spanMs: 300_000 });
    expect(v.windows.count.features).toHaveLength(30);
    for (const f of v.windows.count.features) {
      expect(f).toEqual({ name: expect.any(String), index: expect.any(Number), bins: expect.any(Number), psi: expect.any(Number), ks: expect.any(Number), js: expect.any(Number) });
    }
    expect(v.windows.count.features[0].name).toBe('mean_radius');
    expect(Object.keys(v.windows.count.outputs).sort()).toEqual(['label', 'probabilities']);
    expect(typeof v.windows.count.score).toBe('number');
    expect(v.history).toHaveLength(3); // 60 rows in windows of 20
    expect(v.accuracy).toEqual({ version: '1', labeled: 60, correct: 45, accuracy: 0.75, windowRows: 500, totalLabeled: 60 });
  });

  it('a NaN never reaches the monitor: 400 before batching, and nothing is binned', async () => {
    const data = [...rows[0]!];
    data[0] = Number.NaN;
    const body = new Packr({ useRecords: false }).pack({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 30], data }] });
    const r = await answerOf(await fetch(`${t.url}/v2/models/breast-cancer/infer`, { method: 'POST', headers: { 'content-type': 'application/msgpack' }, body }));
    expect(r.status).toBe(400);
    expect(r.json.code).toBe('SLUICE_ERR_INPUT_NON_FINITE');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await get(`${t.url}/v2/models/breast-cancer/drift`)).json.versions[0].rows).toBe(rows.length);
  });

  it('a version without a reference.json serves and says why it has no drift report; an unknown model is 404', async () => {
    const r = await get(`${t.url}/v2/models/digits/drift`);
    expect(r.status).toBe(200);
    expect(r.json.versions).toEqual([
      expect.objectContaining({ version: '1', role: 'primary', tracking: false, reason: 'no reference.json in the version directory (the training-data profile drift is measured against)' }),
    ]);
    const unknown = await get(`${t.url}/v2/models/nope/drift`);
    expect(unknown.status).toBe(404);
    expect(unknown.json.code).toBe('SLUICE_ERR_MODEL_NOT_FOUND');
  });

  it('exports the drift scores, per-feature PSI, bin-row counters and live accuracy', async () => {
    const m = await scrape(`${adminUrl}/metrics`, TOKEN);
    expect(m.value('sluice_live_accuracy', { model: 'breast-cancer', version: '1' })).toBe(0.75);
    expect(m.samples('sluice_drift_score', { model: 'breast-cancer', version: '1' }).map((s) => s.labels!.window).sort()).toEqual(['count', 'time']);
    expect(m.samples('sluice_drift_feature_psi', { model: 'breast-cancer' })).toHaveLength(32); // 30 features + 2 outputs
    // Each feature's bins add up to the rows binned: a fleet's sum is a histogram.
    expect(m.value('sluice_drift_bin_rows_total', { model: 'breast-cancer', feature: 'mean_radius' })).toBe(60);
    expect(m.value('sluice_drift_bin_rows_total', { model: 'breast-cancer', feature: 'output:label' })).toBe(60);
    expect(m.value('sluice_feedback_labels_total', { model: 'breast-cancer', outcome: 'accepted' })).toBe(60);
    expect(m.samples('sluice_drift_score', { model: 'digits' })).toHaveLength(0);
  });

  it('writes every label to the feedback log, as class indices', async () => {
    await postJson(`${t.url}/v2/models/breast-cancer/feedback`, { id: 'never-seen', label: 'benign' });
    await waitFor(async () => (await readFile(feedbackLog, 'utf8').catch(() => '')).split('\n').filter(Boolean).length === rows.length + 1);
    const lines = (await readFile(feedbackLog, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ level: 30, time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), model: 'breast-cancer', id: 'd-0', label: [expect.any(Number)] });
    expect(lines.at(-1)).toMatchObject({ id: 'never-seen', label: [1] });
  });
});

describe('admin retrain', () => {
  it('fires the trigger, runs the command with the event on stdin and in the environment, and records it', async () => {
    const r = await postJson(`${adminUrl}/admin/models/breast-cancer/retrain`, {}, auth);
    expect(r.status).toBe(200);
    expect(r.json.event).toMatchObject({ model: 'breast-cancer', version: '1', reason: 'admin', detail: 'asked through the admin API', pending: 1 });
    await waitFor(async () => (await get(`${adminUrl}/admin/retrain/events`, auth)).json.events[0]?.pending === 0);
    const events = (await get(`${adminUrl}/admin/retrain/events`, auth)).json.events;
    expect(events).toHaveLength(1);
    expect(events[0].actions).toEqual([expect.objectContaining({ action: 'command', ok: true, outcome: 'ok' })]);
    expect(await readFile(marker, 'utf8')).toBe('breast-cancer admin');
    const m = await scrape(`${adminUrl}/metrics`, TOKEN);
    expect(m.value('sluice_retrain_events_total', { model: 'breast-cancer', reason: 'admin' })).toBe(1);
    expect(m.value('sluice_retrain_actions_total', { model: 'breast-cancer', action: 'command', outcome: 'ok' })).toBe(1);
    expect(t.logs.some((l) => String(l.msg).startsWith('retrain triggered: asked through the admin API'))).toBe(true);
  });

  it('is refused with 409 and Retry-After during the cooldown; a model without a retrain section is 409; no token is 401', async () => {
    const again = await postJson(`${adminUrl}/admin/models/breast-cancer/retrain`, {}, auth);
    expect(again.status).toBe(409);
    expect(again.json.code).toBe('SLUICE_ERR_RETRAIN_COOLDOWN');
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(100);
    const none = await postJson(`${adminUrl}/admin/models/digits/retrain`, {}, auth);
    expect(none.status).toBe(409);
    expect(none.json.code).toBe('SLUICE_ERR_RETRAIN_NOT_CONFIGURED');
    expect((await postJson(`${adminUrl}/admin/models/breast-cancer/retrain`, {})).status).toBe(401);
    expect((await postJson(`${adminUrl}/admin/models/breast-cancer/retrain`, { url: 'http://evil' }, auth)).status).toBe(400);
    expect((await get(`${adminUrl}/admin/retrain/events`, auth)).json.events).toHaveLength(1);
  });
});
