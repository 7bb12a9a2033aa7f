// Issue 15, slow readers of large HTTP answers: 40 clients ask a model whose answer is ~2.6 MB of
// JSON and stop reading. A client that does read is answered at once meanwhile. The server closes
// the stalled connections after uWS's idle timeout (~10 s), holding nothing itself: what is unread
// waits in the kernel's socket buffer (bounded per socket), and a client that reads it later gets
// the whole answer and then the close.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { testModel } from '../helpers/onnx-fixtures.js';

const WIDTH = 262_144;
let t: TestGateway;

beforeAll(async () => {
  // y = Expand(x, [1, WIDTH]): [n,1] → [n,WIDTH], every value of a row the row's x.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-wide-'));
  await mkdir(path.join(dir, 'wide', '1'), { recursive: true });
  const onnx = testModel({
    name: 'wide',
    nodes: [{ name: 'expand', opType: 'Expand', inputs: ['x', 'to'], outputs: ['y'] }],
    initializers: [{ name: 'to', elemType: 'int64', dims: [2], data: [1, WIDTH] }],
    inputs: [{ name: 'x', elemType: 'float32', shape: ['n', 1] }],
    outputs: [{ name: 'y', elemType: 'float32', shape: ['n', WIDTH] }],
  });
  await writeFile(path.join(dir, 'wide', '1', 'model.onnx'), onnx);
  t = await startTestGateway({ modelsDir: dir });
});

afterAll(async () => {
  await t?.stop();
});

const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [0.1234567] }] });
const request = `POST /v2/models/wide/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

it('40 clients that stop reading a 2.6 MB answer do not hold up a client that reads; the server closes them after its idle timeout', async () => {
  const stalled: { s: net.Socket; closed: boolean }[] = [];
  for (let i = 0; i < 40; i++) {
    const s = net.connect(Number(new URL(t.url).port), '127.0.0.1');
    const e = { s, closed: false };
    s.on('close', () => (e.closed = true));
    s.on('error', () => undefined);
    s.once('connect', () => {
      s.write(request);
      s.pause(); // stops reading: the answer backs up in the socket buffers
    });
    stalled.push(e);
  }
  await new Promise((r) => setTimeout(r, 1000));
  const t0 = performance.now();
  const res = await fetch(`${t.url}/v2/models/wide/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const answer = (await res.json()) as { outputs: { shape: number[]; data: number[] }[] };
  expect(res.status).toBe(200);
  expect(answer.outputs[0]!.shape).toEqual([1, WIDTH]);
  expect(answer.outputs[0]!.data[WIDTH - 1]).toBe(0.1234567);
  expect(performance.now() - t0).toBeLessThan(3000);
  // After the idle timeout, each stalled client drains its socket: the whole answer, then the
  // server's close (a connection the server had kept open would not end).
  await new Promise((r) => setTimeout(r, 13_000));
  const ends = stalled.map(
    (e) =>
      new Promise<number>((resolve) => {
        let bytes = 0;
        e.s.on('data', (d: Buffer) => (bytes += d.length));
        e.s.on('end', () => resolve(bytes));
        e.s.resume();
      }),
  );
  const got = await Promise.race([Promise.all(ends), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000))]);
  expect(got).not.toBe('timeout');
  for (const bytes of got as number[]) expect(bytes).toBeGreaterThan(262_144 * 9);
  const again = await fetch(`${t.url}/v2/models/wide/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(again.status).toBe(200);
  await again.arrayBuffer();
  expect(t.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
}, 60_000);

