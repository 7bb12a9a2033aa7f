// The one model family the trainer produces: a stack of fully connected layers with a
// softmax head. Logistic regression is the zero-hidden-layer case, the MLP has one ReLU
// layer; a wider or deeper net needs no new code here, in the trainer or in the exporter.

import type { Prng } from './prng.js';

export type Activation = 'relu' | 'linear';

/** y = act(W·x + b). `weight` is row-major [outDim, inDim] (ONNX Gemm with transB = 1). */
export interface DenseLayer {
  readonly inDim: number;
  readonly outDim: number;
  readonly weight: Float64Array;
  readonly bias: Float64Array;
  readonly activation: Activation;
}

/** Layers in order; the last one is linear and feeds a softmax over its outputs. */
export interface DenseNet {
  readonly layers: readonly DenseLayer[];
}

/**
 * A freshly initialised net for `sizes` = [inputs, hidden..., classes]. Hidden layers are
 * ReLU, the last is linear. Weights are Glorot-uniform, ±sqrt(6 / (fanIn + fanOut)), as
 * scikit-learn's MLPClassifier does; biases likewise. `zeroInit` gives all zeros (a
 * convex model such as logistic regression needs no symmetry breaking).
 */
export function initDenseNet(sizes: readonly number[], prng: Prng, zeroInit = false): DenseNet {
  if (sizes.length < 2) throw new Error('a net needs at least an input and an output size');
  const layers: DenseLayer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inDim = sizes[l]!;
    const outDim = sizes[l + 1]!;
    const weight = new Float64Array(outDim * inDim);
    const bias = new Float64Array(outDim);
    if (!zeroInit) {
      const bound = Math.sqrt(6 / (inDim + outDim));
      for (let i = 0; i < weight.length; i++) weight[i] = prng.uniform(-bound, bound);
      for (let i = 0; i < bias.length; i++) bias[i] = prng.uniform(-bound, bound);
    }
    const activation: Activation = l + 2 < sizes.length ? 'relu' : 'linear';
    layers.push({ inDim, outDim, weight, bias, activation });
  }
  return { layers };
}

export function inputDim(net: DenseNet): number {
  return net.layers[0]!.inDim;
}

export function outputDim(net: DenseNet): number {
  return net.layers[net.layers.length - 1]!.outDim;
}

/** The same net with every parameter rounded to float32: exactly what the ONNX file holds. */
export function roundToFloat32(net: DenseNet): DenseNet {
  return {
    layers: net.layers.map((layer) => ({
      ...layer,
      weight: Float64Array.from(layer.weight, Math.fround),
      bias: Float64Array.from(layer.bias, Math.fround),
    })),
  };
}

/**
 * Class probabilities for `rows` row-major samples in `x` (float64 arithmetic).
 * Returns rows × classes, row-major.
 */
export function predictProba(net: DenseNet, x: ArrayLike<number>, rows: number): Float64Array {
  const inDim = inputDim(net);
  if (x.length !== rows * inDim) throw new Error(`expected ${rows}×${inDim} values, got ${x.length}`);
  const classes = outputDim(net);
  const out = new Float64Array(rows * classes);
  // One scratch vector per layer output, reused for every row.
  const scratch = net.layers.map((layer) => new Float64Array(layer.outDim));
  const input = new Float64Array(inDim);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < inDim; i++) input[i] = x[r * inDim + i]!;
    let current: Float64Array = input;
    for (let l = 0; l < net.layers.length; l++) {
      const layer = net.layers[l]!;
      const next = scratch[l]!;
      denseForwardRow(layer, current, next);
      current = next;
    }
    softmaxInPlace(current);
    out.set(current, r * classes);
  }
  return out;
}

/** out = act(W·v + b) for one sample. */
export function denseForwardRow(layer: DenseLayer, v: Float64Array, out: Float64Array): void {
  const { inDim, outDim, weight, bias } = layer;
  for (let o = 0; o < outDim; o++) {
    let sum = bias[o]!;
    const base = o * inDim;
    for (let i = 0; i < inDim; i++) sum += weight[base + i]! * v[i]!;
    out[o] = layer.activation === 'relu' && sum < 0 ? 0 : sum;
  }
}

/** Numerically stable softmax over the whole of `v`, in place. */
export function softmaxInPlace(v: Float64Array, offset = 0, length = v.length - offset): void {
  let max = -Infinity;
  for (let k = 0; k < length; k++) if (v[offset + k]! > max) max = v[offset + k]!;
  let sum = 0;
  for (let k = 0; k < length; k++) {
    const e = Math.exp(v[offset + k]! - max);
    v[offset + k] = e;
    sum += e;
  }
  for (let k = 0; k < length; k++) v[offset + k]! /= sum;
}

/** Index of the largest value in each row; ties go to the lowest index, as ONNX ArgMax. */
export function argmaxRows(values: ArrayLike<number>, rows: number, cols: number): Int32Array {
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) {
      if (values[r * cols + c]! > values[r * cols + best]!) best = c;
    }
    labels[r] = best;
  }
  return labels;
}

/** Fraction of `predicted` equal to `truth`. */
export function accuracy(predicted: Int32Array, truth: Int32Array): number {
  if (predicted.length !== truth.length || truth.length === 0) {
    throw new Error('accuracy needs two non-empty label arrays of the same length');
  }
  let hits = 0;
  for (let i = 0; i < truth.length; i++) if (predicted[i] === truth[i]) hits++;
  return hits / truth.length;
}
