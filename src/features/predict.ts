// POST /v1/models/{m}:predict, request side: validates a named-feature body against the model's
// published schema (schema.ts) and maps its instances to the model's input tensor.
//
// Contract: compileFeatureMapper runs once per model version at load: two synchronous ajv
// compiles, tens of ms for the 64-feature digits schema, so never per request. The mapper it
// returns is pure, keeps no state between calls, and either returns a FeatureRequest or throws a
// SluiceError. Its input must come from parseJsonBody (or a decoder with the same guarantees: no
// __proto__/constructor/prototype keys, bounded depth).
//
// Validation runs twice only for bad requests. The hot path is ajv with allErrors OFF (DESIGN §1):
// it stops at the first error. When that fails, a second validator compiled from the same schema
// with allErrors ON lists every problem so a client can fix a request in one round trip. That is
// acceptable only because its work is bounded before it runs. maxItems (= maxBatchSize) and
// additionalProperties: false alone do not bound it: with allErrors ajv still validates every
// item after maxItems failed, and reports every key additionalProperties refuses. So a body with
// more instances than maxBatchSize is refused without ajv, and any object with more keys than
// features + MAX_ERROR_DETAILS is cut to that many first (boundedView): the run then reports at
// most maxBatchSize × (features + MAX_ERROR_DETAILS) errors, which explainErrors (details.ts) orders
// in two linear passes (no sort of them all) and compares names for only the MAX_ERROR_DETAILS
// lines it shows. No coerceTypes, no useDefaults: ajv never rewrites the body; defaults are
// applied by the fill loop below.

import { Ajv, type ValidateFunction } from 'ajv';
import { MAX_ERROR_DETAILS, SluiceError } from '../errors.js';
import type { DataType, Tensor, TensorData } from '../types.js';
import { boundedView, capDetails, explainErrors, featureIndex, type FeatureIndex } from './details.js';
import { buildRequestSchema } from './schema.js';
import { featureTarget, type FeatureModel, type FeatureSpec } from './spec.js';

export { encodePredictions } from './answer.js';

/** A validated /v1 request, in the shape of the OIP path's DecodedInfer. */
export interface FeatureRequest {
  /** One tensor: the features input, shape [rows, features.length], the input's datatype. */
  inputs: Tensor[];
  rows: number;
  id?: string;
  /** parameters.timeout_ms when given: 0 < t <= MAX_TIMEOUT_MS. */
  timeoutMs?: number;
  /** The request's parameters, as sent. */
  parameters?: Record<string, unknown>;
}

export type FeatureMapper = (body: Record<string, unknown>) => FeatureRequest;

/** Smallest double that rounds to +Infinity when stored in a float32 (2^128 - 2^103). */
const F32_OVERFLOW = 2 ** 128 - 2 ** 103;

const ALLOC: Record<Exclude<DataType, 'BOOL'>, (n: number) => TensorData> = {
  FP32: (n) => new Float32Array(n),
  FP64: (n) => new Float64Array(n),
  INT8: (n) => new Int8Array(n),
  INT16: (n) => new Int16Array(n),
  INT32: (n) => new Int32Array(n),
  UINT8: (n) => new Uint8Array(n),
  INT64: (n) => new BigInt64Array(n),
};

interface Column {
  name: string;
  /** enum value → number fed to the model; undefined for number/integer features. */
  codes: Map<unknown, number> | undefined;
  /** Fed when the instance lacks the feature (optional features only; NaN is never reached). */
  fallback: number;
}

function column(f: FeatureSpec): Column {
  let codes: Map<unknown, number> | undefined;
  if (f.type === 'enum') {
    const values = f.enum ?? [];
    codes = new Map(values.map((v, i) => [v, f.codes?.[i] ?? (typeof v === 'number' ? v : Number.NaN)]));
  }
  const d = f.default;
  const fallback = d === undefined ? Number.NaN : codes !== undefined ? (codes.get(d) ?? Number.NaN) : Number(d);
  return { name: f.name, codes, fallback };
}

/**
 * Compiles the /v1 mapper of one model version. Throws SLUICE_ERR_FEATURES_NOT_DECLARED for a
 * model without features, SLUICE_ERR_MODEL_CONFIG_INVALID when they do not fit its input.
 * The mapper throws SLUICE_ERR_FEATURES_INVALID (400) with at most MAX_ERROR_DETAILS details.
 */
export function compileFeatureMapper(model: FeatureModel): FeatureMapper {
  const { input, features } = featureTarget(model);
  const schema = buildRequestSchema(model);
  // code.optimize off: ajv's optimisation pass over the generated code tripled the compile time of
  // the digits schema (64 features: median 184 ms → 58 ms here, 2 busy cores) and changed the
  // validation time of a 64-row body by less than the run-to-run noise (~70-120 µs either way).
  const opts = { strict: true, coerceTypes: false, useDefaults: false, removeAdditional: false, code: { optimize: false } } as const;
  const fast = new Ajv({ ...opts, allErrors: false }).compile(schema);
  const full = new Ajv({ ...opts, allErrors: true, verbose: true }).compile(schema);
  const maxRows = model.batching.maxBatchSize;
  const keyCap = features.length + MAX_ERROR_DETAILS;
  const columns = features.map(column);
  const index = featureIndex(features.map((f) => f.name));
  const width = columns.length;
  const alloc = ALLOC[input.datatype as Exclude<DataType, 'BOOL'>];
  const isF32 = input.datatype === 'FP32';
  const isI64 = input.datatype === 'INT64';
  const modelName = JSON.stringify(model.name);

  /** `total` counts every problem found, shown or not; `open`: there may be more than `total`. */
  const refuse = ({ details, total, open }: Problems): SluiceError => {
    const first = details[0] ?? '(root): invalid request';
    const rest = total > 1 || open ? ` (${total}${open ? '+' : ''} problems)` : '';
    return new SluiceError('SLUICE_ERR_FEATURES_INVALID', `invalid request for model ${modelName}: ${first}${rest}`, { details });
  };

  return function mapFeatures(body: Record<string, unknown>): FeatureRequest {
    if (!fast(body)) throw refuse(explain(body, full, maxRows, keyCap, index));
    const instances = body.instances as Record<string, unknown>[];
    const rows = instances.length;
    const data = alloc(rows * width);
    let problems: string[] | undefined;
    for (let r = 0; r < rows; r++) {
      const inst = instances[r] as Record<string, unknown>;
      for (let j = 0; j < width; j++) {
        const c = columns[j] as Column;
        const v = inst[c.name];
        // ajv has checked types, ranges and enum membership; the schema cannot see NaN/±Inf from
        // decoders other than JSON (ajv's strictNumbers does) nor FP32 overflow: guard both here.
        const x = v === undefined ? c.fallback : c.codes !== undefined ? (c.codes.get(v) as number) : (v as number);
        if (x - x !== 0 || (isF32 && (x >= F32_OVERFLOW || x <= -F32_OVERFLOW))) {
          (problems ??= []).push(`/instances/${r}/${c.name}: ${x - x !== 0 ? `must be a finite number, got ${String(v)}` : `${x} overflows FP32`}`);
          continue;
        }
        if (isI64) (data as BigInt64Array)[r * width + j] = BigInt(x);
        else (data as Float32Array)[r * width + j] = x;
      }
    }
    if (problems !== undefined) throw refuse({ details: capDetails(problems), total: problems.length, open: false });
    const id = body.id as string | undefined;
    const parameters = body.parameters as Record<string, unknown> | undefined;
    const timeoutMs = parameters?.timeout_ms as number | undefined;
    const tensor: Tensor = { name: input.name, datatype: input.datatype, shape: [rows, width], data };
    return { inputs: [tensor], rows, id, timeoutMs, parameters };
  };
}

interface Problems {
  details: string[];
  total: number;
  open: boolean;
}

/** Every problem of a body the fast validator refused, bounded (see the file comment). */
function explain(body: Record<string, unknown>, full: ValidateFunction, maxRows: number, keyCap: number, index: FeatureIndex): Problems {
  const rows = body.instances;
  if (Array.isArray(rows) && rows.length > maxRows) {
    const only = `/instances: must hold at most ${maxRows} instances (the model's maxBatchSize), got ${rows.length}`;
    return { details: [only], total: 1, open: false };
  }
  const { view, cut } = boundedView(body, maxRows, keyCap);
  // Unreachable unless the two validators disagree: they share one schema.
  if (full(view)) return { details: ['(root): invalid request'], total: 1, open: false };
  const errors = full.errors ?? [];
  return { details: explainErrors(errors, index, cut), total: errors.length, open: cut };
}
