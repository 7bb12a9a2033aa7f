import type { ModelSignature } from '../../src/validation/request-validator.js';

/** The digits demo model's signature (models/digits/model.json), for codec and validation tests. */
export const DIGITS_SIGNATURE: ModelSignature = {
  name: 'digits',
  inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 64] }],
  outputs: [
    { name: 'probabilities', datatype: 'FP32', shape: [-1, 10] },
    { name: 'label', datatype: 'INT64', shape: [-1] },
  ],
  maxBatchSize: 64,
};
