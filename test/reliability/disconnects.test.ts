// Issue 15, clients that go away while their request waits in the batch queue or runs on a worker
// (drops during the upload and right after sending are in hostile-http.test.ts, stalled readers
// of the answer in slow-readers.test.ts). One worker, held by a batch whose fault row stalls it
// (test/fixtures/fault-worker.mjs); requests sent meanwhile queue behind it. The rule
// (docs/reliability.md "Clients that go away"):
// - dropped while queued: taken out before its batch is handed to a worker, so its rows never
//   run; answered 499 SLUICE_ERR_REQUEST_CANCELLED to nobody and logged with that status;
// - dropped while running: the batch runs to its end (a running session cannot be stopped), the
//   answer is dropped, and the prediction is logged with the status the server answered, 200,
//   and the version that made it;
// - a client that stays is answered; nothing is left queued; no error is logged.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { FAULT_WORKER, faultRow } from '../fixtures/fault-worker.mjs';
import { postJson, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { Exposition } from '../helpers/prometheus.js';
import { sleep, waitFor } from '../helpers/load.js';
import { digitsRows } from '../helpers/ort.js';

const [ROW] = digitsRows(1);
const body = (data: number[]) => JSON.stringify({ inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data }] });

let t: TestGateway | undefined;
let scratch: string;
afterAll(async () => {
  await t?.gw.shutdown();
  await rm(scratch, { recursive: true, force: true });
});

/** Sends one whole request on a raw socket; the socket is returned open, to be dropped by the test. */
function sendRaw(port: number, id: string, payload: string): Promise<{ socket: net.Socket; answered: () => boolean }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`POST /v2/models/digits/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-request-id: ${id}\r\ncontent-length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`, () => resolve({ socket, answered: () => answered }));
    });
    socket.on('data', () => (answered = true));
    socket.on('error', reject);
  });
}

const metrics = async () => new Exposition(await t!.gw.metrics.registry.metrics());

it('a client gone while queued is never run; one gone while running is run and logged; one that stays is answered', async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'sluice-disconnects-'));
  const logFile = path.join(scratch, 'predictions.log');
  t = await startTestGateway({
    models: ['digits'],
    config: { predictionLog: logFile, workers: 1, inlineMaxRunUs: 0 },
    gateway: { workerFile: FAULT_WORKER },
  });
  const running = await sendRaw(t.gw.port, 'drop-running', body(faultRow({ kind: 'stall', ms: 2000 }, 64)));
  // The stalled batch is on the worker once it has left the queue.
  await waitFor(async () => (await metrics()).value('sluice_queue_depth') === 0, 2000, 20);
  await sleep(100);
  const queued = await Promise.all(Array.from({ length: 8 }, (_, i) => sendRaw(t!.gw.port, `drop-queued-${i}`, body(ROW!))));
  const stays = postJson(`${t.url}/v2/models/digits/infer`, JSON.parse(body(ROW!)), { 'x-request-id': 'stays' });
  await waitFor(async () => (await metrics()).value('sluice_queue_depth') === 9, 2000, 20);
  running.socket.destroy();
  for (const q of queued) q.socket.destroy();

  const answer = await stays;
  expect([answer.status, answer.json.id]).toEqual([200, 'stays']);
  expect((await metrics()).value('sluice_queue_depth')).toBe(0);
  expect((await postJson(`${t.url}/v2/models/digits/infer`, JSON.parse(body(ROW!)), { 'x-request-id': 'after' })).status).toBe(200);
  expect([running, ...queued].filter((c) => c.answered())).toEqual([]);
  // Rows that ran: the stalled one, the one that stayed and the one after; none of the dropped eight.
  expect((await metrics()).histogram('sluice_batch_rows', { model: 'digits' }).sum).toBe(3);
  expect(t.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);

  await t.gw.shutdown();
  const lines = (await readFile(logFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { seq: number; id: string; status: number; code: string; version: string | null; batch_id: number | null });
  expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i));
  const byId = new Map(lines.map((l) => [l.id, l]));
  expect(byId.size).toBe(11);
  expect(byId.get('drop-running')).toMatchObject({ status: 200, code: 'OK', version: '1', batch_id: expect.any(Number) });
  for (let i = 0; i < 8; i++) expect(byId.get(`drop-queued-${i}`)).toMatchObject({ status: 499, code: 'SLUICE_ERR_REQUEST_CANCELLED', batch_id: null });
  for (const id of ['stays', 'after']) expect(byId.get(id)).toMatchObject({ status: 200, code: 'OK', batch_id: expect.any(Number) });
}, 30_000);
