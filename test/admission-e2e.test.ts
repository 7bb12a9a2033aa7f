// Overload answers over HTTP: 429 with Retry-After when the predicted wait exceeds the
// deadline, 504 without running when the deadline passes in the queue, and requests whose
// client went away are dropped before they reach a worker. A refusal that holds for any request
// is answered before the body is read, and the connection goes on to the next request.
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FAULT_WORKER, faultRow } from './fixtures/fault-worker.mjs';
import { postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/load.js';
import { digitsRows } from './helpers/ort.js';

let t: TestGateway;
const one = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: digitsRows(1)[0] }] };
const full = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [64, 64], data: digitsRows(64) }] };
/** A request whose batch blocks the worker that takes it for `ms` (fixtures/fault-worker.mjs). */
const stalled = (ms: number) => ({ inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: faultRow({ kind: 'stall', ms }, 64) }] });
const url = () => `${t.url}/v2/models/digits/infer`;
const count = async (code: string) =>
  (await t.gw.metrics.requests.get()).values.filter((v) => v.labels.code === code).reduce((a, v) => a + v.value, 0);
const rowsRun = async () => (await t.gw.metrics.batchRows.get()).values.find((v) => v.metricName === 'sluice_batch_rows_sum')!.value;

beforeAll(async () => {
  // Calibrated on worker batches; stalls are injected in the worker.
  t = await startTestGateway({ models: ['digits'], config: { workers: 1, inlineMaxRunUs: 0 }, gateway: { workerFile: FAULT_WORKER } });
  // Calibrate the service-rate estimate with real batches.
  for (let i = 0; i < 20; i++) expect((await postJson(url(), full)).status).toBe(200);
});
afterAll(async () => {
  await t.stop();
});

it('refuses at admission with 429 + Retry-After, runs nothing past its deadline (504), admits what fits', async () => {
  const rowsBefore = await rowsRun();
  const blocker = postJson(url(), stalled(3000)); // holds the only worker 3 s
  await waitFor(() => t.gw.dataplane.inflightRequests === 1);
  const backlog = Array.from({ length: 50 }, () => postJson(url(), full));
  await waitFor(() => t.gw.dataplane.inflightRequests === 51);
  const refused = await postJson(url(), one, { 'x-timeout-ms': '20' });
  expect(refused).toMatchObject({ status: 429, json: { code: 'SLUICE_ERR_ADMISSION_REFUSED' } });
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  const viaBody = await postJson(url(), { ...one, parameters: { timeout_ms: 20 } });
  expect(viaBody.json.code).toBe('SLUICE_ERR_ADMISSION_REFUSED');
  // Fits the prediction, but the stalled worker makes it miss: 504 and never run.
  const expires = postJson(url(), one, { 'x-timeout-ms': '2000' });
  const patient = postJson(url(), one, { 'x-timeout-ms': '60000' });
  const answers = await Promise.all(backlog);
  expect(answers.every((a) => a.status === 200)).toBe(true);
  expect((await blocker).status).toBe(200);
  expect(await expires).toMatchObject({ status: 504, json: { code: 'SLUICE_ERR_DEADLINE_EXCEEDED' } });
  expect((await patient).status).toBe(200);
  expect((await rowsRun()) - rowsBefore).toBe(1 + 50 * 64 + 1); // the blocker, the backlog and `patient`, not `expires`
  expect(await count('SLUICE_ERR_ADMISSION_REFUSED')).toBe(2);
});

it('a request whose client went away is dropped before it reaches a worker', async () => {
  const blocker = postJson(url(), stalled(500));
  await waitFor(() => t.gw.dataplane.inflightRequests === 1);
  const rowsBefore = await rowsRun();
  const aborts = Array.from({ length: 10 }, () => {
    const ctl = new AbortController();
    const p = fetch(url(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(one), signal: ctl.signal });
    return { ctl, p: p.catch((e: Error) => e.name) };
  });
  await waitFor(() => t.gw.dataplane.inflightRequests === 11);
  for (const a of aborts) a.ctl.abort();
  expect(await Promise.all(aborts.map((a) => a.p))).toEqual(new Array(10).fill('AbortError'));
  expect((await blocker).status).toBe(200);
  await waitFor(async () => (await count('SLUICE_ERR_REQUEST_CANCELLED')) === 10);
  // Batch rows are counted at dispatch: the blocker was counted before rowsBefore was read,
  // and none of the ten cancelled requests ever reached the worker.
  expect((await rowsRun()) - rowsBefore).toBe(0);
  expect((await postJson(url(), one)).status).toBe(200);
});

/** Reads from `socket` until `n` complete HTTP responses (Content-Length bodies) arrived. */
function responses(socket: net.Socket, n: number): Promise<{ status: number; body: string }[]> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      const out: { status: number; body: string }[] = [];
      let rest = buf;
      for (;;) {
        const end = rest.indexOf('\r\n\r\n');
        if (end < 0) break;
        const head = rest.slice(0, end);
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (rest.length < end + 4 + len) break;
        out.push({ status: Number(head.slice(9, 12)), body: rest.slice(end + 4, end + 4 + len) });
        rest = rest.slice(end + 4 + len);
      }
      if (out.length >= n) {
        socket.off('data', onData);
        resolve(out);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

it('refuses before reading the body when even one row cannot be admitted; the connection serves the next request', async () => {
  const blocker = postJson(url(), stalled(1000));
  await waitFor(() => t.gw.dataplane.inflightRequests === 1);
  const backlog = Array.from({ length: 20 }, () => postJson(url(), full));
  await waitFor(() => t.gw.dataplane.inflightRequests === 21);
  const malformedBefore = await count('SLUICE_ERR_JSON_MALFORMED');
  const { port } = new URL(t.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  // Not JSON: decoded, it would be a 400. Only part of the body is sent before the answer.
  const body = `not json ${'x'.repeat(5000)}`;
  const first = responses(socket, 1);
  socket.write(
    `POST /v2/models/digits/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-timeout-ms: 5\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${body.slice(0, 100)}`,
  );
  const [refused] = await first;
  expect(refused!.status).toBe(429);
  expect(JSON.parse(refused!.body)).toMatchObject({ code: 'SLUICE_ERR_ADMISSION_REFUSED' });
  // The rest of the refused body, then the next request on the same connection.
  const next = responses(socket, 1);
  socket.write(body.slice(100));
  socket.write('GET /v2/models/digits HTTP/1.1\r\nHost: x\r\n\r\n');
  const [meta] = await next;
  expect(meta!.status).toBe(200);
  expect(JSON.parse(meta!.body)).toMatchObject({ name: 'digits' });
  socket.destroy();
  expect(await count('SLUICE_ERR_JSON_MALFORMED')).toBe(malformedBefore); // never decoded
  expect((await Promise.all(backlog)).every((a) => a.status === 200)).toBe(true);
  expect((await blocker).status).toBe(200);
});
