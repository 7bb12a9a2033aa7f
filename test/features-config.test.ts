// model.json `features`, `featuresInput` and `classes`: what parseModelConfig accepts, fills in and
// refuses (SLUICE_ERR_MODEL_CONFIG_INVALID, one detail per problem with its JSON path).
import { describe, expect, it } from 'vitest';
import type { SluiceError } from '../src/errors.js';
import { compileFeatureMapper } from '../src/features/index.js';
import { parseModelConfig } from '../src/repository/model-config.js';
import { bundled, rawConfig, referenceNames } from './features-helpers.js';

const base = {
  name: 'toy',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
  outputs: [
    { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
    { name: 'label', datatype: 'INT64', shape: [-1] },
  ],
};
const a = { name: 'a', type: 'number', minimum: 0, maximum: 1 };
const b = { name: 'b', type: 'integer' };

function detailsOf(patch: Record<string, unknown>): string[] | undefined {
  try {
    parseModelConfig({ ...base, ...patch }, 'toy');
  } catch (err) {
    const e = err as SluiceError;
    expect(e.code).toBe('SLUICE_ERR_MODEL_CONFIG_INVALID');
    return e.details;
  }
  throw new Error('expected the config to be refused');
}

describe('model.json features', () => {
  it('the bundled models carry their real feature names, in column order, and classes', () => {
    const cancer = bundled('breast-cancer');
    expect(cancer.features?.map((f) => f.name)).toEqual(referenceNames('breast-cancer'));
    expect(cancer.features).toHaveLength(30);
    expect(cancer.featuresInput).toBe('features');
    expect(cancer.features?.[0]).toMatchObject({ name: 'mean_radius', type: 'number', minimum: 0, maximum: 60, required: true });
    expect(cancer.classes).toEqual(['malignant', 'benign']);
    const digits = bundled('digits');
    expect(digits.features?.map((f) => f.name)).toEqual(referenceNames('digits'));
    expect(digits.features?.every((f) => f.type === 'integer' && f.minimum === 0 && f.maximum === 16 && f.unit === 'ink count (0-16)')).toBe(true);
    expect(digits.featuresInput).toBe('pixels');
    expect(Object.isFrozen(cancer.features?.[0])).toBe(true);
  });

  it('fills required (default true) and resolves featuresInput; a config without features has none', () => {
    const c = parseModelConfig({ ...base, features: [a, { ...b, required: false, default: 3 }] }, 'toy');
    expect(c.features).toEqual([{ ...a, required: true }, { ...b, required: false, default: 3 }]);
    expect(c.featuresInput).toBe('x');
    expect(parseModelConfig({ ...base, features: [a, b], featuresInput: 'x' }, 'toy').featuresInput).toBe('x');
    const none = parseModelConfig(base, 'toy');
    expect(none.features).toBeUndefined();
    expect(none.featuresInput).toBeUndefined();
    expect(() => compileFeatureMapper(none)).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_FEATURES_NOT_DECLARED', status: 404 }));
  });

  it('the feature count must equal the input columns', () => {
    expect(detailsOf({ features: [a] })).toEqual(['/features: 1 features declared but input "x" has 2 columns (shape [-1, 2])']);
    const raw = rawConfig('breast-cancer');
    const e = (() => {
      try {
        parseModelConfig({ ...raw, features: (raw.features as unknown[]).slice(1) }, 'breast-cancer');
      } catch (err) {
        return err as SluiceError;
      }
      throw new Error('expected a refusal');
    })();
    expect(e.details).toEqual(['/features: 29 features declared but input "features" has 30 columns (shape [-1, 30])']);
  });

  it('the input must be the only one, of shape [-1, n] with a fixed n, and numeric', () => {
    expect(detailsOf({ inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, -1] }], features: [a, b] })).toEqual([
      '/features: input "x" must have shape [-1, n] with a fixed n to take named features; it has [-1, -1]',
    ]);
    expect(detailsOf({ inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1, 2] }], features: [a, b] })).toEqual([
      '/features: input "x" must have shape [-1, n] with a fixed n to take named features; it has [-1, 1, 2]',
    ]);
    expect(detailsOf({ inputs: [...base.inputs, { name: 'y', datatype: 'FP32', shape: [-1, 2] }], features: [a, b], featuresInput: 'y' })).toEqual([
      '/features: a /v1 request carries only the features, so the model must have exactly one input; it has 2',
    ]);
    expect(detailsOf({ features: [a, b], featuresInput: 'z' })).toEqual(['/featuresInput: "z" is not an input of this model (inputs: x)']);
    expect(detailsOf({ featuresInput: 'x' })).toEqual(['/featuresInput: given without features']);
    expect(detailsOf({ inputs: [{ name: 'x', datatype: 'BOOL', shape: [-1, 2] }], features: [a, b] })).toEqual([
      '/features: input "x" is BOOL; named features feed numeric inputs only',
    ]);
  });

  it('names are unique identifiers that a JSON body can carry', () => {
    expect(detailsOf({ features: [a, { ...b, name: 'a' }] })).toEqual(['/features/1/name: duplicate "a" (first at /features/0)']);
    expect(detailsOf({ features: [a, { ...b, name: 'Mean-Radius' }] })).toEqual(['/features/1/name: must be a lower-case identifier (a-z, 0-9, "_", starting with a letter)']);
    expect(detailsOf({ features: [a, { ...b, name: 'constructor' }] })).toEqual(['/features/1/name: "constructor" cannot be sent: JSON bodies refuse that key']);
  });

  it('minimum must not exceed maximum', () => {
    expect(detailsOf({ features: [{ ...a, minimum: 5, maximum: 1 }, b] })).toEqual(['/features/0: minimum 5 is greater than maximum 1']);
  });

  it('enum features need values, unique, with one numeric code each when any value is a string', () => {
    expect(detailsOf({ features: [a, { name: 'g', type: 'enum' }] })).toEqual(['/features/1/enum: required for type "enum" (the allowed values)']);
    expect(detailsOf({ features: [a, { name: 'g', type: 'enum', enum: [] }] })).toEqual(['/features/1/enum: must hold at least 1 item']);
    expect(detailsOf({ features: [a, { name: 'g', type: 'enum', enum: ['lo', 'hi'] }] })).toEqual([
      '/features/1/codes: required when enum has string values (the model takes numbers)',
    ]);
    expect(detailsOf({ features: [a, { name: 'g', type: 'enum', enum: ['lo', 'hi', 'lo'], codes: [0, 1] }] })).toEqual([
      '/features/1/enum/2: duplicate value "lo"',
      '/features/1/codes: one code per enum value: expected 3, got 2',
    ]);
    expect(detailsOf({ features: [a, { name: 'g', type: 'enum', enum: [1, 2], minimum: 0 }] })).toEqual(['/features/1/minimum: does not apply to type "enum"']);
    expect(detailsOf({ features: [{ ...a, enum: [1], codes: [1] }, b] })).toEqual(['/features/0/enum: only for type "enum"', '/features/0/codes: only for type "enum"']);
    expect(parseModelConfig({ ...base, features: [a, { name: 'g', type: 'enum', enum: [1, 2, 4] }] }, 'toy').features?.[1]).toEqual({
      name: 'g',
      type: 'enum',
      enum: [1, 2, 4],
      required: true,
    });
  });

  it('a default belongs to an optional feature and must be one of its values', () => {
    expect(detailsOf({ features: [a, { ...b, default: 1 }] })).toEqual(['/features/1/default: only optional features (required: false) take a default']);
    expect(detailsOf({ features: [a, { ...b, required: false }] })).toEqual(['/features/1/default: required when the feature is optional (required: false)']);
    expect(detailsOf({ features: [{ ...a, required: false, default: 2 }, b] })).toEqual(['/features/0/default: must be <= 1, got 2']);
    expect(detailsOf({ features: [a, { ...b, required: false, default: 1.5 }] })).toEqual(['/features/1/default: must be an integer, got 1.5']);
    expect(detailsOf({ features: [a, { name: 'g', type: 'enum', enum: [1, 2], required: false, default: 3 }] })).toEqual(['/features/1/default: 3 is not one of enum']);
  });

  it('integer inputs take integer features bounded within the datatype', () => {
    const inputs = [{ name: 'x', datatype: 'INT8', shape: [-1, 2] }];
    expect(detailsOf({ inputs, features: [a, { ...b, minimum: 0, maximum: 200 }] })).toEqual([
      '/features/0/type: input datatype INT8 takes integers: use "integer" or "enum"',
      '/features/1: input datatype INT8 needs minimum and maximum within [-128, 127]',
    ]);
    expect(detailsOf({ inputs, features: [{ ...b, minimum: 0, maximum: 1 }, { name: 'g', type: 'enum', enum: ['x'], codes: [0.5] }] })).toEqual([
      '/features/1/codes/0: 0.5 is not an integer in [-128, 127] (input datatype INT8)',
    ]);
  });

  it('classes name the integer label output and match the probabilities columns', () => {
    expect(parseModelConfig({ ...base, classes: ['no', 'yes'] }, 'toy').classes).toEqual(['no', 'yes']);
    expect(detailsOf({ classes: ['no', 'yes', 'maybe'] })).toEqual(['/classes: 3 names but output "probabilities" has 2 columns']);
    expect(detailsOf({ classes: ['no', 'no'] })).toEqual(['/classes/1: duplicate "no"']);
    expect(parseModelConfig({ ...base, outputs: [base.outputs[0]], classes: ['no', 'yes'] }, 'toy').classes).toEqual(['no', 'yes']);
    expect(detailsOf({ outputs: [base.outputs[0], { name: 'label', datatype: 'FP32', shape: [-1] }], classes: ['no', 'yes'] })).toEqual([
      '/classes: output "label" must be integer of shape [-1] to be named by classes; it is FP32 [-1]',
    ]);
    expect(detailsOf({ outputs: [...base.outputs, { name: 'class', datatype: 'INT64', shape: [-1] }], classes: ['no', 'yes'] })).toEqual([
      '/classes: an output named "class" would clash with the "class" field of /v1 predictions',
    ]);
  });
});
