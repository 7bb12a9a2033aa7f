// Issue 15, every fault in one run with the prediction log on: while clients keep asking (each
// request with its own x-request-id, half of them mirrored to a shadow), a worker is killed, a
// worker runs out of heap, a corrupt version is dropped in, the shadow is promoted and rolled
// back, and then the gateway stops as SIGTERM stops it (cli/serve.ts calls this same shutdown).
// Afterwards the log holds exactly one primary line per answer a client received, with the status
// and code that client saw, one shadow line per shadow answer, and seq 0..n-1 with no gap.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { FAULT_WORKER, faultRow } from '../fixtures/fault-worker.mjs';
import { digitsTwoVersions, TOKEN, admin } from '../admin-helpers.js';
import { postJson, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { sleep, waitFor } from '../helpers/load.js';
import { digitsRows } from '../helpers/ort.js';

const rows = digitsRows(64);
let t: TestGateway | undefined;
let scratch: string;
afterAll(async () => {
  await t?.gw.shutdown(); // idempotent: a no-op after the test's own shutdown
  await rm(scratch, { recursive: true, force: true });
  if (t) await rm(t.modelsDir, { recursive: true, force: true });
});

it('worker killed, worker out of heap, corrupt version, promote, rollback, then SIGTERM, all under load: 0 lost or extra log lines', async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'sluice-faults-predlog-'));
  const logFile = path.join(scratch, 'predictions.log');
  const dir = await digitsTwoVersions(3);
  await writeFile(path.join(dir, 'digits/routing.json'), JSON.stringify({ primary: '1', shadows: [{ version: '2', percent: 50 }] }));
  t = await startTestGateway({
    modelsDir: dir,
    config: { adminToken: TOKEN, adminPort: 0, predictionLog: logFile, workers: 1, inlineMaxRunUs: 0, workerHeapMb: 96, drainTimeoutMs: 5000 },
    gateway: { workerFile: FAULT_WORKER },
  });
  const url = `${t.url}/v2/models/digits/infer`;
  const answered = new Map<string, { status: number; code: string }>();
  let lostToTransport = 0;
  let stopped = false;
  let n = 0;
  const client = async (c: number) => {
    while (!stopped) {
      const id = `c${c}-${n++}`;
      try {
        const r = await postJson(url, { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: rows[n % 64] }] }, { 'x-request-id': id });
        answered.set(id, { status: r.status, code: r.json?.code ?? 'OK' });
        if (r.json?.code === 'SLUICE_ERR_SHUTTING_DOWN') return;
      } catch {
        lostToTransport++; // refused connection after the listener closed: never reached the server
        return;
      }
    }
  };
  const clients = Array.from({ length: 8 }, (_, c) => client(c));
  const fault = async (kind: 'exit' | 'oom') => {
    const r = await postJson(url, { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: faultRow({ kind }, 64) }] }, { 'x-request-id': `fault-${kind}` });
    answered.set(`fault-${kind}`, { status: r.status, code: r.json?.code ?? 'OK' });
    expect(r.json?.code).toBe('SLUICE_ERR_WORKER_DIED');
  };
  const progress = async () => {
    const at = answered.size;
    await waitFor(() => answered.size - at >= 100, 20_000);
  };
  await sleep(300);
  await fault('exit');
  await progress();
  await fault('oom');
  await progress();
  await mkdir(path.join(dir, 'digits/3'));
  await writeFile(path.join(dir, 'digits/3/model.onnx'), Buffer.from('not an ONNX model'.repeat(50)));
  await waitFor(async () => (await fetch(`${t!.url}/v2/models/digits/versions/3`).then((r) => r.json() as Promise<{ parameters?: { state?: string } }>)).parameters?.state === 'UNAVAILABLE', 20_000, 100);
  await progress();
  expect((await admin(t, 'POST', '/admin/models/digits/promote', { version: '2' })).status).toBe(200);
  await progress();
  expect((await admin(t, 'POST', '/admin/models/digits/rollback')).status).toBe(200);
  await progress();
  await t.gw.shutdown(); // what SIGTERM runs, load still going
  stopped = true;
  await Promise.all(clients);

  const records = (await readFile(logFile, 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { seq: number; id: string; shadow: boolean; status: number; code: string; primary_id?: string });
  expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i));
  const primary = records.filter((r) => !r.shadow);
  expect(primary.length).toBe(answered.size);
  expect(new Map(primary.map((r) => [r.id, { status: r.status, code: r.code }]))).toEqual(answered);
  // Every shadow line belongs to a request a client was answered (its primary may have failed:
  // a mirror runs on its own), and shadows answer OK or with a worker death only.
  const shadows = records.filter((r) => r.shadow);
  expect(shadows.length).toBeGreaterThan(100);
  for (const s of shadows) expect(answered.has(s.primary_id ?? s.id)).toBe(true);
  for (const s of shadows) expect(['OK', 'SLUICE_ERR_WORKER_DIED']).toContain(s.code);
  // Only the batches the dead workers held, and the shutdown's refusals, failed.
  const outcomes = new Set([...answered.values()].map((a) => `${a.status} ${a.code}`));
  expect([...outcomes].filter((k) => !['200 OK', '503 SLUICE_ERR_WORKER_DIED', '503 SLUICE_ERR_SHUTTING_DOWN'].includes(k))).toEqual([]);
  expect(lostToTransport).toBeLessThanOrEqual(8);
}, 120_000);
