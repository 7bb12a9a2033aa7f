// Three replicas in fleet mode on one shared model repository (docs/deploy.md): a routing change
// through one admin API is served by all three within the documented delay; the fleet's drift from
// the three /metrics (summed bin counters against the exported reference shares) equals what one
// monitor fed all the traffic computes; and a shift seen by every replica fires exactly one retrain:
// none from the replicas' own drift, one from the Alertmanager webhook posted to one of them, none
// again when Alertmanager repeats the alert. That replica's retraining job (the real one, on its own
// logs) writes the next version once; every replica loads it as a shadow, and each one's promotion
// gate makes it the primary, so the fleet ends up on it.
import { readFileSync } from 'node:fs';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriftMonitor, overallScore } from '../src/drift/monitor.js';
import { parseDriftReference } from '../src/drift/reference.js';
import { psi } from '../src/drift/stats.js';
import { SHIFTED_COLUMNS } from '../src/demo/split.js';
import type { PairReport } from '../src/shadow/pair-stats.js';
import { copyModels, postJson, ROOT, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/load.js';
import { breastRows } from './helpers/ort.js';
import { scrape } from './helpers/prometheus.js';

const TOKEN = 'fleet-token';
const POLL_MS = 200;
/** docs/deploy.md: a routing change reaches every replica within two scan intervals. */
const PROPAGATION_BOUND_MS = 2 * POLL_MS + 300;
const auth = { authorization: `Bearer ${TOKEN}` };
const rows = breastRows(300).map((r) => r.map((v, c) => (SHIFTED_COLUMNS.includes(c) ? v * 1.3 : v)));
const labels = readFileSync(path.join(ROOT, 'models/breast-cancer/data/breast_cancer.csv'), 'utf8').trim().split('\n').slice(1, 301).map((l) => Number(l.split(',')[30]));
let dir: string;
let sent = 0;

/**
 * `n` shifted requests round-robin over the fleet, then each one's label at the replica that
 * answered it, once every shadow copy has settled: a label joins the answers recorded by then, and
 * a shadow copy runs SCHED_IDLE, so right after the primary's answer it may not have answered yet
 * (on a busy CI box no gate passed in 20 rounds when each label followed its request at once).
 */
async function traffic(n: number): Promise<void> {
  const answered: { t: TestGateway; id: string; label: number }[] = [];
  for (let k = 0; k < n; k++, sent++) {
    const t = fleet[sent % 3]!;
    const i = sent % rows.length;
    const r = await postJson(`${t.url}/v2/models/breast-cancer/infer`, { id: `f-${sent}`, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 30], data: rows[i] }] });
    expect(r.status).toBe(200);
    answered.push({ t, id: `f-${sent}`, label: labels[i]! });
  }
  await waitFor(async () => {
    for (const t of fleet) {
      const { pairs } = (await (await fetch(`${admin(t)}/admin/models/breast-cancer/shadow`, { headers: auth })).json()) as { pairs: PairReport[] };
      if (pairs.some((p) => p.compared + p.errored + Object.values(p.dropped).reduce((a, b) => a + b, 0) < p.mirrored)) return false;
    }
    return true;
  });
  for (const a of answered) expect((await postJson(`${a.t.url}/v2/models/breast-cancer/feedback`, { id: a.id, label: a.label })).status).toBe(200);
}
const fleet: TestGateway[] = [];
const admin = (t: TestGateway) => `http://127.0.0.1:${t.gw.adminPort}`;

beforeAll(async () => {
  dir = await copyModels(['breast-cancer']);
  await cp(path.join(dir, 'breast-cancer/1'), path.join(dir, 'breast-cancer/2'), { recursive: true });
  await cp(path.join(ROOT, 'models/breast-cancer/data'), path.join(dir, 'breast-cancer/data'), { recursive: true });
  const file = path.join(dir, 'breast-cancer/model.json');
  const config = JSON.parse(await readFile(file, 'utf8'));
  await writeFile(
    file,
    JSON.stringify({
      ...config,
      versionPolicy: { latest: 2 },
      predictionLog: { inputSampleRate: 1 },
      drift: { windowRows: 50, consecutiveWindows: 1, maxSampledPerSecond: 0 },
      retrain: { cooldownSeconds: 600, command: { argv: ['node', path.join(ROOT, 'dist/src/train/retrain-cli.js'), 'breast-cancer', '--min-labeled', '50'], timeoutMs: 60_000 } },
      promotionGate: { minSamples: 30, minLabeled: 30, minAccuracyGain: 0.02 },
    }),
  );
  await writeFile(path.join(dir, 'breast-cancer/routing.json'), JSON.stringify({ primary: '1' }));
  for (let i = 0; i < 3; i++) {
    const logs = { predictionLog: path.join(dir, `predictions-${i}.log`), feedbackLog: path.join(dir, `feedback-${i}.log`) };
    fleet.push(await startTestGateway({ modelsDir: dir, config: { adminToken: TOKEN, adminPort: 0, fleetMode: true, pollIntervalMs: POLL_MS, ...logs } }));
  }
});
afterAll(async () => {
  for (const t of fleet) await t.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('a fleet of three replicas', () => {
  it('a routing change made through one replica is served by every replica within the bound', async () => {
    const put = await fetch(`${admin(fleet[0]!)}/admin/models/breast-cancer/routing`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ primary: '1', shadows: [{ version: '2', percent: 50 }] }) });
    expect(put.status).toBe(200);
    const t0 = Date.now();
    const shadowsOf = async (t: TestGateway) => ((await (await fetch(`${admin(t)}/admin/models/breast-cancer/routing`, { headers: auth })).json()) as { shadows: unknown[] }).shadows;
    await waitFor(async () => {
      for (const t of fleet) if ((await shadowsOf(t)).length !== 1) return false;
      return true;
    }, 5000, 20);
    expect(Date.now() - t0).toBeLessThan(PROPAGATION_BOUND_MS);
    for (const t of fleet) expect(await shadowsOf(t)).toEqual([{ version: '2', percent: 50 }]);
  });

  it("the fleet's drift from the three /metrics equals one monitor fed all the traffic; no replica fires on its own", async () => {
    await traffic(rows.length);
    await waitFor(async () => {
      const all = await Promise.all(fleet.map((t) => scrape(`${admin(t)}/metrics`, TOKEN)));
      return all.reduce((n, m) => n + m.value('sluice_drift_bin_rows_total', { model: 'breast-cancer', version: '1', feature: 'mean_radius' }), 0) === rows.length;
    });
    const metrics = await Promise.all(fleet.map((t) => scrape(`${admin(t)}/metrics`, TOKEN)));
    // Each replica saw a third of the traffic.
    for (const m of metrics) expect(m.value('sluice_drift_bin_rows_total', { model: 'breast-cancer', version: '1', feature: 'mean_radius' })).toBe(100);

    const reference = parseDriftReference(await readFile(path.join(dir, 'breast-cancer/1/reference.json'), 'utf8'));
    const monitor = new DriftMonitor(reference, { windowRows: rows.length, windowMs: 3_600_000 });
    // FP32 on the wire: the gateway bins the float32 values, and so must the offline monitor.
    for (const row of rows) monitor.observe(Float32Array.from(row), 1, 30, Date.now());
    const offline = monitor.report(Date.now()).windows.count;
    const fleetFeatures = reference.features.map((f, i) => {
      const counts = f.shares.map((_, bin) => metrics.reduce((n, m) => n + m.value('sluice_drift_bin_rows_total', { model: 'breast-cancer', version: '1', feature: f.name, bin: String(bin) }), 0));
      const shares = f.shares.map((_, bin) => metrics[0]!.value('sluice_drift_reference_share', { model: 'breast-cancer', version: '1', feature: f.name, bin: String(bin) }));
      const p = psi(shares, counts);
      expect(p).toBeCloseTo(offline.features[i]!.psi!, 9);
      return { bins: f.shares.length, psi: p };
    });
    expect(overallScore(fleetFeatures)).toBeCloseTo(offline.score!, 9);
    expect(offline.score!).toBeGreaterThan(0.25); // the shift is there: a lone replica would have fired
    for (const t of fleet) expect(((await (await fetch(`${admin(t)}/admin/retrain/events`, { headers: auth })).json()) as { events: unknown[] }).events).toEqual([]);
  });

  it('the Alertmanager webhook posted to one replica fires exactly one retrain; a repeat does not fire again', async () => {
    const payload = {
      version: '4',
      status: 'firing',
      receiver: 'sluice',
      alerts: [
        { status: 'firing', labels: { alertname: 'SluiceFleetDriftRetrain', model: 'breast-cancer', version: '1', sluice_action: 'retrain' }, startsAt: '2026-12-02T10:00:00Z', fingerprint: 'a1b2' },
        { status: 'firing', labels: { alertname: 'SluiceDriftHigh', model: 'breast-cancer' }, startsAt: '2026-12-02T10:00:00Z', fingerprint: 'c3d4' },
      ],
    };
    const first = await postJson(`${admin(fleet[1]!)}/admin/alerts`, payload, auth);
    expect(first.status).toBe(200);
    expect(first.json.fired).toEqual([expect.objectContaining({ model: 'breast-cancer', reason: 'alert', detail: 'Alertmanager alert SluiceFleetDriftRetrain' })]);
    const again = await postJson(`${admin(fleet[1]!)}/admin/alerts`, payload, auth);
    expect(again.json).toEqual({ fired: [], skipped: [{ model: 'breast-cancer', alertname: 'SluiceFleetDriftRetrain', reason: 'already fired for this alert' }] });
    expect((await postJson(`${admin(fleet[1]!)}/admin/alerts`, payload)).status).toBe(401);
    expect((await postJson(`${admin(fleet[1]!)}/admin/alerts`, { alerts: 'x' }, auth)).status).toBe(400);
    // More labelled traffic for the job to learn from, then wait for its one run to end.
    await traffic(300);
    const events = async () => Promise.all(fleet.map(async (t) => ((await (await fetch(`${admin(t)}/admin/retrain/events`, { headers: auth })).json()) as { events: { pending: number; actions: { action: string; outcome: string }[] }[] }).events));
    await waitFor(async () => (await events())[1]![0]?.pending === 0, 60_000);
    const all = await events();
    expect(all.map((e) => e.length)).toEqual([0, 1, 0]);
    expect(all[1]![0]!.actions).toEqual([expect.objectContaining({ action: 'command', outcome: 'ok' })]);
  }, 90_000);

  it('the version the job wrote loads on every replica as a shadow, and the promotion gates make it primary fleet-wide', async () => {
    const routingOf = async (t: TestGateway) => (await (await fetch(`${admin(t)}/admin/models/breast-cancer/routing`, { headers: auth })).json()) as { primary: string | null; shadows: { version: string }[] };
    const meta = JSON.parse(await readFile(path.join(dir, 'breast-cancer/3/meta.json'), 'utf8'));
    expect(meta).toMatchObject({ version: 3, parentVersion: 1, trigger: { reason: 'alert' } });
    await waitFor(async () => {
      for (const t of fleet) if (!(await routingOf(t)).shadows.some((s) => s.version === '3')) return false;
      return true;
      // Three replicas each load the new version (session and warm-up) on a 2-core box that the
      // rest of the suite keeps busy: a fresh-clone CI run once needed more than 10 s.
    }, 30_000);
    // Every replica mirrors to 3 and compares; labels credit both sides; each gate promotes.
    for (let round = 0; round < 20; round++) {
      const primaries = await Promise.all(fleet.map(async (t) => (await routingOf(t)).primary));
      if (primaries.every((p) => p === '3')) break;
      await traffic(60);
    }
    expect(await Promise.all(fleet.map(async (t) => (await routingOf(t)).primary))).toEqual(['3', '3', '3']);
    for (const t of fleet) {
      const r = await postJson(`${t.url}/v2/models/breast-cancer/infer`, { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 30], data: rows[0] }] });
      expect(r.json.model_version).toBe('3');
    }
  });
});
