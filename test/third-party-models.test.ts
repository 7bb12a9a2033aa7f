// Real third-party ONNX models served from a repository that holds only <version>/model.onnx (no
// model.json): the config comes from the graph, and every answer under concurrency must equal a
// direct onnxruntime-node run of the same inputs, element by element.
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/load.js';
import {
  batchesBetween,
  batchesFor,
  batchRows,
  digitImages,
  directRun,
  fp32,
  graphSignature,
  inferBody,
  makeModelRepository,
  int64,
  maxAbsDiff,
  openDirect,
  recordPredictions,
  servedOutputs,
  speechLikeAudio,
  THIRD_PARTY,
  wakeWordFeatures,
  type HostTensor,
  type PlainTensor,
  type Prediction,
} from './helpers/third-party.js';

const MODELS = {
  'ocr-det': THIRD_PARTY.ocrDetector,
  'ocr-cls': THIRD_PARTY.ocrClassifier,
  'silero-v5': THIRD_PARTY.sileroV5,
  'silero-v4': THIRD_PARTY.sileroLegacy,
  'hello-deepa': THIRD_PARTY.helloDeepa,
} as const;
type Model = keyof typeof MODELS;

/** What each graph declares (read with Netron / onnxruntime's metadata), free dims as -1. */
const GRAPHS: Record<Model, { inputs: [string, string, number[]][]; outputs: [string, string, number[]][]; maxBatchSize: number }> = {
  'ocr-det': { inputs: [['x', 'FP32', [-1, 3, -1, -1]]], outputs: [['sigmoid_0.tmp_0', 'FP32', [-1, 1, -1, -1]]], maxBatchSize: 64 },
  'ocr-cls': { inputs: [['x', 'FP32', [-1, 3, -1, -1]]], outputs: [['softmax_0.tmp_0', 'FP32', [-1, 2]]], maxBatchSize: 64 },
  'silero-v5': {
    inputs: [['input', 'FP32', [-1, -1]], ['state', 'FP32', [2, -1, 128]], ['sr', 'INT64', []]],
    outputs: [['output', 'FP32', [-1, 1]], ['stateN', 'FP32', [-1, -1, -1]]],
    maxBatchSize: 0,
  },
  'silero-v4': {
    inputs: [['input', 'FP32', [-1, -1]], ['sr', 'INT64', []], ['h', 'FP32', [2, -1, 64]], ['c', 'FP32', [2, -1, 64]]],
    outputs: [['output', 'FP32', [-1, 1]], ['hn', 'FP32', [2, -1, 64]], ['cn', 'FP32', [2, -1, 64]]],
    maxBatchSize: 0,
  },
  'hello-deepa': { inputs: [['onnx::Flatten_0', 'FP32', [1, 25, 96]]], outputs: [['39', 'FP32', [1, 1]]], maxBatchSize: 0 },
};

let t: TestGateway;
let events: Prediction[];
beforeAll(async () => {
  const dir = await makeModelRepository(Object.fromEntries(Object.entries(MODELS).map(([name, file]) => [name, { file }])));
  t = await startTestGateway({ modelsDir: dir, config: { predictionLogInputSample: 1 } });
  events = recordPredictions(t);
});
afterAll(async () => {
  await t?.stop();
  if (t) await rm(t.modelsDir, { recursive: true, force: true });
});

const infer = (model: Model, inputs: Record<string, HostTensor>, id: string) => postJson(`${t.url}/v2/models/${model}/infer`, inferBody(inputs, id));

/**
 * Sends every request at once, runs each alone in this process, and returns the largest
 * |served - direct| over every output element (Infinity on any shape or name mismatch), after
 * checking each answer's status, id and output names.
 */
async function servedVsDirect(model: Model, requests: Record<string, HostTensor>[], idPrefix: string) {
  const direct = await openDirect(MODELS[model]);
  const expected: Record<string, PlainTensor>[] = [];
  for (const r of requests) expected.push(await direct.run(r));
  await direct.release();
  const answers = await Promise.all(requests.map((r, i) => infer(model, r, `${idPrefix}${i}`)));
  let maxDiff = 0;
  answers.forEach((a, i) => {
    expect(a.status, a.text).toBe(200);
    expect(a.json.id).toBe(`${idPrefix}${i}`);
    const served = servedOutputs(a.json);
    expect(Object.keys(served)).toEqual(GRAPHS[model].outputs.map(([name]) => name));
    for (const [name, want] of Object.entries(expected[i]!)) {
      expect(served[name]!.datatype).toBe(want.datatype);
      maxDiff = Math.max(maxDiff, maxAbsDiff(served[name]!, want));
    }
  });
  await waitFor(() => events.filter((e) => e.model === model && e.id.startsWith(idPrefix)).length === requests.length, 5000);
  return { maxDiff, expected };
}

/**
 * The smallest difference between the answers to two requests whose inputs have the same shapes
 * (each pair's largest |diff| over every output): what a misrouted answer would be off by at least.
 */
function smallestGap(requests: Record<string, HostTensor>[], expected: Record<string, PlainTensor>[]): number {
  const shapeOf = (r: Record<string, HostTensor>) => JSON.stringify(Object.values(r).map((x) => x.shape));
  let gap = Infinity;
  let pairs = 0;
  for (let i = 0; i < requests.length; i++) {
    for (let j = i + 1; j < requests.length; j++) {
      if (shapeOf(requests[i]!) !== shapeOf(requests[j]!)) continue;
      pairs++;
      gap = Math.min(gap, Math.max(...Object.keys(expected[i]!).map((name) => maxAbsDiff(expected[i]![name]!, expected[j]![name]!))));
    }
  }
  if (pairs === 0) throw new Error('smallestGap: no two requests of the same shapes');
  return gap;
}

describe('config from the graph alone', () => {
  it.each(Object.keys(MODELS) as Model[])('%s: metadata and /config say what the graph says (names verbatim, -1 for free dims)', async (model) => {
    const g = GRAPHS[model];
    const tensors = (list: [string, string, number[]][]) => list.map(([name, datatype, shape]) => ({ name, datatype, shape }));
    // The table above and onnxruntime's own reading of the file agree ...
    expect(await graphSignature(MODELS[model])).toEqual({ inputs: tensors(g.inputs), outputs: tensors(g.outputs) });

    // ... and so does sluice.
    const meta = await getJson(`${t.url}/v2/models/${model}`);
    expect(meta.status).toBe(200);
    expect(meta.json).toMatchObject({ name: model, versions: ['1'], platform: 'onnxruntime_onnx', inputs: tensors(g.inputs), outputs: tensors(g.outputs) });
    expect(meta.json.parameters).toMatchObject({ state: 'READY', max_batch_size: g.maxBatchSize });

    const config = await getJson(`${t.url}/v2/models/${model}/config`);
    expect(config.status).toBe(200);
    const batchDim = (shape: number[]) => (g.maxBatchSize === 0 || shape.length === 0 ? null : 0);
    const withDims = (list: [string, string, number[]][]) => list.map(([name, datatype, shape]) => ({ name, datatype, shape, batchDim: batchDim(shape) }));
    expect(config.json).toMatchObject({ version: '1', source: 'graph', inputs: withDims(g.inputs), outputs: withDims(g.outputs) });
    expect(config.json.batching.maxBatchSize).toBe(g.maxBatchSize);
  });
});

describe('OCR CNNs batch under concurrency, one image size per batch', () => {
  const cases = [
    { model: 'ocr-det' as const, norm: 'imagenet' as const, sizes: [[32, 32], [64, 32], [32, 96]] },
    { model: 'ocr-cls' as const, norm: 'half' as const, sizes: [[48, 192], [32, 96], [32, 32]] },
  ];
  it.each(cases)('$model: 30 concurrent requests of three image sizes (1-2 images of digit text each) equal direct runs; batches > 1 form, never across sizes', async ({ model, norm, sizes }) => {
    const requests = Array.from({ length: 30 }, (_, i) => {
      const [h, w] = sizes[i % 3]!;
      const n = i % 7 === 0 ? 2 : 1;
      return { x: fp32([n, 3, h!, w!], digitImages(20 * i, n, h!, w!, norm)) };
    });
    const rowsSent = requests.reduce((s, r) => s + r.x.shape[0]!, 0);
    const before = await batchRows(t, model);
    const { maxDiff, expected } = await servedVsDirect(model, requests, `${model}-c`);
    expect(maxDiff).toBeLessThanOrEqual(1e-6);
    // No two answers of one size are within the bound of each other, so a row delivered to the
    // wrong request could not pass.
    expect(smallestGap(requests, expected)).toBeGreaterThan(1e-6);

    const formed = batchesBetween(before, await batchRows(t, model));
    expect(formed.rows).toBe(rowsSent);
    expect(formed.count).toBeGreaterThanOrEqual(3); // three sizes cannot share a batch
    expect(formed.count).toBeLessThan(requests.length);
    expect(formed.count - formed.single).toBeGreaterThan(0);

    const batches = batchesFor(events, model, `${model}-c`);
    expect(batches.reduce((s, b) => s + b.length, 0)).toBe(requests.length);
    for (const b of batches) {
      expect(new Set(b.map((e) => e.inputs.x!.shape.slice(1).join('x'))).size).toBe(1);
      expect(b.reduce((s, e) => s + e.inputs.x!.shape[0]!, 0)).toBe(b[0]!.batchRows);
    }
    expect(Math.max(...batches.map((b) => b[0]!.batchRows))).toBeGreaterThan(1);
  });
});

/** VAD requests: chunk 1 of each stream's audio, with the real state left by chunk 0. */
async function vadRequests(model: 'silero-v5' | 'silero-v4', count: number): Promise<Record<string, HostTensor>[]> {
  const direct = await openDirect(MODELS[model]);
  const requests: Record<string, HostTensor>[] = [];
  for (let i = 0; i < count; i++) {
    const n = i % 5 === 4 ? 2 : 1; // a few requests carry two streams: full shapes, run as they are
    const audio = Array.from({ length: n }, (_, r) => speechLikeAudio(100 + 10 * i + r, 1024, 16000));
    const chunk = (c: number) => {
      const out = new Float32Array(n * 512);
      audio.forEach((a, r) => out.set(a.subarray(c * 512, (c + 1) * 512), r * 512));
      return fp32([n, 512], out);
    };
    const sr = int64([], [16000]);
    if (model === 'silero-v5') {
      const first = await direct.run({ input: chunk(0), state: fp32([2, n, 128], new Float32Array(2 * n * 128)), sr });
      requests.push({ input: chunk(1), state: fp32([2, n, 128], Float32Array.from(first.stateN!.data)), sr });
    } else {
      const zeros = () => fp32([2, n, 64], new Float32Array(2 * n * 64));
      const first = await direct.run({ input: chunk(0), sr, h: zeros(), c: zeros() });
      requests.push({ input: chunk(1), sr, h: fp32([2, n, 64], Float32Array.from(first.hn!.data)), c: fp32([2, n, 64], Float32Array.from(first.cn!.data)) });
    }
  }
  await direct.release();
  return requests;
}

/**
 * Wake-word requests whose scores are at least 1e-5 apart. The score saturates near 0.999 for many
 * inputs, so seeds are taken in order and one whose score is too close to an earlier pick is
 * skipped: otherwise two answers could be swapped and still pass the 1e-6 comparison.
 */
async function distinctWakeWordRequests(count: number): Promise<Record<string, HostTensor>[]> {
  const direct = await openDirect(MODELS['hello-deepa']);
  const picked: Record<string, HostTensor>[] = [];
  const scores: number[] = [];
  for (let seed = 1; picked.length < count && seed <= 500; seed++) {
    const request = { 'onnx::Flatten_0': fp32([1, 25, 96], wakeWordFeatures(seed)) };
    const score = (await direct.run(request))['39']!.data[0]!;
    if (scores.every((s) => Math.abs(s - score) >= 1e-5)) {
      picked.push(request);
      scores.push(score);
    }
  }
  await direct.release();
  if (picked.length < count) throw new Error(`only ${picked.length} wake-word inputs with distinct scores`);
  return picked;
}

describe('models that do not batch run each request alone', () => {
  const cases: { model: 'silero-v5' | 'silero-v4' | 'hello-deepa'; make: () => Promise<Record<string, HostTensor>[]> }[] = [
    { model: 'silero-v5', make: () => vadRequests('silero-v5', 24) },
    { model: 'silero-v4', make: () => vadRequests('silero-v4', 24) },
    { model: 'hello-deepa', make: () => distinctWakeWordRequests(24) },
  ];
  it.each(cases)('$model: 24 concurrent requests equal direct runs, in batches of exactly one request', async ({ model, make }) => {
    const requests = await make();
    const before = await batchRows(t, model);
    const { maxDiff, expected } = await servedVsDirect(model, requests, `${model}-alone`);
    expect(maxDiff).toBeLessThanOrEqual(1e-6);
    expect(smallestGap(requests, expected)).toBeGreaterThan(1e-6);

    const formed = batchesBetween(before, await batchRows(t, model));
    expect(formed).toEqual({ count: requests.length, rows: requests.length, single: requests.length });
    const batches = batchesFor(events, model, `${model}-alone`);
    expect(batches).toHaveLength(requests.length);
    for (const b of batches) expect(b).toHaveLength(1);
  });
});

describe('refusals', () => {
  it('ocr-det: a 33x32 image is 400 SLUICE_ERR_INPUT_REJECTED with the runtime reason and no source paths; 32x32 requests in flight with it and one after it succeed', async () => {
    const bad = { x: fp32([1, 3, 33, 32], digitImages(40, 1, 33, 32, 'imagenet')) };
    const raw = await directRun(MODELS['ocr-det'], bad).then(
      () => 'ran',
      (err: Error) => err.message,
    );
    // The runtime's own message names its source file and C++ frames; the answer must not.
    expect(raw).toMatch(/Attempting to broadcast an axis by a dimension other than 1/);
    expect(raw).toMatch(/\/onnxruntime_src\/.*\.h:\d+ .*onnxruntime::/);

    const good = Array.from({ length: 8 }, (_, i) => ({ x: fp32([1, 3, 32, 32], digitImages(50 + i, 1, 32, 32, 'imagenet')) }));
    const [refused, served] = await Promise.all([infer('ocr-det', bad, 'bad-33'), servedVsDirect('ocr-det', good, 'beside-bad-')]);
    expect(refused.status).toBe(400);
    expect(refused.json.code).toBe('SLUICE_ERR_INPUT_REJECTED');
    const message: string = refused.json.error;
    expect(message).toMatch(/Attempting to broadcast an axis by a dimension other than 1/);
    expect(message).not.toMatch(/\/onnxruntime_src|\.h:|\.cc:|onnxruntime::/);
    expect(JSON.stringify(refused.json)).not.toMatch(/\/onnxruntime_src|\.h:\d|\.cc:\d|onnxruntime::/);
    expect(served.maxDiff).toBeLessThanOrEqual(1e-6);

    // The refusal is logged once, for a batch that held only the bad request.
    await waitFor(() => t.logs.some((l) => l.msg === 'batch refused by the model' && l.model === 'ocr-det'), 5000);
    const refusedBatches = t.logs.filter((l) => l.msg === 'batch refused by the model' && l.model === 'ocr-det');
    expect(refusedBatches).toHaveLength(1);
    expect(refusedBatches[0]).toMatchObject({ code: 'SLUICE_ERR_INPUT_REJECTED', requests: 1, rows: 1 });

    const after = await servedVsDirect('ocr-det', [{ x: fp32([1, 3, 32, 32], digitImages(60, 1, 32, 32, 'imagenet')) }], 'after-bad-');
    expect(after.maxDiff).toBeLessThanOrEqual(1e-6);
  });

  it('hello-deepa: batch 2 is 400 SLUICE_ERR_INPUT_SHAPE (the graph fixes batch 1); a valid request after it succeeds', async () => {
    const two = new Float32Array(2 * 25 * 96);
    two.set(wakeWordFeatures(1), 0);
    two.set(wakeWordFeatures(2), 25 * 96);
    const refused = await infer('hello-deepa', { 'onnx::Flatten_0': fp32([2, 25, 96], two) }, 'deepa-2');
    expect(refused.status).toBe(400);
    expect(refused.json).toEqual({
      error: 'input "onnx::Flatten_0": shape must be [1,25,96]',
      code: 'SLUICE_ERR_INPUT_SHAPE',
      details: ['/inputs/0/shape/0: expected 1, got 2'],
    });
    const ok = await servedVsDirect('hello-deepa', [{ 'onnx::Flatten_0': fp32([1, 25, 96], wakeWordFeatures(2)) }], 'deepa-after-');
    expect(ok.maxDiff).toBeLessThanOrEqual(1e-6);
    expect(ok.expected[0]!['39']!.shape).toEqual([1, 1]);
  });
});
