// The demo-model trainer and its ONNX writer, checked against onnxruntime and against the
// committed artifacts in models/<name>/1/. The expensive part (cross-validation and final
// training of both models, ~15 s) runs once in beforeAll.

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyStandardization } from '../src/train/standardize.js';
import { argmaxRows, predictProba } from '../src/train/dense.js';
import { writeVersionDir } from '../src/train/files.js';
import { kFolds } from '../src/train/kfold.js';
import { DEFAULT_CREATED } from '../src/train/meta.js';
import { encodeOnnxModel } from '../src/train/onnx.js';
import {
  MAX_ACCURACY_SHORTFALL,
  META_FILE,
  MODEL_FILE,
  type ModelBuild,
  REFERENCE_FILE,
  buildModel,
  readCodeVersion,
} from '../src/train/pipeline.js';
import { ProtoWriter } from '../src/train/protobuf.js';
import { binIndex, quantileEdges } from '../src/train/reference.js';
import { MODEL_SPECS } from '../src/train/specs.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const committedDir = (name: string): string => join(repoRoot, 'models', name, '1');
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

const builds = new Map<string, ModelBuild>();
let outDir = '';

beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'sluice-train-'));
  const codeVersion = readCodeVersion(repoRoot);
  for (const spec of MODEL_SPECS) {
    const build = buildModel(spec, { repoRoot, version: 1, created: DEFAULT_CREATED, codeVersion });
    writeVersionDir(join(outDir, spec.name, '1'), build.files);
    builds.set(spec.name, build);
  }
}, 120_000);

afterAll(() => {
  if (outDir !== '') rmSync(outDir, { recursive: true, force: true });
});

function getBuild(name: string): ModelBuild {
  const build = builds.get(name);
  if (!build) throw new Error(`no build for ${name}`);
  return build;
}

/** Every `step`-th row of the data set as float32, the way a client would send it. */
function sampleRows(build: ModelBuild, count: number): { x: Float32Array; y: Int32Array; rows: number } {
  const { data } = build;
  const step = Math.max(1, Math.floor(data.rows / count));
  const rows = Math.ceil(data.rows / step);
  const x = new Float32Array(rows * data.cols);
  const y = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    x.set(data.x.subarray(i * step * data.cols, (i * step + 1) * data.cols), i * data.cols);
    y[i] = data.y[i * step]!;
  }
  return { x, y, rows };
}

describe.each(MODEL_SPECS.map((spec) => [spec.name, spec] as const))('%s', (name, spec) => {
  it('committed model.onnx declares its inputs and outputs with a dynamic batch dim', async () => {
    const session = await ort.InferenceSession.create(join(committedDir(name), MODEL_FILE));
    try {
      expect(session.inputNames).toEqual([spec.inputName]);
      expect(session.outputNames).toEqual(['probabilities', 'label']);
      const shapes = [...session.inputMetadata, ...session.outputMetadata].map((m) =>
        m.isTensor ? [m.name, m.type, m.shape] : [m.name],
      );
      expect(shapes).toEqual([
        [spec.inputName, 'float32', ['batch', spec.featureNames.length]],
        ['probabilities', 'float32', ['batch', spec.classNames.length]],
        ['label', 'int64', ['batch']],
      ]);
    } finally {
      await session.release();
    }
  });

  it('committed model.onnx computes what the trainer computes, and label = argmax', async () => {
    const build = getBuild(name);
    const { x, rows } = sampleRows(build, 300);
    expect(rows).toBeGreaterThanOrEqual(280);
    const classes = spec.classNames.length;
    const session = await ort.InferenceSession.create(join(committedDir(name), MODEL_FILE));
    try {
      const result = await session.run({
        [spec.inputName]: new ort.Tensor('float32', x, [rows, spec.featureNames.length]),
      });
      const probs = result.probabilities!;
      const label = result.label!;
      expect(probs.dims).toEqual([rows, classes]);
      expect(label.dims).toEqual([rows]);
      expect(label.type).toBe('int64');

      const expected = predictProba(build.servedNet, Float64Array.from(x), rows);
      const got = probs.data as Float32Array;
      let maxDiff = 0;
      for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - expected[i]!));
      expect(maxDiff).toBeLessThan(1e-5);

      const labels = Array.from(label.data as BigInt64Array, Number);
      expect(labels).toEqual(Array.from(argmaxRows(got, rows, classes)));
      expect(labels).toEqual(Array.from(argmaxRows(expected, rows, classes)));

      // One row: the batch dimension really is dynamic.
      const single = await session.run({
        [spec.inputName]: new ort.Tensor('float32', x.subarray(0, spec.featureNames.length), [1, spec.featureNames.length]),
      });
      expect(single.probabilities!.dims).toEqual([1, classes]);
      const first = single.probabilities!.data as Float32Array;
      for (let k = 0; k < classes; k++) expect(Math.abs(first[k]! - got[k]!)).toBeLessThan(1e-6);
    } finally {
      await session.release();
    }
  });

  it('folding standardisation into the first layer preserves the trained function', () => {
    const build = getBuild(name);
    const { data, trained } = build;
    const onZ = predictProba(trained.net, applyStandardization(data, trained.standardization).x, data.rows);
    const onRaw = predictProba(build.servedNet, data.x, data.rows);
    let maxDiff = 0;
    for (let i = 0; i < onZ.length; i++) maxDiff = Math.max(maxDiff, Math.abs(onZ[i]! - onRaw[i]!));
    // float32 rounding of the folded parameters is the only difference.
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it('re-running the export reproduces the committed files byte for byte', () => {
    for (const file of [MODEL_FILE, REFERENCE_FILE, META_FILE]) {
      const fresh = readFileSync(join(outDir, name, '1', file));
      const committed = readFileSync(join(committedDir(name), file));
      expect(`${file} ${sha256(fresh)}`).toBe(`${file} ${sha256(committed)}`);
    }
  });

  it('cross-validated accuracy is within 2 points of the scikit-learn reference', () => {
    const build = getBuild(name);
    expect(build.cv.foldAccuracies).toHaveLength(5);
    expect(build.cv.accuracy).toBeGreaterThanOrEqual(spec.referenceAccuracy - MAX_ACCURACY_SHORTFALL);
    expect(build.passed).toBe(true);
    expect(build.trainAccuracy).toBeGreaterThanOrEqual(build.cv.accuracy);
  });

  it('meta.json and reference.json describe the committed model', () => {
    const meta = JSON.parse(readFileSync(join(committedDir(name), META_FILE), 'utf8'));
    expect(meta.modelSha256).toBe(sha256(readFileSync(join(committedDir(name), MODEL_FILE))));
    expect(meta.trainingData.sha256).toBe(sha256(readFileSync(join(repoRoot, spec.dataPath))));
    expect(meta).toMatchObject({ name, version: 1, created: DEFAULT_CREATED, framework: 'sluice-train', parentVersion: null });
    expect(meta.metrics.cvFolds).toBe(5);

    const ref = JSON.parse(readFileSync(join(committedDir(name), REFERENCE_FILE), 'utf8'));
    expect(ref.rows).toBe(getBuild(name).data.rows);
    expect(ref.features.map((f: { name: string }) => f.name)).toEqual(spec.featureNames);
    const histograms = [...ref.features, ref.outputs.probabilities];
    for (const h of histograms as { edges: number[]; shares: number[] }[]) {
      expect(h.shares).toHaveLength(h.edges.length + 1);
      expect(h.edges.every((e, i) => i === 0 || e > h.edges[i - 1]!)).toBe(true);
      expect(h.shares.every((s) => s > 0)).toBe(true);
      expect(h.shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    }
    expect(ref.outputs.label.names).toEqual(spec.classNames);
    expect(ref.outputs.label.shares.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 9);
  });
});

describe('feature names', () => {
  it('follow the data sets’ documented column order', () => {
    const [breast, digits] = MODEL_SPECS;
    expect(breast!.featureNames.slice(0, 2)).toEqual(['mean_radius', 'mean_texture']);
    expect(breast!.featureNames[17]).toBe('se_concave_points');
    expect(breast!.featureNames[29]).toBe('worst_fractal_dimension');
    expect(digits!.featureNames[0]).toBe('pixel_0_0');
    expect(digits!.featureNames[10]).toBe('pixel_1_2');
    expect(digits!.featureNames[63]).toBe('pixel_7_7');
  });
});

describe('kFolds', () => {
  it('makes scikit-learn KFold(shuffle=False) folds: contiguous, the first rows % k one larger', () => {
    expect(kFolds(569, 5).map((f) => f.test.length)).toEqual([114, 114, 114, 114, 113]);
    expect(kFolds(1797, 5).map((f) => f.test.length)).toEqual([360, 360, 359, 359, 359]);
    const folds = kFolds(11, 3);
    expect(folds.map((f) => Array.from(f.test))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]);
    expect(Array.from(folds[1]!.train)).toEqual([0, 1, 2, 3, 8, 9, 10]);
  });
});

describe('reference binning', () => {
  it('uses deduplicated quantile edges above the minimum, left-closed bins', () => {
    const discrete = [0, 0, 0, 0, 0, 0, 0, 1, 1, 3];
    const edges = quantileEdges(discrete, 10);
    expect(edges).toEqual([1, 3]);
    expect([-1, 0, 0.5, 1, 2, 3, 99].map((v) => binIndex(edges, v))).toEqual([0, 0, 0, 1, 1, 2, 2]);
    expect(quantileEdges([5, 5, 5], 10)).toEqual([]);
  });
});

describe('protobuf writer', () => {
  it('encodes varints, negative int64 and lengths as the wire format specifies', () => {
    expect(Array.from(new ProtoWriter().varintField(1, 300).finish())).toEqual([0x08, 0xac, 0x02]);
    expect(Array.from(new ProtoWriter().varintField(3, -1).finish())).toEqual([
      0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ]);
    expect(Array.from(new ProtoWriter().stringField(2, 'hi').finish())).toEqual([0x12, 0x02, 0x68, 0x69]);
    expect(Array.from(new ProtoWriter().floatField(2, 1).finish())).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f]);
  });
});

describe('ONNX writer', () => {
  const tinyModel = (argmaxAxis: number) =>
    encodeOnnxModel({
      irVersion: 7,
      opsetImports: [{ domain: '', version: 13 }],
      producerName: 'sluice-test',
      producerVersion: '0',
      graph: {
        name: 'tiny',
        nodes: [
          { name: 'add', opType: 'Add', inputs: ['a', 'b'], outputs: ['sum'] },
          { name: 'scale', opType: 'Mul', inputs: ['sum', 'k'], outputs: ['scaled'] },
          {
            name: 'argmax',
            opType: 'ArgMax',
            inputs: ['scaled'],
            outputs: ['idx'],
            attributes: [
              { name: 'axis', type: 'int', value: argmaxAxis },
              { name: 'keepdims', type: 'int', value: 0 },
            ],
          },
        ],
        initializers: [{ name: 'k', elemType: 'float32', dims: [3], data: Float32Array.of(1, -2, 0.5) }],
        inputs: [
          { name: 'a', elemType: 'float32', shape: ['n', 3] },
          { name: 'b', elemType: 'float32', shape: ['n', 3] },
        ],
        outputs: [
          { name: 'sum', elemType: 'float32', shape: ['n', 3] },
          { name: 'scaled', elemType: 'float32', shape: ['n', 3] },
          { name: 'idx', elemType: 'int64', shape: ['n'] },
        ],
      },
    });

  it('writes a graph that onnxruntime loads and computes correctly', async () => {
    // axis -1 exercises the ten-byte negative varint.
    const session = await ort.InferenceSession.create(tinyModel(-1));
    try {
      const a = new ort.Tensor('float32', Float32Array.of(1, 2, 3, -4, 5, 6), [2, 3]);
      const b = new ort.Tensor('float32', Float32Array.of(10, 20, 30, 4, -8, 0.5), [2, 3]);
      const out = await session.run({ a, b });
      expect(Array.from(out.sum!.data as Float32Array)).toEqual([11, 22, 33, 0, -3, 6.5]);
      expect(Array.from(out.scaled!.data as Float32Array)).toEqual([11, -44, 16.5, 0, 6, 3.25]);
      expect(Array.from(out.idx!.data as BigInt64Array)).toEqual([2n, 1n]);
    } finally {
      await session.release();
    }
  });

  it('is deterministic and rejects a node input that is not defined', () => {
    expect(sha256(tinyModel(-1))).toBe(sha256(tinyModel(-1)));
    expect(() =>
      encodeOnnxModel({
        irVersion: 7,
        opsetImports: [{ domain: '', version: 13 }],
        producerName: 'sluice-test',
        producerVersion: '0',
        graph: {
          name: 'broken',
          nodes: [{ name: 'add', opType: 'Add', inputs: ['a', 'missing'], outputs: ['y'] }],
          initializers: [],
          inputs: [{ name: 'a', elemType: 'float32', shape: [1] }],
          outputs: [{ name: 'y', elemType: 'float32', shape: [1] }],
        },
      }),
    ).toThrow(/input missing is not defined/);
  });
});
