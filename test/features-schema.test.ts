// The published request schema (GET /v2/models/{m}/schema): a standalone draft-07 document that a
// client can compile with its own validator, describing the bundled models' real features.
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { buildRequestSchema, DRAFT_07, type JsonSchema } from '../src/features/index.js';
import { parseModelConfig } from '../src/repository/model-config.js';
import { bundled, dataRows, instanceOf, rawConfig, referenceNames } from './features-helpers.js';

const cancer = bundled('breast-cancer');
const digits = bundled('digits');

/** The schema as a client gets it: JSON text, compiled by a fresh validator. */
function clientValidator(schema: JsonSchema) {
  const ajv = new Ajv({ strict: true, allErrors: true });
  const published = JSON.parse(JSON.stringify(schema)) as JsonSchema;
  expect(ajv.validateSchema(published), JSON.stringify(ajv.errors)).toBe(true);
  return ajv.compile(published);
}

const instanceSchema = (s: JsonSchema) => (s.definitions as Record<string, JsonSchema>).instance as JsonSchema;
const propsOf = (s: JsonSchema) => instanceSchema(s).properties as Record<string, JsonSchema>;

describe('request schema', () => {
  it('is valid draft-07 with $id, titles and the envelope rules', () => {
    const s = buildRequestSchema(cancer);
    expect(s.$schema).toBe(DRAFT_07);
    expect(s.$id).toBe('urn:sluice:model:breast-cancer:predict-request');
    expect(s.title).toBe('breast-cancer: named-feature prediction request');
    expect(s).toMatchObject({ type: 'object', additionalProperties: false, required: ['instances'] });
    expect((s.properties as Record<string, JsonSchema>).instances).toMatchObject({ type: 'array', minItems: 1, maxItems: 64 });
    expect(instanceSchema(s)).toMatchObject({ type: 'object', additionalProperties: false });
    expect(instanceSchema(s).required).toEqual(referenceNames('breast-cancer'));
    clientValidator(s);
    clientValidator(buildRequestSchema(digits));
  });

  it('lists the real feature names in column order with ranges, units and descriptions', () => {
    const props = propsOf(buildRequestSchema(cancer));
    expect(Object.keys(props)).toEqual(referenceNames('breast-cancer'));
    expect(props.mean_radius).toMatchObject({ title: 'mean_radius', type: 'number', minimum: 0, maximum: 60 });
    expect(props.mean_radius?.description).toMatch(/radius.*Column 0 of input "features"\.$/);
    expect(props.worst_fractal_dimension?.description).toMatch(/Unit: unitless\..*Column 29 of input "features"\.$/);
    const px = propsOf(buildRequestSchema(digits));
    expect(Object.keys(px)).toEqual(referenceNames('digits'));
    expect(px.pixel_7_7).toMatchObject({ type: 'integer', minimum: 0, maximum: 16 });
    expect(px.pixel_3_4?.description).toMatch(/Unit: ink count \(0-16\)\..*Column 28 of input "pixels"/);
  });

  it('accepts every row of the real data sets and refuses values outside the published ranges', () => {
    for (const [config, name] of [[cancer, 'breast-cancer'], [digits, 'digits']] as const) {
      const validate = clientValidator(buildRequestSchema(config));
      const rows = dataRows(name);
      expect(rows.length).toBe(name === 'digits' ? 1797 : 569);
      for (let i = 0; i < rows.length; i += 64) {
        const instances = rows.slice(i, i + 64).map((r) => instanceOf(config, r));
        expect(validate({ instances }), `${name} rows ${i}..: ${JSON.stringify(validate.errors?.slice(0, 3))}`).toBe(true);
      }
    }
    const validate = clientValidator(buildRequestSchema(cancer));
    const inst = instanceOf(cancer, dataRows('breast-cancer')[0] as number[]);
    expect(validate({ instances: [{ ...inst, mean_radius: 60.5 }] })).toBe(false);
    expect(validate.errors?.[0]).toMatchObject({ instancePath: '/instances/0/mean_radius', keyword: 'maximum' });
  });

  it('digits pixels are integers: 3.0 from JSON text passes, 3.5 does not', () => {
    const validate = clientValidator(buildRequestSchema(digits));
    const row = instanceOf(digits, dataRows('digits')[0] as number[]);
    const text = JSON.stringify({ instances: [row] }).replace('"pixel_0_2":5', '"pixel_0_2":5.0');
    expect(text).toContain('"pixel_0_2":5.0');
    expect(validate(JSON.parse(text))).toBe(true);
    expect(validate({ instances: [{ ...row, pixel_0_2: 3.5 }] })).toBe(false);
  });

  it('enum features publish enum (no type), optional ones no required entry and their default', () => {
    const s = buildRequestSchema(
      parseModelConfig(
        {
          name: 'toy',
          inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
          outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
          batching: { maxBatchSize: 8 },
          features: [
            { name: 'grade', type: 'enum', enum: ['low', 'high'], codes: [0, 1], description: 'Tumour grade' },
            { name: 'age', type: 'integer', unit: 'years', minimum: 0, maximum: 130, required: false, default: 50 },
          ],
        },
        'toy',
      ),
    );
    const props = propsOf(s);
    expect(props.grade).toEqual({ title: 'grade', description: 'Tumour grade. Fed to the model as "low" → 0, "high" → 1. Column 0 of input "x".', enum: ['low', 'high'] });
    expect(props.age).toEqual({
      title: 'age',
      description: 'Unit: years. Optional; default 50. Column 1 of input "x".',
      type: 'integer',
      minimum: 0,
      maximum: 130,
      default: 50,
    });
    expect(instanceSchema(s).required).toEqual(['grade']);
    expect((s.properties as Record<string, JsonSchema>).instances).toMatchObject({ maxItems: 8 });
    const validate = clientValidator(s);
    expect(validate({ instances: [{ grade: 'low' }] })).toBe(true);
    expect(validate({ instances: [{ grade: 'mid' }] })).toBe(false);
  });

  it('a model without features has no schema', () => {
    const raw = { ...rawConfig('digits') };
    delete raw.features;
    delete raw.classes;
    expect(() => buildRequestSchema(parseModelConfig(raw, 'digits'))).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_FEATURES_NOT_DECLARED', status: 404 }));
  });
});
