import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../src/repository/model-config.js';
import type { SluiceError } from '../src/errors.js';

const digits = JSON.parse(readFileSync(new URL('../models/digits/model.json', import.meta.url), 'utf8'));

function errorOf(raw: unknown, dir = 'digits'): SluiceError {
  try {
    parseModelConfig(raw, dir);
  } catch (err) {
    return err as SluiceError;
  }
  throw new Error('expected the config to be refused');
}

describe('model.json', () => {
  it('the bundled configs are valid and get defaults filled in', () => {
    const c = parseModelConfig(digits, 'digits');
    expect(c.inputs).toEqual([{ name: 'pixels', datatype: 'FP32', shape: [-1, 64], batchDim: 0 }]);
    expect(c.source).toBe('model.json');
    expect(c.batching.maxBatchSize).toBe(64);
    expect(Object.isFrozen(c.batching)).toBe(true);
    const minimal = parseModelConfig({ name: 'm', inputs: digits.inputs, outputs: digits.outputs }, 'm');
    expect(minimal).toMatchObject({ device: 'cpu', versionPolicy: { latest: 1 }, defaultTimeoutMs: 10000, batching: { maxQueueDelayUs: 1000 } });
  });

  it('lists every problem with its JSON path', () => {
    const e = errorOf({ ...digits, batching: { maxBatchSize: -1, turbo: true }, device: 'tpu', inputs: [{ name: 'pixels', datatype: 'FP16', shape: [-1, 64] }] });
    expect(e.code).toBe('SLUICE_ERR_MODEL_CONFIG_INVALID');
    // Each line says what to write, not the validator's internals ("must match pattern ...").
    expect(e.details).toEqual([
      '/inputs/0/datatype: must be one of BOOL, UINT8, INT8, INT16, INT32, INT64, FP32, FP64',
      '/batching: unknown property "turbo"',
      '/batching/maxBatchSize: must be at least 0',
      '/device: must be "cpu" or "cuda:N"',
    ]);
    expect(errorOf({ ...digits, inputs: [{ name: 'pixels', datatype: 'FP32', shape: ['-1', 64] }] }).details).toEqual(['/inputs/0/shape/0: must be an integer']);
    expect(errorOf({ ...digits, inputs: [{ name: 'pix\u0000els', datatype: 'FP32', shape: [-1, 64] }] }).details).toEqual([
      '/inputs/0/name: must be 1 to 256 printable characters (no control characters)',
    ]);
    expect(errorOf({ ...digits, platform: 'tensorflow' }).details).toEqual(['/platform: must be "onnxruntime_onnx"']);
  });

  it('requires the batch dim first, a matching directory name, unique tensor names and sane preferred sizes', () => {
    expect(errorOf({ ...digits, inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64] }] }).details).toEqual([
      '/inputs/0/shape/0: the batch dimension must be -1, it is 1; name the real batch dim with "batchDim", set "batchDim": null for a tensor shared by every row, or set "maxBatchSize": 0 for a model without one',
      '/features: input "pixels" must have shape [-1, n] with a fixed n to take named features; it has [1, 64]',
    ]);
    expect(errorOf(digits, 'other').details).toEqual(['/name: "digits" must equal the directory name "other"']);
    expect(errorOf({ ...digits, outputs: [digits.outputs[0], digits.outputs[0]] }).details).toEqual(['/outputs/1/name: duplicate "probabilities"']);
    expect(errorOf({ ...digits, batching: { maxBatchSize: 8, preferredBatchSizes: [4, 16] } }).details).toEqual([
      '/batching/preferredBatchSizes: every size must be <= maxBatchSize',
    ]);
  });

  it('features are optional and checked with the rest of the file', () => {
    const { features: _f, classes: _c, ...bare } = digits;
    expect(parseModelConfig(bare, 'digits').features).toBeUndefined();
    const e = errorOf({ ...digits, batching: { maxBatchSize: 0 }, features: digits.features.slice(0, 3) });
    expect(e.details).toEqual([
      '/features: /v1 requests carry rows of features, so the model must batch ("maxBatchSize" of at least 1); it is 0',
      '/features: 3 features declared but input "pixels" has 64 columns (shape [-1, 64])',
    ]);
    expect(errorOf({ ...digits, features: digits.features.slice(0, 3) }).details).toEqual([
      '/features: 3 features declared but input "pixels" has 64 columns (shape [-1, 64])',
    ]);
  });
});
