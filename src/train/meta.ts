// meta.json: the lineage record of one model version. Deterministic by construction: no
// wall-clock time unless the caller passes `created`, keys in a fixed order.

import type { ClassifierConfig } from './classifier.js';

/** Written when no --created is given, so that re-running the trainer reproduces the bytes. */
export const DEFAULT_CREATED = '1970-01-01T00:00:00.000Z';
export const FRAMEWORK = 'sluice-train';

export interface LineageMeta {
  name: string;
  version: number;
  created: string;
  framework: typeof FRAMEWORK;
  codeVersion: string;
  algorithm: ClassifierConfig['algorithm'];
  hyperparameters: Record<string, unknown>;
  trainingData: { path: string; sha256: string; rows: number };
  metrics: { cvAccuracy: number; cvFolds: number; cvFoldAccuracies: number[]; trainAccuracy: number };
  referenceAccuracy: number;
  modelSha256: string;
  parentVersion: number | null;
}

export interface LineageInput {
  name: string;
  version: number;
  created: string;
  codeVersion: string;
  classifier: ClassifierConfig;
  trainingData: { path: string; sha256: string; rows: number };
  cvAccuracy: number;
  cvFoldAccuracies: readonly number[];
  trainAccuracy: number;
  referenceAccuracy: number;
  modelSha256: string;
  parentVersion: number | null;
}

export function buildLineageMeta(input: LineageInput): LineageMeta {
  const c = input.classifier;
  return {
    name: input.name,
    version: input.version,
    created: input.created,
    framework: FRAMEWORK,
    codeVersion: input.codeVersion,
    algorithm: c.algorithm,
    hyperparameters: {
      hiddenLayers: [...c.hiddenLayers],
      activation: c.hiddenLayers.length > 0 ? 'relu' : 'none',
      output: 'softmax',
      optimizer: c.optimizer,
      learningRate: c.learningRate,
      epochs: c.epochs,
      batchSize: c.batchSize,
      l2: c.l2,
      seed: c.seed,
      standardization: 'z-score on the training rows, folded into fc1',
    },
    trainingData: { ...input.trainingData },
    metrics: {
      cvAccuracy: round6(input.cvAccuracy),
      cvFolds: input.cvFoldAccuracies.length,
      cvFoldAccuracies: input.cvFoldAccuracies.map(round6),
      trainAccuracy: round6(input.trainAccuracy),
    },
    referenceAccuracy: input.referenceAccuracy,
    modelSha256: input.modelSha256,
    parentVersion: input.parentVersion,
  };
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
