// WebSocket /v2/ws: JSON text and msgpack binary frames, pipelined answers matched by id,
// error frames with the id, the per-connection in-flight cap, a connection gone before its
// answers, and a reader that never reads. How answers are corked and queued: ws-answers.test.ts.
import { Packr, unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FAULT_WORKER, faultRow } from './fixtures/fault-worker.mjs';
import { postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/load.js';
import { digitsRows } from './helpers/ort.js';

const packr = new Packr({ useRecords: false, moreTypes: true });
const pack = (v: unknown) => packr.pack(v);
let t: TestGateway;
const rows = digitsRows(40);
/** A row whose batch blocks the worker that takes it for `ms`. */
const stallRow = (ms: number) => faultRow({ kind: 'stall', ms }, 64);
const frame = (id: string, row: number[], extra: Record<string, unknown> = {}) => ({
  id,
  model_name: 'digits',
  inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: row }],
  ...extra,
});

beforeAll(async () => {
  // Stalls are injected in the worker (fixtures/fault-worker.mjs), so no batch may run inline.
  t = await startTestGateway({
    models: ['digits'],
    config: { wsMaxInflight: 8, wsMaxBufferedBytes: 64 * 1024, inlineMaxRunUs: 0 },
    gateway: { workerFile: FAULT_WORKER },
  });
});
afterAll(async () => {
  await t.stop();
});

async function connect(): Promise<{ ws: WebSocket; answers: Map<string, any>; all: any[] }> {
  const ws = new WebSocket(`${t.url.replace('http', 'ws')}/v2/ws`);
  const answers = new Map<string, any>();
  const all: any[] = [];
  ws.on('message', (data, isBinary) => {
    const msg = isBinary ? unpack(data as Buffer) : JSON.parse(String(data));
    all.push(msg);
    if (msg.id !== undefined) answers.set(msg.id, msg);
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return { ws, answers, all };
}

describe('WebSocket /v2/ws', () => {
  it('answers pipelined JSON frames by id with the same numbers as HTTP', async () => {
    const { ws, answers } = await connect();
    for (let i = 0; i < 8; i++) ws.send(JSON.stringify(frame(`j${i}`, rows[i]!)));
    await waitFor(() => answers.size === 8);
    for (let i = 0; i < 8; i++) {
      const http = await postJson(`${t.url}/v2/models/digits/infer`, { id: `j${i}`, inputs: frame('', rows[i]!).inputs });
      expect(answers.get(`j${i}`)).toEqual(http.json);
    }
    ws.close();
  });

  it('answers msgpack binary frames in msgpack, typed-array data included', async () => {
    const { ws, answers } = await connect();
    ws.send(pack(frame('m1', rows[0]!)));
    ws.send(pack(frame('m2', [], { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: Float32Array.from(rows[1]!) }], model_version: '1' })));
    await waitFor(() => answers.size === 2);
    const http = await postJson(`${t.url}/v2/models/digits/infer`, { id: 'm1', inputs: frame('', rows[0]!).inputs });
    const m1 = answers.get('m1');
    expect(m1).toMatchObject({ model_name: 'digits', model_version: '1', id: 'm1' });
    expect(Array.from(m1.outputs[0].data as ArrayLike<number>)).toEqual(http.json.outputs[0].data.map(Math.fround));
    expect(answers.get('m2').outputs[1].shape).toEqual([1]);
    ws.close();
  });

  it('bad frames get error frames with the id (when readable), and the connection keeps serving', async () => {
    const { ws, answers, all } = await connect();
    ws.send('{"broken": ');
    ws.send(JSON.stringify({ model_name: 'digits', inputs: [] }));
    ws.send(JSON.stringify(frame('e1', rows[0]!, { model_name: 'nope' })));
    ws.send(JSON.stringify(frame('e2', rows[0]!.slice(1))));
    ws.send(JSON.stringify(frame('e3', rows[0]!, { model_version: 'latest' })));
    ws.send(pack({ id: 'e4', model_name: 'digits', inputs: [], sent: new Date() })); // a timestamp ext
    ws.send(JSON.stringify(frame('ok', rows[0]!)));
    await waitFor(() => all.length === 7);
    // Frames with no readable id get error frames without one; a frame the decoder refuses
    // (e4: a msgpack type sluice does not take) still gets its id back.
    const anonymous = all.filter((m) => m.id === undefined).map((m) => m.code).sort();
    expect(anonymous).toEqual(['SLUICE_ERR_JSON_MALFORMED', 'SLUICE_ERR_WS_MESSAGE_INVALID']);
    expect(answers.get('e4').code).toMatch(/^SLUICE_ERR_MSGPACK_/);
    expect(answers.get('e1').code).toBe('SLUICE_ERR_MODEL_NOT_FOUND');
    expect(answers.get('e2').code).toBe('SLUICE_ERR_INPUT_DATA_LENGTH');
    expect(answers.get('e3').code).toBe('SLUICE_ERR_WS_MESSAGE_INVALID');
    expect(answers.get('ok').outputs).toHaveLength(2);
    ws.close();
  });

  it('caps requests in flight per connection', async () => {
    const { ws, answers } = await connect();
    for (let i = 0; i < 12; i++) ws.send(JSON.stringify(frame(`c${i}`, i === 0 ? stallRow(300) : rows[i]!)));
    await waitFor(() => answers.size === 12);
    const refused = [...answers.values()].filter((a) => a.code === 'SLUICE_ERR_WS_TOO_MANY_INFLIGHT');
    expect(refused).toHaveLength(4);
    expect([...answers.values()].filter((a) => a.outputs)).toHaveLength(8);
    ws.close();
  });

  it('drops the answers of a connection that closed before they were sent, and keeps serving', async () => {
    const { ws } = await connect();
    for (let i = 0; i < 8; i++) ws.send(pack(frame(`d${i}`, i === 0 ? stallRow(200) : rows[i]!)));
    await new Promise((r) => setTimeout(r, 20));
    ws.terminate();
    await new Promise((r) => setTimeout(r, 400)); // the stalled batch finishes with nobody to answer
    const next = await connect();
    next.ws.send(pack(frame('after', rows[0]!)));
    await waitFor(() => next.answers.size === 1);
    expect(next.answers.get('after').outputs).toHaveLength(2);
    next.ws.close();
  });

  it('closes a reader that never reads once its answers pass the buffer cap', async () => {
    const { ws } = await connect();
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    // Stop reading: the socket's receive buffer fills, then uWS's, then the gateway's queue.
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = frame('', [], { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [40, 64], data: rows }] });
    for (let i = 0; i < 4000 && ws.readyState === WebSocket.OPEN; i++) {
      ws.send(JSON.stringify({ ...big, id: `r${i}` }));
      if (i % 8 === 7) await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor(async () => (await t.gw.metrics.wsSlowReadersClosed.get()).values[0]?.value === 1, 20_000);
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    // 1008 when the close frame gets through; a client that reads nothing may only see the
    // connection drop (1006). Either way the server closed it, as the metric says.
    expect([1006, 1008]).toContain(await closed);
    const rss = process.memoryUsage().rss;
    expect(rss).toBeLessThan(1024 * 1024 * 1024);
    expect((await postJson(`${t.url}/v2/models/digits/infer`, { inputs: frame('', rows[0]!).inputs })).status).toBe(200);
  });
});
