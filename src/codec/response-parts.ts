// Pieces shared by the response encoders (JSON, binary tensor extension, MessagePack): picking and
// checking the tensors a response sends, and the JSON text of tensor data.
//
// Perf: see json-response.ts. dataText is one native TypedArray.prototype.join per output, with
// the non-finite rewrite only when the joined text holds an 'I' or 'N'.

import { SluiceError } from '../errors.js';
import type { Tensor, TensorData, TensorSpec } from '../types.js';

/**
 * The tensor to send for the declared output `spec` (declared index k). Throws
 * SLUICE_ERR_SERVER_INTERNAL when the model produced no such output, or one whose datatype or
 * element count disagrees with its declaration and shape.
 */
export function sentOutput(outputs: readonly Tensor[], k: number, spec: Pick<TensorSpec, 'name' | 'datatype'>): Tensor {
  const t = findOutput(outputs, k, spec.name);
  if (t.datatype !== spec.datatype) {
    throw new SluiceError('SLUICE_ERR_SERVER_INTERNAL', `output ${JSON.stringify(spec.name)} is ${t.datatype}, declared ${spec.datatype}`);
  }
  let count = 1;
  for (const d of t.shape) count *= d;
  if (count !== t.data.length) {
    throw new SluiceError('SLUICE_ERR_SERVER_INTERNAL', `output ${JSON.stringify(spec.name)}: ${t.data.length} values for shape [${t.shape.join(',')}]`);
  }
  return t;
}

function findOutput(outputs: readonly Tensor[], k: number, name: string): Tensor {
  const guess = outputs[k]; // the runtime normally returns outputs in declared order
  if (guess !== undefined && guess.name === name) return guess;
  const found = outputs.find((o) => o.name === name);
  if (found === undefined) throw new SluiceError('SLUICE_ERR_SERVER_INTERNAL', `model produced no output ${JSON.stringify(name)}`);
  return found;
}

const NON_FINITE_TEXT = /[IN]/;

/** Flat row-major data as the JSON text between the brackets (non-finite floats as null). */
export function dataText(t: Tensor): string {
  const d = t.data;
  if (t.datatype === 'BOOL') return boolText(d);
  // TensorData is a union of typed arrays, each with its own native join.
  const text = (d as Float64Array).join(',');
  if ((t.datatype === 'FP32' || t.datatype === 'FP64') && NON_FINITE_TEXT.test(text)) {
    return Array.from(d as Float64Array, (v) => (Number.isFinite(v) ? String(v) : 'null')).join(',');
  }
  return text;
}

function boolText(d: TensorData): string {
  let s = '';
  for (let i = 0; i < d.length; i++) s += `${i === 0 ? '' : ','}${d[i] ? 'true' : 'false'}`;
  return s;
}
