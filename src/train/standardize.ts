// Feature standardisation, z = (x - mean) / std, the way scikit-learn's StandardScaler
// computes it (population std, ddof = 0). The trainers learn on z; the exported graph
// takes raw features because `foldStandardization` moves the scaling into the first layer.

import type { Dataset } from './dataset.js';
import type { DenseLayer } from './dense.js';

export interface Standardization {
  readonly mean: Float64Array;
  /** Never 0: a constant column (digits has several) gets std 1, so z = x - mean = 0. */
  readonly std: Float64Array;
}

/** Column means and population standard deviations of `data.x`. */
export function fitStandardization(data: Dataset): Standardization {
  const { rows, cols, x } = data;
  const mean = new Float64Array(cols);
  const std = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) mean[c]! += x[r * cols + c]!;
  }
  for (let c = 0; c < cols; c++) mean[c]! /= rows;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const d = x[r * cols + c]! - mean[c]!;
      std[c]! += d * d;
    }
  }
  for (let c = 0; c < cols; c++) {
    const s = Math.sqrt(std[c]! / rows);
    // Relative threshold: a column whose spread is rounding noise is treated as constant.
    std[c] = s > 1e-12 * Math.max(1, Math.abs(mean[c]!)) ? s : 1;
  }
  return { mean, std };
}

/** A standardised copy of `data` (labels shared, not copied). */
export function applyStandardization(data: Dataset, stats: Standardization): Dataset {
  const { rows, cols } = data;
  const x = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      x[i] = (data.x[i]! - stats.mean[c]!) / stats.std[c]!;
    }
  }
  return { ...data, x };
}

/**
 * A layer that computes on raw features what `layer` computes on standardised ones:
 * W'[o][i] = W[o][i] / std[i] and b'[o] = b[o] - Σ_i W[o][i] · mean[i] / std[i].
 */
export function foldStandardization(layer: DenseLayer, stats: Standardization): DenseLayer {
  const { inDim, outDim } = layer;
  if (stats.mean.length !== inDim) {
    throw new Error(`standardization has ${stats.mean.length} columns, layer takes ${inDim}`);
  }
  const weight = new Float64Array(outDim * inDim);
  const bias = new Float64Array(outDim);
  for (let o = 0; o < outDim; o++) {
    let shift = 0;
    for (let i = 0; i < inDim; i++) {
      const w = layer.weight[o * inDim + i]! / stats.std[i]!;
      weight[o * inDim + i] = w;
      shift += w * stats.mean[i]!;
    }
    bias[o] = layer.bias[o]! - shift;
  }
  return { ...layer, weight, bias };
}
