// A recurrent model batched on a dim other than 0: Silero VAD v5 with a model.json of only what
// its graph cannot say (state/stateN batch on dim 1; the rank-0 sample rate is shared by a batch).
// Many streams, each carrying its own state through the gateway, must get exactly what a direct
// onnxruntime-node run of that stream alone gives, step after step.
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { getJson, postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/load.js';
import {
  batchesBetween,
  batchesFor,
  batchRows,
  fp32,
  inferBody,
  int64,
  makeModelRepository,
  maxAbsDiff,
  openDirect,
  recordPredictions,
  servedOutputs,
  speechLikeAudio,
  THIRD_PARTY,
  type HostTensor,
  type PlainTensor,
  type Prediction,
} from './helpers/third-party.js';

const MODEL_JSON = `{ "batching": { "maxBatchSize": 16, "maxQueueDelayUs": 2000 },
  "inputs": [{ "name": "state", "batchDim": 1 }],
  "outputs": [{ "name": "stateN", "batchDim": 1 }] }`;

const STREAMS = 16;
const STEPS = 50;
const CHUNK = 512; // samples per step at 16 kHz

let t: TestGateway;
let events: Prediction[];
beforeAll(async () => {
  const dir = await makeModelRepository({
    silero: { file: THIRD_PARTY.sileroV5, modelJson: MODEL_JSON },
    'silero-plain': { file: THIRD_PARTY.sileroV5 },
  });
  t = await startTestGateway({ modelsDir: dir, config: { predictionLogInputSample: 1 } });
  events = recordPredictions(t);
});
afterAll(async () => {
  await t?.stop();
  if (t) await rm(t.modelsDir, { recursive: true, force: true });
});

const vadInputs = (audio: Float32Array, rows: number, state: Float32Array, srHz: number): Record<string, HostTensor> => ({
  input: fp32([rows, audio.length / rows], audio),
  state: fp32([2, rows, 128], state),
  sr: int64([], [srHz]),
});

async function infer(model: string, inputs: Record<string, HostTensor>, id: string): Promise<Record<string, PlainTensor>> {
  const a = await postJson(`${t.url}/v2/models/${model}/infer`, inferBody(inputs, id));
  if (a.status !== 200) throw new Error(`${id}: ${a.status} ${a.text}`);
  expect(a.json.id).toBe(id);
  return servedOutputs(a.json);
}

/** Runs one stream alone (batch 1) in this process: output and stateN of every step. */
async function directStream(direct: Awaited<ReturnType<typeof openDirect>>, audio: Float32Array, steps: number) {
  const out: Record<string, PlainTensor>[] = [];
  let state = new Float32Array(2 * 128);
  for (let k = 0; k < steps; k++) {
    const r = await direct.run(vadInputs(audio.slice(k * CHUNK, (k + 1) * CHUNK), 1, state, 16000));
    out.push(r);
    state = Float32Array.from(r.stateN!.data);
  }
  return out;
}

/** Serves one stream step by step, each step sending the stateN the previous answer gave. */
async function servedStream(model: string, audio: Float32Array, steps: number, idPrefix: string) {
  const out: Record<string, PlainTensor>[] = [];
  let state = new Float32Array(2 * 128);
  for (let k = 0; k < steps; k++) {
    const r = await infer(model, vadInputs(audio.slice(k * CHUNK, (k + 1) * CHUNK), 1, state, 16000), `${idPrefix}-${k}`);
    expect(r.stateN!.shape).toEqual([2, 1, 128]);
    out.push(r);
    state = Float32Array.from(r.stateN!.data);
  }
  return out;
}

function diffPerName(served: Record<string, PlainTensor>[], direct: Record<string, PlainTensor>[]): Record<string, number> {
  const max: Record<string, number> = {};
  served.forEach((s, k) => {
    for (const name of ['output', 'stateN']) max[name] = Math.max(max[name] ?? 0, maxAbsDiff(s[name]!, direct[k]![name]!));
  });
  return max;
}

it('/config: state and stateN batch on dim 1, sr has none, input and output on dim 0; the rest comes from the graph', async () => {
  const config = await getJson(`${t.url}/v2/models/silero/config`);
  expect(config.status).toBe(200);
  expect(config.json).toMatchObject({
    source: 'model.json + graph',
    inputs: [
      { name: 'input', datatype: 'FP32', shape: [-1, -1], batchDim: 0 },
      { name: 'state', datatype: 'FP32', shape: [2, -1, 128], batchDim: 1 },
      { name: 'sr', datatype: 'INT64', shape: [], batchDim: null },
    ],
    outputs: [
      { name: 'output', datatype: 'FP32', shape: [-1, 1], batchDim: 0 },
      { name: 'stateN', datatype: 'FP32', shape: [-1, -1, -1], batchDim: 1 },
    ],
    batching: { maxBatchSize: 16, maxQueueDelayUs: 2000 },
  });
  const meta = await getJson(`${t.url}/v2/models/silero`);
  expect(meta.json.parameters).toMatchObject({ state: 'READY', max_batch_size: 16 });
  const plain = await getJson(`${t.url}/v2/models/silero-plain/config`);
  expect(plain.json).toMatchObject({ source: 'graph', batching: { maxBatchSize: 0 } });
  expect(plain.json.inputs.map((i: { batchDim: unknown }) => i.batchDim)).toEqual([null, null, null]);
});

it(`${STREAMS} concurrent streams x ${STEPS} steps, each carrying its own state, equal each stream run alone (|diff| <= 1e-6), in batches > 1`, async () => {
  const audio = Array.from({ length: STREAMS }, (_, s) => speechLikeAudio(1000 + s, STEPS * CHUNK, 16000));
  const direct = await openDirect(THIRD_PARTY.sileroV5);
  const expected: Record<string, PlainTensor>[][] = [];
  for (const a of audio) expected.push(await directStream(direct, a, STEPS));
  await direct.release();
  // The streams differ and the detector reacts to the audio, so a state or an answer handed to
  // the wrong stream (or the wrong step) would show.
  const probs = expected.map((steps) => steps.map((s) => s.output!.data[0]!));
  expect(Math.max(...probs.flat()) - Math.min(...probs.flat())).toBeGreaterThan(0.1);
  expect(maxAbsDiff(expected[0]![STEPS - 1]!.stateN!, expected[1]![STEPS - 1]!.stateN!)).toBeGreaterThan(1e-3);

  const before = await batchRows(t, 'silero');
  const served = await Promise.all(audio.map((a, s) => servedStream('silero', a, STEPS, `stream${s}`)));
  const worst = { output: 0, stateN: 0 };
  served.forEach((steps, s) => {
    const d = diffPerName(steps, expected[s]!);
    worst.output = Math.max(worst.output, d.output!);
    worst.stateN = Math.max(worst.stateN, d.stateN!);
  });
  expect(worst.output).toBeLessThanOrEqual(1e-6);
  expect(worst.stateN).toBeLessThanOrEqual(1e-6);

  const formed = batchesBetween(before, await batchRows(t, 'silero'));
  expect(formed.rows).toBe(STREAMS * STEPS);
  expect(formed.count).toBeLessThan(STREAMS * STEPS);
  expect(formed.count - formed.single).toBeGreaterThan(0);
  await waitFor(() => events.filter((e) => e.model === 'silero' && e.id.startsWith('stream')).length === STREAMS * STEPS, 5000);
  const batches = batchesFor(events, 'silero', 'stream');
  for (const b of batches) expect(b.length).toBe(b[0]!.batchRows); // one row per request here
  expect(Math.max(...batches.map((b) => b.length))).toBeGreaterThan(1);
  expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(16);
});

it('sr 8000 and 16000 requests of the same shape in flight together never share a batch; each equals a direct run with its own sr', async () => {
  // v5 takes 256 samples at 8 kHz; at 16 kHz it runs on 256 too, so only sr tells the pairs apart.
  const requests: Record<string, HostTensor>[] = [];
  for (let i = 0; i < 12; i++) {
    const rows = i % 4 === 3 ? 2 : 1;
    const audio = new Float32Array(rows * 256);
    for (let r = 0; r < rows; r++) audio.set(speechLikeAudio(2000 + 2 * i + r, 2048, 8000).subarray(1024, 1280), r * 256);
    const state = new Float32Array(2 * rows * 128);
    for (let k = 0; k < state.length; k++) state[k] = 0.2 * Math.sin(k * 0.37 + i); // a state mid-stream
    requests.push(vadInputs(audio, rows, state, 16000), vadInputs(audio.slice(), rows, state.slice(), 8000));
  }
  const direct = await openDirect(THIRD_PARTY.sileroV5);
  const expected: Record<string, PlainTensor>[] = [];
  for (const r of requests) expected.push(await direct.run(r));
  await direct.release();
  for (let i = 0; i < requests.length; i += 2) {
    expect(maxAbsDiff(expected[i]!.output!, expected[i + 1]!.output!)).toBeGreaterThan(1e-3); // sr changes the answer
  }

  const served = await Promise.all(requests.map((r, i) => infer('silero', r, `sr${i}`)));
  let worst = 0;
  served.forEach((s, i) => {
    for (const name of ['output', 'stateN']) worst = Math.max(worst, maxAbsDiff(s[name]!, expected[i]![name]!));
  });
  expect(worst).toBeLessThanOrEqual(1e-6);

  await waitFor(() => events.filter((e) => e.model === 'silero' && e.id.startsWith('sr')).length === requests.length, 5000);
  const batches = batchesFor(events, 'silero', 'sr');
  for (const b of batches) {
    expect(new Set(b.map((e) => e.inputs.sr!.values![0])).size).toBe(1);
    expect(b.reduce((n, e) => n + e.inputs.input!.shape[0]!, 0)).toBe(b[0]!.batchRows);
  }
  expect(Math.max(...batches.map((b) => b.length))).toBeGreaterThan(1); // batching was on, and still kept them apart
});

it('the same VAD file with and without the model.json gives the same answers, stream by stream', async () => {
  const streams = 4;
  const steps = 10;
  const audio = Array.from({ length: streams }, (_, s) => speechLikeAudio(3000 + s, steps * CHUNK, 16000));
  const [withJson, without] = await Promise.all([
    Promise.all(audio.map((a, s) => servedStream('silero', a, steps, `same-json${s}`))),
    Promise.all(audio.map((a, s) => servedStream('silero-plain', a, steps, `same-plain${s}`))),
  ]);
  const direct = await openDirect(THIRD_PARTY.sileroV5);
  let worst = 0;
  for (let s = 0; s < streams; s++) {
    const alone = await directStream(direct, audio[s]!, steps);
    const vsPlain = diffPerName(withJson[s]!, without[s]!);
    const vsDirect = diffPerName(without[s]!, alone);
    worst = Math.max(worst, vsPlain.output!, vsPlain.stateN!, vsDirect.output!, vsDirect.stateN!);
  }
  await direct.release();
  expect(worst).toBeLessThanOrEqual(1e-6);
  // The plain one ran each request alone; the configured one was free to batch.
  await waitFor(() => events.filter((e) => e.id.startsWith('same-')).length === 2 * streams * steps, 5000);
  const plainBatches = batchesFor(events, 'silero-plain', 'same-plain');
  expect(plainBatches).toHaveLength(streams * steps);
  for (const b of plainBatches) expect(b).toHaveLength(1);
});
