// --debug-headers: successful HTTP inference answers carry x-queue-us, x-compute-us and
// x-batch-size from the batch that ran the request; without the flag (the default) and on a
// refusal there are no such headers at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { digitsRows } from './helpers/ort.js';

const DEBUG_HEADERS = ['x-queue-us', 'x-compute-us', 'x-batch-size'];
const [row] = digitsRows(1);
const body = (shape = [1, 64]) => ({ inputs: [{ name: 'pixels', datatype: 'FP32', shape, data: row! }] });

let plain: TestGateway;
let debug: TestGateway;
beforeAll(async () => {
  [plain, debug] = await Promise.all([
    startTestGateway({ models: ['digits'] }),
    startTestGateway({ models: ['digits'], config: { debugHeaders: true } }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([plain?.stop(), debug?.stop()]);
});

const present = (headers: Headers): string[] => DEBUG_HEADERS.filter((h) => headers.has(h));

describe('debug headers', () => {
  it('are absent by default', async () => {
    const r = await postJson(`${plain.url}/v2/models/digits/infer`, body());
    expect(r.status).toBe(200);
    expect(r.headers.get('x-model-version')).toBe('1');
    expect(present(r.headers)).toEqual([]);
  });

  it('with --debug-headers, tell the queue and compute µs and the batch size of a served request', async () => {
    const r = await postJson(`${debug.url}/v2/models/digits/infer`, body());
    expect(r.status).toBe(200);
    expect(r.json.model_name).toBe('digits');
    for (const h of DEBUG_HEADERS) expect(r.headers.get(h), h).toMatch(/^\d+$/);
    expect(Number(r.headers.get('x-batch-size'))).toBeGreaterThanOrEqual(1);
    expect(Number(r.headers.get('x-batch-size'))).toBeLessThanOrEqual(64);
    expect(Number(r.headers.get('x-compute-us'))).toBeGreaterThanOrEqual(0);
    expect(Number(r.headers.get('x-queue-us'))).toBeGreaterThanOrEqual(0);
  });

  it('with --debug-headers, a two-row request reports a batch of at least two rows', async () => {
    const r = await postJson(`${debug.url}/v2/models/digits/infer`, { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [2, 64], data: [...row!, ...row!] }] });
    expect(r.status).toBe(200);
    expect(Number(r.headers.get('x-batch-size'))).toBeGreaterThanOrEqual(2);
  });

  it('with --debug-headers, a refusal carries none (no batch ran)', async () => {
    const r = await postJson(`${debug.url}/v2/models/digits/infer`, body([1, 63]));
    expect(r.status).toBe(400);
    expect(present(r.headers)).toEqual([]);
  });
});
