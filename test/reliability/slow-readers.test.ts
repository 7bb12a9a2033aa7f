// Issue 15, slow readers of large HTTP answers: 40 clients ask a model whose answer is ~2.6 MB of
// JSON and never read it. A client that does read is answered at once meanwhile, and once the
// stalled clients go away the server serves on with nothing logged. (Known limit, docs/
// reliability.md: the server does not close a reader that makes no progress; its answer stays
// buffered until the client goes.)
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/load.js';
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

it('40 clients that never read a 2.6 MB answer do not hold up a client that reads; when they go, the server serves on', async () => {
  const stalled: { s: net.Socket; closed: boolean }[] = [];
  for (let i = 0; i < 40; i++) {
    const s = net.connect(Number(new URL(t.url).port), '127.0.0.1');
    const e = { s, closed: false };
    s.on('close', () => (e.closed = true));
    s.on('error', () => undefined);
    s.once('connect', () => {
      s.write(request);
      s.pause(); // never read: the answer backs up in the kernel, then in uWS
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
  for (const e of stalled) e.s.destroy();
  await waitFor(() => stalled.every((e) => e.closed), 5000, 50);
  const again = await fetch(`${t.url}/v2/models/wide/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(again.status).toBe(200);
  await again.arrayBuffer();
  expect(t.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
}, 60_000);
