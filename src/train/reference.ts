// The reference profile written next to a model as reference.json: the training data's
// distribution per input feature and the model's output distribution on it. It is the
// baseline the drift monitor compares live traffic with.
//
// Binning rule ("left-closed"): edges are strictly increasing cut points, and a value v
// falls in bin = (number of edges ≤ v), so bin 0 is (-∞, e0), bin i is [e(i-1), e(i)) and
// the last bin is [e(last), +∞). shares.length = edges.length + 1 and the shares sum to 1.
// Edges are data values at the k-quantiles, deduplicated, and never the minimum, so no
// reference bin is empty; a constant feature has edges [] and a single bin.

import { binIndex } from '../util/bins.js';
import type { Dataset } from './dataset.js';

export { binIndex };

export const BINNING_RULE = 'left-closed';

export interface HistogramProfile {
  edges: number[];
  shares: number[];
}

export interface FeatureProfile extends HistogramProfile {
  name: string;
  /** Column in the model input. */
  index: number;
}

export interface ReferenceProfile {
  binning: typeof BINNING_RULE;
  features: FeatureProfile[];
  outputs: {
    label: { classes: number[]; names: string[]; shares: number[] };
    /** Histogram of each row's largest class probability (the model's confidence). */
    probabilities: { statistic: 'max' } & HistogramProfile;
  };
  rows: number;
}

/** Up to `bins` - 1 cut points at the `bins`-quantiles of `values` (see the rule above). */
export function quantileEdges(values: ArrayLike<number>, bins: number): number[] {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return [];
  const edges: number[] = [];
  let last = sorted[0]!; // the minimum: never an edge
  for (let j = 1; j < bins; j++) {
    const v = sorted[Math.floor((j * n) / bins)]!;
    if (v > last) {
      edges.push(v);
      last = v;
    }
  }
  return edges;
}

export function histogram(values: ArrayLike<number>, edges: readonly number[]): HistogramProfile {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (let i = 0; i < values.length; i++) counts[binIndex(edges, values[i]!)]!++;
  return { edges: [...edges], shares: counts.map((c) => c / values.length) };
}

export interface ReferenceInput {
  /** The raw (unstandardised) training rows. */
  data: Dataset;
  featureNames: readonly string[];
  classNames: readonly string[];
  /** The served model's class probabilities on `data`, rows × classes. */
  probabilities: Float64Array;
  /** The served model's labels on `data`. */
  labels: Int32Array;
  /** Quantile bins per feature (before deduplication). */
  bins?: number;
}

export function buildReferenceProfile(input: ReferenceInput): ReferenceProfile {
  const { data, featureNames, classNames, probabilities, labels } = input;
  const bins = input.bins ?? 10;
  if (featureNames.length !== data.cols) {
    throw new Error(`${featureNames.length} feature names for ${data.cols} columns`);
  }
  const column = new Float64Array(data.rows);
  const features = featureNames.map((name, index) => {
    for (let r = 0; r < data.rows; r++) column[r] = data.x[r * data.cols + index]!;
    return { name, index, ...histogram(column, quantileEdges(column, bins)) };
  });

  const classes = data.classCount;
  const labelCounts = new Array<number>(classes).fill(0);
  for (const label of labels) labelCounts[label]!++;
  const maxProb = new Float64Array(data.rows);
  for (let r = 0; r < data.rows; r++) {
    let m = 0;
    for (let k = 0; k < classes; k++) m = Math.max(m, probabilities[r * classes + k]!);
    maxProb[r] = m;
  }
  return {
    binning: BINNING_RULE,
    features,
    outputs: {
      label: {
        classes: Array.from({ length: classes }, (_, k) => k),
        names: [...classNames],
        shares: labelCounts.map((c) => c / data.rows),
      },
      probabilities: { statistic: 'max', ...histogram(maxProb, quantileEdges(maxProb, bins)) },
    },
    rows: data.rows,
  };
}
