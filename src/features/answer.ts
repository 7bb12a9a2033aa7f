// POST /v1/models/{m}:predict, answer side: the KServe V1 body
//   {"predictions": [{"probabilities": [0.02, 0.98], "label": 1, "class": "benign"}, ...],
//    "model_version": "1", "id"?: "..."}
// One prediction per instance, in request order. Each is an object keyed by output name whose
// value is that output's slice for the row: a number for an output of shape [rows], an array for
// [rows, k], nested arrays for higher ranks. Values are the tensor's own numbers (an FP32 value
// is the double nearest its shortest float32 text, so JSON.stringify prints the digits the OIP
// path prints: 0.1, not 0.10000000149011612); INT64
// values are numbers (strings beyond ±(2^53 − 1), which a JSON number cannot carry exactly);
// BOOL values are booleans; NaN/±Infinity are null. With `classes`, each prediction also gets
// `class`: the name of its `label` value (left out for a label outside the list).

import { SluiceError } from '../errors.js';
import { nativeCore } from '../native/core.js';
import { Kind } from '../native/kinds.js';
import type { Tensor, TensorData } from '../types.js';

export type PredictionValue = number | string | boolean | null | PredictionValue[];
export type Prediction = Record<string, PredictionValue>;

export interface PredictAnswer {
  predictions: Prediction[];
  /** The version that answered, a string as on the OIP path. */
  model_version: string;
  id?: string;
}

export interface PredictOptions {
  /** classes[i] names label i (model.json `classes`). */
  classes?: readonly string[];
  /** Echoed when given. */
  id?: string;
}

/**
 * Builds the answer from the model's outputs (every tensor's dim 0 is the row count). Throws
 * SLUICE_ERR_SERVER_INTERNAL when the outputs disagree on rows or a shape and its data differ.
 */
export function encodePredictions(outputs: readonly Tensor[], version: number | string, opts: PredictOptions = {}): PredictAnswer {
  const first = outputs[0];
  const rows = first?.shape[0] ?? 0;
  for (const t of outputs) {
    let count = 1;
    for (const d of t.shape) count *= d;
    if (t.shape.length === 0 || t.shape[0] !== rows || count !== t.data.length) {
      throw new SluiceError('SLUICE_ERR_SERVER_INTERNAL', `output ${JSON.stringify(t.name)}: shape [${t.shape.join(',')}] does not fit ${rows} rows of ${t.data.length} values`);
    }
  }
  const classes = opts.classes;
  const label = classes === undefined ? undefined : outputs.find((t) => t.name === 'label');
  const values = outputs.map((t) => (t.datatype === 'FP32' && t.data.length > 0 ? shortestDoubles(t.data) : t.data));
  const predictions = new Array<Prediction>(rows);
  for (let r = 0; r < rows; r++) {
    const p: Prediction = {};
    outputs.forEach((t, k) => (p[t.name] = slice(t, values[k] as TensorData, r)));
    if (classes !== undefined && label !== undefined && label.shape.length === 1) {
      const k = p.label;
      const name = typeof k === 'number' && Number.isInteger(k) ? classes[k] : undefined;
      if (name !== undefined) p.class = name;
    }
    predictions[r] = p;
  }
  const answer: PredictAnswer = { predictions, model_version: String(version) };
  if (opts.id !== undefined) answer.id = opts.id;
  return answer;
}

/** Each float32 as the double its shortest text reads back as (non-finite: NaN, printed null). */
function shortestDoubles(data: TensorData): Float64Array {
  return Float64Array.from(nativeCore().encodeData(data, Kind.FP32).split(','), Number);
}

/** Row r of tensor t (its values `data`): a scalar for rank 1, else nested arrays of the trailing dims. */
function slice(t: Tensor, data: TensorData, r: number): PredictionValue {
  const dims = t.shape.slice(1);
  let per = 1;
  for (const d of dims) per *= d;
  const bool = t.datatype === 'BOOL';
  let at = r * per;
  const build = (level: number): PredictionValue => {
    if (level === dims.length) return value(data, at++, bool);
    const n = dims[level] as number;
    const out = new Array<PredictionValue>(n);
    for (let i = 0; i < n; i++) out[i] = build(level + 1);
    return out;
  };
  return build(0);
}

function value(data: TensorData, i: number, bool: boolean): PredictionValue {
  const v = data[i] as number | bigint;
  if (typeof v === 'bigint') {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v.toString();
  }
  if (bool) return v !== 0;
  return Number.isFinite(v) ? v : null;
}
