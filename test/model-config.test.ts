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
    expect(c.inputs).toEqual([{ name: 'pixels', datatype: 'FP32', shape: [-1, 64] }]);
    expect(c.batching.maxBatchSize).toBe(64);
    expect(Object.isFrozen(c.batching)).toBe(true);
    const minimal = parseModelConfig({ name: 'm', inputs: digits.inputs, outputs: digits.outputs }, 'm');
    expect(minimal).toMatchObject({ device: 'cpu', versionPolicy: { latest: 1 }, defaultTimeoutMs: 10000, batching: { maxQueueDelayUs: 1000 } });
  });

  it('lists every problem with its JSON path', () => {
    const e = errorOf({ ...digits, batching: { maxBatchSize: 0, turbo: true }, device: 'tpu', inputs: [{ name: 'pixels', datatype: 'FP16', shape: [-1, 64] }] });
    expect(e.code).toBe('SLUICE_ERR_MODEL_CONFIG_INVALID');
    expect(e.details).toEqual(
      expect.arrayContaining([
        '/batching: unknown property "turbo"',
        '/batching/maxBatchSize: must be >= 1',
        '/device: must match pattern "^(cpu|cuda:[0-9]{1,2})$"',
        expect.stringMatching(/^\/inputs\/0\/datatype: must be one of BOOL, UINT8/),
      ]),
    );
  });

  it('requires the batch dim first, a matching directory name, unique tensor names and sane preferred sizes', () => {
    expect(errorOf({ ...digits, inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64] }] }).details?.[0]).toMatch(/^\/inputs\/0\/shape\/0: must be equal to constant/);
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
    expect(e.details).toEqual(['/batching/maxBatchSize: must be >= 1']);
    expect(errorOf({ ...digits, features: digits.features.slice(0, 3) }).details).toEqual([
      '/features: 3 features declared but input "pixels" has 64 columns (shape [-1, 64])',
    ]);
  });
});
