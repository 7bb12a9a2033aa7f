// Gradient training of a DenseNet: softmax cross-entropy plus an L2 penalty on the weights
// (not the biases), mini-batches in a seeded shuffled order, Adam. Deterministic: the same
// data, options and seed give bit-identical parameters.

import { Adam } from './adam.js';
import type { Dataset } from './dataset.js';
import { type DenseNet, inputDim, outputDim } from './dense.js';
import { Prng } from './prng.js';

export interface FitOptions {
  /** Passes over the data. */
  epochs: number;
  /** Rows per update; ≥ rows means full-batch gradient descent (no shuffling). */
  batchSize: number;
  learningRate: number;
  /** λ in loss = mean cross-entropy + λ/2 · Σ w². */
  l2: number;
  /** Seeds the mini-batch order. */
  seed: number;
}

/** Trains a copy of `initial` on `data` and returns it; `initial` is not modified. */
export function fitDenseNet(initial: DenseNet, data: Dataset, opts: FitOptions): DenseNet {
  if (data.cols !== inputDim(initial)) {
    throw new Error(`data has ${data.cols} columns, net takes ${inputDim(initial)}`);
  }
  if (data.classCount !== outputDim(initial)) {
    throw new Error(`data has ${data.classCount} classes, net outputs ${outputDim(initial)}`);
  }
  const layers = initial.layers.map((l) => ({
    ...l,
    weight: Float64Array.from(l.weight),
    bias: Float64Array.from(l.bias),
  }));
  const params = layers.flatMap((l) => [l.weight, l.bias]);
  const grads = params.map((p) => new Float64Array(p.length));
  const adam = new Adam(params, { learningRate: opts.learningRate });

  const rows = data.rows;
  const batchCap = Math.min(opts.batchSize, rows);
  // acts[0] is the input batch, acts[l + 1] the output of layer l (post-activation).
  const acts = [
    new Float64Array(batchCap * data.cols),
    ...layers.map((l) => new Float64Array(batchCap * l.outDim)),
  ];
  // deltas[l] is ∂loss/∂(pre-activation of layer l) for the batch.
  const deltas = layers.map((l) => new Float64Array(batchCap * l.outDim));

  const prng = new Prng(opts.seed);
  const order = new Int32Array(rows);
  for (let i = 0; i < rows; i++) order[i] = i;

  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    if (batchCap < rows) prng.shuffle(order);
    for (let start = 0; start < rows; start += batchCap) {
      const size = Math.min(batchCap, rows - start);
      const x0 = acts[0]!;
      for (let b = 0; b < size; b++) {
        const r = order[start + b]!;
        x0.set(data.x.subarray(r * data.cols, (r + 1) * data.cols), b * data.cols);
      }
      // Forward.
      for (let l = 0; l < layers.length; l++) {
        const { inDim, outDim, weight, bias, activation } = layers[l]!;
        const a = acts[l]!;
        const z = acts[l + 1]!;
        for (let b = 0; b < size; b++) {
          const aBase = b * inDim;
          for (let o = 0; o < outDim; o++) {
            let sum = bias[o]!;
            const wBase = o * inDim;
            for (let i = 0; i < inDim; i++) sum += weight[wBase + i]! * a[aBase + i]!;
            z[b * outDim + o] = activation === 'relu' && sum < 0 ? 0 : sum;
          }
        }
      }
      // Output delta: (softmax - onehot) / batch.
      const last = layers.length - 1;
      const classes = layers[last]!.outDim;
      const logits = acts[last + 1]!;
      const dOut = deltas[last]!;
      for (let b = 0; b < size; b++) {
        const base = b * classes;
        let max = -Infinity;
        for (let k = 0; k < classes; k++) if (logits[base + k]! > max) max = logits[base + k]!;
        let sum = 0;
        for (let k = 0; k < classes; k++) {
          const e = Math.exp(logits[base + k]! - max);
          dOut[base + k] = e;
          sum += e;
        }
        const target = data.y[order[start + b]!]!;
        for (let k = 0; k < classes; k++) {
          dOut[base + k] = (dOut[base + k]! / sum - (k === target ? 1 : 0)) / size;
        }
      }
      // Backward.
      for (let l = last; l >= 0; l--) {
        const { inDim, outDim, weight } = layers[l]!;
        const gW = grads[2 * l]!;
        const gB = grads[2 * l + 1]!;
        for (let i = 0; i < gW.length; i++) gW[i] = opts.l2 * weight[i]!;
        gB.fill(0);
        const a = acts[l]!;
        const d = deltas[l]!;
        const dPrev = l > 0 ? deltas[l - 1]! : undefined;
        const prevIsRelu = l > 0 && layers[l - 1]!.activation === 'relu';
        if (dPrev) dPrev.fill(0, 0, size * inDim);
        for (let b = 0; b < size; b++) {
          const aBase = b * inDim;
          for (let o = 0; o < outDim; o++) {
            const g = d[b * outDim + o]!;
            if (g === 0) continue;
            gB[o]! += g;
            const wBase = o * inDim;
            for (let i = 0; i < inDim; i++) gW[wBase + i]! += g * a[aBase + i]!;
            if (dPrev) for (let i = 0; i < inDim; i++) dPrev[aBase + i]! += g * weight[wBase + i]!;
          }
          // ReLU' : the previous layer's output is post-activation, 0 where it was clamped.
          if (dPrev && prevIsRelu) {
            for (let i = 0; i < inDim; i++) if (a[aBase + i] === 0) dPrev[aBase + i] = 0;
          }
        }
      }
      adam.step(grads);
    }
  }
  return { layers };
}
