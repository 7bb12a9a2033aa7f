// Pieces shared by the response encoders (JSON, binary tensor extension, MessagePack): picking and
// checking the tensors a response sends, and the JSON text of tensor data.
//
// Perf: see json-response.ts. dataText is one call of the native core's encodeData per output.

import { SluiceError } from '../errors.js';
import { nativeCore } from '../native/core.js';
import { KIND_OF } from '../native/kinds.js';
import type { Tensor, TensorSpec } from '../types.js';

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

/**
 * Flat row-major data as the JSON text between the brackets: the native core's encodeData
 * (src/native/): shortest round-trip text in the tensor's own type, non-finite floats as null.
 */
export function dataText(t: Tensor): string {
  return nativeCore().encodeData(t.data, KIND_OF[t.datatype]);
}
