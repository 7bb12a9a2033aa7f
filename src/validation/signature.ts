// Load-time checks of a model signature, so that the request validator can rely on it.

import { SluiceError } from '../errors.js';
import type { TensorSpec } from '../types.js';
import { SUPPORTED_DATATYPES } from './element-codecs.js';

interface SignatureLike {
  name: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  maxBatchSize: number;
}

/**
 * Throws SLUICE_ERR_MODEL_CONFIG_INVALID unless: at least one input; tensor names non-empty and
 * unique per side; datatypes served by sluice; every shape has rank >= 1 (dim 0 is the batch dim)
 * and dims that are -1 or non-negative safe integers; maxBatchSize a positive safe integer.
 */
export function checkSignature(sig: SignatureLike): void {
  const problems: string[] = [];
  if (!Number.isSafeInteger(sig.maxBatchSize) || sig.maxBatchSize < 1) {
    problems.push(`maxBatchSize: expected a positive integer, got ${sig.maxBatchSize}`);
  }
  if (sig.inputs.length === 0) problems.push('inputs: at least one input is required');
  checkSide('inputs', sig.inputs, problems);
  checkSide('outputs', sig.outputs, problems);
  if (problems.length > 0) {
    throw new SluiceError('SLUICE_ERR_MODEL_CONFIG_INVALID', `model ${JSON.stringify(sig.name)}: invalid signature`, {
      details: problems,
    });
  }
}

function checkSide(side: string, specs: TensorSpec[], problems: string[]): void {
  const names = new Set<string>();
  specs.forEach((s, i) => {
    if (typeof s.name !== 'string' || s.name === '') problems.push(`${side}[${i}].name: must be a non-empty string`);
    else if (names.has(s.name)) problems.push(`${side}[${i}].name: ${JSON.stringify(s.name)} declared twice`);
    names.add(s.name);
    if (!SUPPORTED_DATATYPES.includes(s.datatype)) {
      problems.push(`${side}[${i}].datatype: ${JSON.stringify(s.datatype)} is not served`);
    }
    if (!Array.isArray(s.shape) || s.shape.length === 0) {
      problems.push(`${side}[${i}].shape: rank must be at least 1 (dim 0 is the batch dim)`);
    } else if (!s.shape.every((d) => d === -1 || (Number.isSafeInteger(d) && d >= 0))) {
      problems.push(`${side}[${i}].shape: dims must be -1 or non-negative integers, got [${s.shape.join(',')}]`);
    }
  });
}
