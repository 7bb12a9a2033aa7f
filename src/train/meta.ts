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

/** The logged half of a retrained version's training data (train/retrain-data.ts). */
export interface LoggedTrainingData {
  /** The log paths as the job was given them (rotated PATH.N files were read too). */
  predictionLog: string;
  feedbackLog: string;
  /** retrain-data.ts rowsSha256 of every joined row used (training and holdout). */
  sha256: string;
  /** Joined rows: trainRows (the older) + holdoutRows (the most recent, never trained on). */
  rows: number;
  trainRows: number;
  holdoutRows: number;
  /** How many times each logged training row was repeated in the training set. */
  recentWeight: number;
}

/**
 * meta.json of a version the retraining job wrote: the trainer's fields, except that
 * `trainingData` has the base file and the logged rows, `metrics` the holdout check instead of
 * cross-validation, `parentVersion` is always set, and `trigger` is the retrain event, if any.
 */
export interface RetrainLineageMeta extends Omit<LineageMeta, 'trainingData' | 'metrics' | 'parentVersion'> {
  trainingData: { base: LineageMeta['trainingData']; logged: LoggedTrainingData };
  metrics: { holdoutAccuracy: number; parentHoldoutAccuracy: number; holdoutRows: number; trainAccuracy: number };
  parentVersion: number;
  trigger?: unknown;
}

export interface RetrainLineageInput extends Omit<LineageInput, 'cvAccuracy' | 'cvFoldAccuracies' | 'parentVersion'> {
  logged: LoggedTrainingData;
  holdoutAccuracy: number;
  parentHoldoutAccuracy: number;
  parentVersion: number;
  trigger?: unknown;
}

export function buildRetrainLineageMeta(input: RetrainLineageInput): RetrainLineageMeta {
  const base = buildLineageMeta({ ...input, cvAccuracy: 0, cvFoldAccuracies: [] });
  // Spread then replace: the keys keep the trainer's order.
  return {
    ...base,
    trainingData: { base: base.trainingData, logged: { ...input.logged } },
    metrics: {
      holdoutAccuracy: round6(input.holdoutAccuracy),
      parentHoldoutAccuracy: round6(input.parentHoldoutAccuracy),
      holdoutRows: input.logged.holdoutRows,
      trainAccuracy: base.metrics.trainAccuracy,
    },
    parentVersion: input.parentVersion,
    ...(input.trigger === undefined ? {} : { trigger: input.trigger }),
  };
}
