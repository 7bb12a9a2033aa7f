// The Open Inference Protocol request envelope, checked by ajv.
//
// The envelope is the same for every model: names, datatypes, shapes and data are checked by
// request-validator.ts against the model's signature, each with its own error code, so nothing
// model-specific belongs in this schema. It is therefore compiled once per process (lazily) and
// shared by every model version's validator; a per-model ajv compile would cost a few ms and
// some memory per load and check exactly the same thing.
//
// ajv runs with allErrors off and coerceTypes off (DESIGN §1): it stops at the first error and
// never rewrites the body. It never looks inside `data` arrays: per-element checks are the
// tight loops of tensor-data.ts. `data` is checked by the `tensorData` keyword below rather than
// `type: array`, because binary decoders hand typed arrays over there (JSON has no such type);
// its error reads exactly like ajv's own `type` error, so JSON clients see no difference.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { SluiceError } from '../errors.js';
import { MAX_REQUEST_ID_LENGTH, REQUEST_ID_PATTERN } from '../request-id.js';

/** The envelope after ajv accepted it: the shape the rest of the validator relies on. */
export interface EnvelopeInput {
  name: string;
  shape: number[];
  datatype: string;
  /** A JSON array, or a typed array / raw bytes from a binary decoder. */
  data: unknown[] | ArrayBufferView;
  parameters?: Record<string, unknown>;
}

export interface Envelope {
  id?: string;
  parameters?: Record<string, unknown>;
  inputs: EnvelopeInput[];
  outputs?: { name: string; parameters?: Record<string, unknown> }[];
}

export const ENVELOPE_SCHEMA = {
  $id: 'sluice:oip-infer-request',
  type: 'object',
  required: ['inputs'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', minLength: 1, maxLength: MAX_REQUEST_ID_LENGTH, pattern: REQUEST_ID_PATTERN },
    // Accepted (Triton's own examples send them; WebSocket frames need them) and not read here:
    // on HTTP the URL names the model.
    model_name: { type: 'string' },
    model_version: { type: 'string' },
    parameters: { type: 'object' },
    inputs: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['name', 'shape', 'datatype', 'data'],
        additionalProperties: false,
        properties: {
          name: { type: 'string' },
          shape: { type: 'array', items: { type: 'integer' } },
          datatype: { type: 'string' },
          data: { tensorData: true },
          parameters: { type: 'object' },
        },
      },
    },
    outputs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: {
          name: { type: 'string' },
          parameters: { type: 'object' },
        },
      },
    },
  },
} as const;

let compiled: ValidateFunction | undefined;

/** The shared compiled envelope check (compiled on first use, at the first model load). */
export function envelopeValidator(): ValidateFunction {
  if (compiled === undefined) {
    const ajv = new Ajv({
      allErrors: false,
      coerceTypes: false,
      useDefaults: false,
      removeAdditional: false,
      strict: true,
    });
    ajv.addKeyword({ keyword: 'tensorData', schemaType: 'boolean', errors: true, validate: tensorData });
    compiled = ajv.compile(ENVELOPE_SCHEMA);
  }
  return compiled;
}

/** The `tensorData` keyword: a JSON array or any ArrayBufferView (typed-data.ts judges the view). */
function tensorData(this: unknown, _schema: boolean, data: unknown): boolean {
  if (Array.isArray(data) || ArrayBuffer.isView(data)) return true;
  tensorData.errors = [{ keyword: 'type', message: 'must be array', params: { type: 'array' } }] as Partial<ErrorObject>[];
  return false;
}
tensorData.errors = undefined as Partial<ErrorObject>[] | undefined;

/** Turns ajv's first error into SLUICE_ERR_REQUEST_INVALID with a JSON-path message. */
export function envelopeError(errors: ErrorObject[] | null | undefined): SluiceError {
  const first = errors?.[0];
  const text = first === undefined ? '(root): invalid request' : describe(first);
  return new SluiceError('SLUICE_ERR_REQUEST_INVALID', `invalid inference request: ${text}`, {
    details: [text],
  });
}

function describe(e: ErrorObject): string {
  const path = e.instancePath === '' ? '(root)' : e.instancePath;
  if (e.keyword === 'additionalProperties') {
    const prop = String((e.params as { additionalProperty?: unknown }).additionalProperty);
    const shown = prop.length > 64 ? `${prop.slice(0, 64)}…` : prop;
    return `${path}: unknown property ${JSON.stringify(shown)}`;
  }
  // The only pattern in the schema is the request id's.
  if (e.keyword === 'pattern') return `${path}: must be well-formed Unicode (it holds a lone surrogate)`;
  return `${path}: ${e.message ?? e.keyword}`;
}
