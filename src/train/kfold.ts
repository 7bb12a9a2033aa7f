// k-fold cross-validation with contiguous, unshuffled folds — the split scikit-learn's
// KFold(n_splits=k, shuffle=False) makes, so accuracies compare with its reference numbers.

import { type Dataset, selectRows } from './dataset.js';
import { accuracy } from './dense.js';

export interface Fold {
  /** Row indices of the held-out part, ascending and contiguous. */
  test: Int32Array;
  /** All other rows, ascending. */
  train: Int32Array;
}

/**
 * The first rows % k folds get ⌊rows/k⌋ + 1 rows, the others ⌊rows/k⌋; fold i holds out the
 * i-th contiguous block.
 */
export function kFolds(rows: number, k: number): Fold[] {
  if (!Number.isInteger(k) || k < 2 || k > rows) throw new Error(`cannot make ${k} folds of ${rows} rows`);
  const folds: Fold[] = [];
  let start = 0;
  for (let i = 0; i < k; i++) {
    const size = Math.floor(rows / k) + (i < rows % k ? 1 : 0);
    const test = new Int32Array(size);
    const train = new Int32Array(rows - size);
    for (let j = 0; j < size; j++) test[j] = start + j;
    let t = 0;
    for (let r = 0; r < rows; r++) if (r < start || r >= start + size) train[t++] = r;
    folds.push({ test, train });
    start += size;
  }
  return folds;
}

export interface CvResult {
  /** Mean of the per-fold accuracies (what cross_val_score(...).mean() reports). */
  accuracy: number;
  foldAccuracies: number[];
}

/**
 * Trains on each fold's training rows and scores on its held-out rows. `trainAndPredict`
 * must fit everything (standardisation included) on `train` only.
 */
export function crossValidate(
  data: Dataset,
  k: number,
  trainAndPredict: (train: Dataset, test: Dataset, fold: number) => Int32Array,
): CvResult {
  const foldAccuracies = kFolds(data.rows, k).map((fold, i) => {
    const test = selectRows(data, fold.test);
    return accuracy(trainAndPredict(selectRows(data, fold.train), test, i), test.y);
  });
  const mean = foldAccuracies.reduce((a, b) => a + b, 0) / k;
  return { accuracy: mean, foldAccuracies };
}
