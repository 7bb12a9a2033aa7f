// A standardised dense classifier: the two algorithms the trainer offers (logistic
// regression and a ReLU MLP) as presets of one recipe — fit standardisation on the training
// rows, train a DenseNet on z-scores, fold the scaling into the first layer for export.

import type { Dataset } from './dataset.js';
import { type DenseNet, argmaxRows, initDenseNet, predictProba } from './dense.js';
import { fitDenseNet } from './fit.js';
import { Prng } from './prng.js';
import {
  type Standardization,
  applyStandardization,
  fitStandardization,
  foldStandardization,
} from './standardize.js';

export type AlgorithmName = 'logistic-regression' | 'mlp';

/** Everything that determines a trained model besides the data. Written into meta.json. */
export interface ClassifierConfig {
  readonly algorithm: AlgorithmName;
  /** Hidden layer widths (ReLU); [] for logistic regression. */
  readonly hiddenLayers: readonly number[];
  readonly optimizer: 'adam';
  readonly learningRate: number;
  readonly epochs: number;
  /** Rows per update, or 'full' for full-batch gradient descent. */
  readonly batchSize: number | 'full';
  /** λ in mean cross-entropy + λ/2 · Σ w². */
  readonly l2: number;
  /** Seeds initialisation and batch order. */
  readonly seed: number;
}

/** Multinomial (softmax) logistic regression, full-batch Adam from zero weights. */
export function logisticRegression(
  opts: Partial<Omit<ClassifierConfig, 'algorithm' | 'hiddenLayers'>> = {},
): ClassifierConfig {
  return {
    algorithm: 'logistic-regression',
    hiddenLayers: [],
    optimizer: 'adam',
    learningRate: opts.learningRate ?? 0.05,
    epochs: opts.epochs ?? 500,
    batchSize: opts.batchSize ?? 'full',
    l2: opts.l2 ?? 0.0044,
    seed: opts.seed ?? 1,
  };
}

/** A ReLU multi-layer perceptron with a softmax head, mini-batch Adam. */
export function mlp(opts: Partial<Omit<ClassifierConfig, 'algorithm'>> = {}): ClassifierConfig {
  return {
    algorithm: 'mlp',
    hiddenLayers: opts.hiddenLayers ?? [64],
    optimizer: 'adam',
    learningRate: opts.learningRate ?? 2e-3,
    epochs: opts.epochs ?? 30,
    batchSize: opts.batchSize ?? 32,
    l2: opts.l2 ?? 1e-4,
    seed: opts.seed ?? 1,
  };
}

export interface TrainedClassifier {
  readonly config: ClassifierConfig;
  readonly standardization: Standardization;
  /** Operates on standardised features. */
  readonly net: DenseNet;
}

export function trainClassifier(config: ClassifierConfig, data: Dataset): TrainedClassifier {
  const standardization = fitStandardization(data);
  const z = applyStandardization(data, standardization);
  const prng = new Prng(config.seed);
  const sizes = [data.cols, ...config.hiddenLayers, data.classCount];
  // Logistic regression is convex: start from zero like most solvers do.
  const initial = initDenseNet(sizes, prng, config.hiddenLayers.length === 0);
  const net = fitDenseNet(initial, z, {
    epochs: config.epochs,
    batchSize: config.batchSize === 'full' ? data.rows : config.batchSize,
    learningRate: config.learningRate,
    l2: config.l2,
    // Derived from, but not equal to, the init stream's seed.
    seed: (config.seed * 0x9e3779b1 + 1) >>> 0,
  });
  return { config, standardization, net };
}

/** The net on raw features: standardisation folded into the first layer (float64). */
export function rawFeatureNet(trained: TrainedClassifier): DenseNet {
  const [first, ...rest] = trained.net.layers;
  return { layers: [foldStandardization(first!, trained.standardization), ...rest] };
}

/** Predicted labels for raw (unstandardised) rows. */
export function predictLabels(trained: TrainedClassifier, data: Dataset): Int32Array {
  const z = applyStandardization(data, trained.standardization);
  return argmaxRows(predictProba(trained.net, z.x, z.rows), z.rows, data.classCount);
}
