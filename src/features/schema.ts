// The JSON Schema of a model's named-feature request, POST /v1/models/{m}:predict:
//   {"instances": [{"<feature>": value, ...}, ...], "id"?: string, "parameters"?: {"timeout_ms"?: ms}}
//
// It is both what GET /v2/models/{m}/schema publishes and what the mapper compiles, so a client
// that validates against the published document gets exactly the server's verdict. It is
// standalone draft-07 using only standard keywords (clients' strict validators refuse unknown
// ones such as "x-unit"), so units and column positions go into `description`.

import type { FeatureModel, FeatureSpec } from './spec.js';
import { MAX_REQUEST_ID_LENGTH, REQUEST_ID_PATTERN } from '../request-id.js';
import { MAX_TIMEOUT_MS, featureTarget } from './spec.js';

export const DRAFT_07 = 'http://json-schema.org/draft-07/schema#';

/** A JSON Schema document (plain JSON data). */
export type JsonSchema = { [key: string]: unknown };

/** The schema's `$id`: a URN, stable per model (features are per model, not per version). */
export function requestSchemaId(model: string): string {
  return `urn:sluice:model:${model}:predict-request`;
}

/**
 * Builds the request schema of `model` (a fresh object each call: build once per load and keep
 * it, or its JSON text). Throws SLUICE_ERR_FEATURES_NOT_DECLARED for a model without features.
 */
export function buildRequestSchema(model: FeatureModel): JsonSchema {
  const { input, features } = featureTarget(model);
  const max = model.batching.maxBatchSize;
  const properties: JsonSchema = {};
  const required: string[] = [];
  features.forEach((f, col) => {
    properties[f.name] = featureSchema(f, col, input.name);
    if (f.required) required.push(f.name);
  });
  const about = model.description ? ` ${model.description}` : '';
  return {
    $schema: DRAFT_07,
    $id: requestSchemaId(model.name),
    title: `${model.name}: named-feature prediction request`,
    description:
      `Body of POST /v1/models/${model.name}:predict.${about} Each instance is one row of input ` +
      `"${input.name}": its features by name, nothing else.`,
    type: 'object',
    additionalProperties: false,
    required: ['instances'],
    properties: {
      instances: {
        title: 'instances',
        description: `The rows to predict, 1 to ${max} (the model's maxBatchSize); one prediction each, in order.`,
        type: 'array',
        minItems: 1,
        maxItems: max,
        items: { $ref: '#/definitions/instance' },
      },
      id: {
        title: 'id',
        description: 'Request id, echoed in the answer and the x-request-id header; generated when absent.',
        type: 'string',
        minLength: 1,
        maxLength: MAX_REQUEST_ID_LENGTH,
        // Well-formed Unicode: no lone surrogate.
        pattern: REQUEST_ID_PATTERN,
      },
      parameters: {
        title: 'parameters',
        description: 'Request parameters; keys other than timeout_ms are passed through.',
        type: 'object',
        properties: {
          timeout_ms: {
            title: 'timeout_ms',
            description: `Deadline from receipt. Unit: milliseconds. Default: the model's defaultTimeoutMs.`,
            type: 'number',
            exclusiveMinimum: 0,
            maximum: MAX_TIMEOUT_MS,
          },
        },
      },
    },
    definitions: {
      instance: {
        title: `${model.name} instance`,
        description: `One row: ${features.length} features in all, ${required.length} required.`,
        type: 'object',
        additionalProperties: false,
        ...(required.length > 0 ? { required } : {}),
        properties,
      },
    },
  };
}

function featureSchema(f: FeatureSpec, col: number, inputName: string): JsonSchema {
  const parts: string[] = [];
  if (f.description !== undefined) parts.push(/[.!?]$/.test(f.description) ? f.description : `${f.description}.`);
  if (f.unit !== undefined) parts.push(`Unit: ${f.unit}.`);
  const codes = f.codes;
  if (f.type === 'enum' && f.enum !== undefined && codes !== undefined) {
    parts.push(`Fed to the model as ${f.enum.map((v, i) => `${JSON.stringify(v)} → ${codes[i]}`).join(', ')}.`);
  }
  if (!f.required) parts.push(`Optional; default ${JSON.stringify(f.default)}.`);
  parts.push(`Column ${col} of input "${inputName}".`);
  const text = parts.join(' ');
  const s: JsonSchema = { title: f.name, description: text };
  if (f.type === 'enum') {
    s.enum = [...(f.enum ?? [])];
  } else {
    s.type = f.type;
    if (f.minimum !== undefined) s.minimum = f.minimum;
    if (f.maximum !== undefined) s.maximum = f.maximum;
  }
  if (f.default !== undefined) s.default = f.default;
  return s;
}
