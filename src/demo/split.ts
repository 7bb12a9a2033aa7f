// The drift demo's data (docs/drift.md): the real Breast Cancer Wisconsin rows, split once by a
// seeded shuffle into the rows version 1 is trained on, the rows replayed as live traffic, and the
// rows kept back to judge the versions at the end (never sent, never trained on). And the shift:
// a scanner recalibration that makes every size measurement read 30% high.
import type { Dataset } from '../train/dataset.js';
import { Prng } from '../train/prng.js';

/** Mean and worst radius, perimeter and area: the size measures a miscalibrated scanner inflates. */
export const SHIFTED_COLUMNS: readonly number[] = [0, 2, 3, 20, 22, 23];
export const SHIFT_FACTOR = 1.3;

export interface DemoSplit {
  readonly train: Dataset;
  readonly traffic: Dataset;
  readonly test: Dataset;
}

/** Shares of the rows for training and traffic; the rest is the test set. */
export function splitRows(data: Dataset, seed: number, trainShare = 0.5, trafficShare = 0.3): DemoSplit {
  const order = Int32Array.from({ length: data.rows }, (_, i) => i);
  new Prng(seed).shuffle(order);
  const nTrain = Math.round(data.rows * trainShare);
  const nTraffic = Math.round(data.rows * trafficShare);
  return {
    train: subset(data, order.subarray(0, nTrain)),
    traffic: subset(data, order.subarray(nTrain, nTrain + nTraffic)),
    test: subset(data, order.subarray(nTrain + nTraffic)),
  };
}

export function subset(data: Dataset, rows: ArrayLike<number>): Dataset {
  const x = new Float64Array(rows.length * data.cols);
  const y = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    x.set(data.x.subarray(r * data.cols, (r + 1) * data.cols), i * data.cols);
    y[i] = data.y[r]!;
  }
  return { x, y, rows: rows.length, cols: data.cols, classCount: data.classCount };
}

/** Row `r` of `data` as a plain array, with the scanner shift applied when `shifted`. */
export function rowOf(data: Dataset, r: number, shifted: boolean): number[] {
  const row = Array.from(data.x.subarray(r * data.cols, (r + 1) * data.cols));
  if (shifted) for (const c of SHIFTED_COLUMNS) row[c] = row[c]! * SHIFT_FACTOR;
  return row;
}

/** The whole data set shifted (the test set as the recalibrated scanner measures it). */
export function shiftedCopy(data: Dataset): Dataset {
  const x = Float64Array.from(data.x);
  for (let r = 0; r < data.rows; r++) for (const c of SHIFTED_COLUMNS) x[r * data.cols + c] = x[r * data.cols + c]! * SHIFT_FACTOR;
  return { ...data, x };
}

/** The CSV layout the trainer reads (specs.ts BREAST_CANCER: a `rows,cols,names…` header). */
export function csvText(data: Dataset, classNames: readonly string[]): string {
  const lines = [`${data.rows},${data.cols},${classNames.join(',')}`];
  for (let r = 0; r < data.rows; r++) lines.push(`${Array.from(data.x.subarray(r * data.cols, (r + 1) * data.cols)).join(',')},${data.y[r]}`);
  return `${lines.join('\n')}\n`;
}
