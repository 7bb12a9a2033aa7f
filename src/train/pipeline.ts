// One model, end to end and in memory: load the data, cross-validate, train the final
// model on every row, export ONNX, profile the reference, write the lineage. The CLI and
// the tests both call `buildModel`; only the CLI touches the model repository.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TrainedClassifier, predictLabels, rawFeatureNet, trainClassifier } from './classifier.js';
import { type Dataset, loadCsvDataset } from './dataset.js';
import { type DenseNet, accuracy, argmaxRows, predictProba, roundToFloat32 } from './dense.js';
import { encodeDenseNet } from './export-onnx.js';
import { formatJson } from './json.js';
import { type CvResult, crossValidate } from './kfold.js';
import { FRAMEWORK, type LineageMeta, buildLineageMeta } from './meta.js';
import { type ReferenceProfile, buildReferenceProfile } from './reference.js';
import type { ModelSpec } from './specs.js';

export const CV_FOLDS = 5;
/** A CV accuracy more than this far below the reference fails the build (2 points). */
export const MAX_ACCURACY_SHORTFALL = 0.02;

export const MODEL_FILE = 'model.onnx';
export const REFERENCE_FILE = 'reference.json';
export const META_FILE = 'meta.json';

export interface BuildOptions {
  /** Project root: `spec.dataPath` is resolved against it. */
  repoRoot: string;
  version: number;
  /** ISO 8601 timestamp recorded in meta.json. */
  created: string;
  /** package.json version, recorded as codeVersion and as the ONNX producer_version. */
  codeVersion: string;
  parentVersion?: number | null;
}

export interface ModelBuild {
  spec: ModelSpec;
  /** The raw training rows. */
  data: Dataset;
  cv: CvResult;
  trainAccuracy: number;
  /** CV accuracy within MAX_ACCURACY_SHORTFALL of the reference. */
  passed: boolean;
  trained: TrainedClassifier;
  /** Raw-feature net with float32 parameters: the computation model.onnx encodes. */
  servedNet: DenseNet;
  reference: ReferenceProfile;
  meta: LineageMeta;
  /** model.onnx, reference.json, meta.json, in the order they should be written. */
  files: Map<string, Uint8Array>;
}

export function buildModel(spec: ModelSpec, opts: BuildOptions): ModelBuild {
  const { dataset: data, sha256 } = loadCsvDataset(join(opts.repoRoot, spec.dataPath), spec.format);
  const config = spec.classifier;
  const cv = crossValidate(data, CV_FOLDS, (train, test) =>
    predictLabels(trainClassifier(config, train), test),
  );

  const trained = trainClassifier(config, data);
  const servedNet = roundToFloat32(rawFeatureNet(trained));
  const probabilities = predictProba(servedNet, data.x, data.rows);
  const labels = argmaxRows(probabilities, data.rows, data.classCount);
  const trainAccuracy = accuracy(labels, data.y);

  const onnx = encodeDenseNet(servedNet, {
    inputName: spec.inputName,
    graphName: spec.name,
    producerName: FRAMEWORK,
    producerVersion: opts.codeVersion,
    docString: spec.description,
  });
  const reference = buildReferenceProfile({
    data,
    featureNames: spec.featureNames,
    classNames: spec.classNames,
    probabilities,
    labels,
  });
  const meta = buildLineageMeta({
    name: spec.name,
    version: opts.version,
    created: opts.created,
    codeVersion: opts.codeVersion,
    classifier: config,
    trainingData: { path: spec.dataPath, sha256, rows: data.rows },
    cvAccuracy: cv.accuracy,
    cvFoldAccuracies: cv.foldAccuracies,
    trainAccuracy,
    referenceAccuracy: spec.referenceAccuracy,
    modelSha256: createHash('sha256').update(onnx).digest('hex'),
    parentVersion: opts.parentVersion ?? null,
  });
  const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
  const files = new Map<string, Uint8Array>([
    [MODEL_FILE, onnx],
    [REFERENCE_FILE, utf8(formatJson(reference))],
    // Last: a reader that sees meta.json sees the model it describes.
    [META_FILE, utf8(formatJson(meta))],
  ]);
  return {
    spec,
    data,
    cv,
    trainAccuracy,
    passed: spec.referenceAccuracy - cv.accuracy <= MAX_ACCURACY_SHORTFALL + 1e-12,
    trained,
    servedNet,
    reference,
    meta,
    files,
  };
}

/** The `version` field of `<repoRoot>/package.json`. */
export function readCodeVersion(repoRoot: string): string {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error(`${repoRoot}/package.json has no version`);
  return pkg.version;
}
