// The gateway with the native addon deliberately off (--disable-native) and on: it starts, says
// which codec serves (log and GET /v2), answers the same bytes either way, and its FP32 outputs are
// the shortest text of the float32 onnxruntime computed (compared with a direct run).
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { getJson, MODELS, postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { digitsRows, directRun } from './helpers/ort.js';

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

const rows = digitsRows(8);
const body = { id: 'n-1', inputs: [{ name: 'pixels', datatype: 'FP32', shape: [8, 64], data: rows }] };

async function answer(disableNative: boolean) {
  t = await startTestGateway({ models: ['digits'], config: { disableNative } });
  const meta = (await getJson(`${t.url}/v2`)).json;
  const r = await postJson(`${t.url}/v2/models/digits/infer`, body);
  expect(r.status).toBe(200);
  const logs = t.logs.filter((l) => String(l.msg).startsWith('native core'));
  await t.stop();
  t = undefined;
  return { meta, text: r.text, json: r.json, logs };
}

it('serves with the addon off, says so, and answers the bytes the addon answers', async () => {
  const off = await answer(true);
  expect(off.meta.native).toEqual({ impl: 'fallback', reason: 'disabled by --disable-native' });
  expect(off.logs).toEqual([expect.objectContaining({ level: 40, native: 'fallback', reason: 'disabled by --disable-native' })]);

  const on = await answer(false);
  if (process.env.SLUICE_SKIP_NATIVE_BUILD !== '1') {
    expect(on.meta.native).toEqual({ impl: 'addon' });
    expect(on.logs).toEqual([expect.objectContaining({ level: 30, native: 'addon' })]);
  }
  expect(on.text).toBe(off.text);

  // The probabilities are onnxruntime's float32 values, each written as its shortest text.
  const want = await directRun(path.join(MODELS, 'digits/1/model.onnx'), 'pixels', rows);
  const probs: number[] = on.json.outputs[0].data;
  expect(probs.map((p) => Math.fround(p))).toEqual(want.flatMap((w) => w.probabilities));
  const texts = /"name":"probabilities".*?"data":\[([^\]]*)\]/.exec(on.text)![1]!.split(',');
  for (const s of texts) expect(s.replace(/^-|e.*$|\./g, '').replace(/^0+/, '').length, s).toBeLessThanOrEqual(9);
  expect(on.json.outputs[1].data).toEqual(want.map((w) => w.label));
});
