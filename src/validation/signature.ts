// Load-time checks of a model signature, so that the request validator can rely on it.

import { SluiceError } from '../errors.js';
import { batchDimOf, type TensorSpec } from '../types.js';
import { SUPPORTED_DATATYPES } from './element-codecs.js';

interface SignatureLike {
  name: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  maxBatchSize: number;
}

/**
 * Throws SLUICE_ERR_MODEL_CONFIG_INVALID unless: at least one input; tensor names non-empty and
 * unique per side; datatypes served by sluice; dims -1 or non-negative safe integers (rank 0 is a
 * scalar); maxBatchSize a non-negative safe integer (0: the model does not batch). A batching
 * model has at least one input with a batch dim, and every batch dim is a -1 dim of its tensor.
 */
export function checkSignature(sig: SignatureLike): void {
  const problems: string[] = [];
  const batching = sig.maxBatchSize > 0;
  if (!Number.isSafeInteger(sig.maxBatchSize) || sig.maxBatchSize < 0) {
    problems.push(`maxBatchSize: expected a non-negative integer, got ${sig.maxBatchSize}`);
  }
  if (sig.inputs.length === 0) problems.push('inputs: at least one input is required');
  checkSide('inputs', sig.inputs, batching, problems);
  checkSide('outputs', sig.outputs, batching, problems);
  if (batching && sig.inputs.length > 0 && sig.inputs.every((s) => batchDimOf(s) === null)) {
    problems.push('inputs: a batching model needs at least one input with a batch dim');
  }
  if (problems.length > 0) {
    throw new SluiceError('SLUICE_ERR_MODEL_CONFIG_INVALID', `model ${JSON.stringify(sig.name)}: invalid signature`, {
      details: problems,
    });
  }
}

function checkSide(side: string, specs: TensorSpec[], batching: boolean, problems: string[]): void {
  const names = new Set<string>();
  specs.forEach((s, i) => {
    if (typeof s.name !== 'string' || s.name === '') problems.push(`${side}[${i}].name: must be a non-empty string`);
    else if (names.has(s.name)) problems.push(`${side}[${i}].name: ${JSON.stringify(s.name)} declared twice`);
    names.add(s.name);
    if (!SUPPORTED_DATATYPES.includes(s.datatype)) {
      problems.push(`${side}[${i}].datatype: ${JSON.stringify(s.datatype)} is not served`);
    }
    if (!Array.isArray(s.shape) || !s.shape.every((d) => d === -1 || (Number.isSafeInteger(d) && d >= 0))) {
      problems.push(`${side}[${i}].shape: dims must be -1 or non-negative integers, got [${String(s.shape)}]`);
      return;
    }
    const b = batchDimOf(s);
    if (batching && b !== null && s.shape[b] !== -1) {
      problems.push(`${side}[${i}].batchDim: dim ${b} of [${s.shape.join(',')}] must exist and be -1 to be the batch dim`);
    }
  });
}
