// models/<name>/model.json: its schema, defaults and validation. A config that fails gives
// SLUICE_ERR_MODEL_CONFIG_INVALID with one detail per problem, each naming the JSON path.
import { Ajv, type ErrorObject } from 'ajv';
import { SluiceError } from '../errors.js';
import type { BatchingConfig, DataType, Device, FeatureSpec, TensorSpec } from '../types.js';

/**
 * One named feature: column j of the features input is features[j] (docs/features.md).
 * `required` is filled in (default true); `default` is present exactly when required is false.
 */
/** A named feature as model.json declares it (see types.ts). */
export type FeatureConfig = FeatureSpec;

export interface ModelConfig {
  readonly name: string;
  readonly description: string;
  readonly platform: 'onnxruntime_onnx';
  /** dims[0] of every input and output is the batch dim and must be -1. */
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly batching: BatchingConfig;
  /** Deadline given to requests that carry none. */
  readonly defaultTimeoutMs: number;
  readonly device: Device;
  /** Serve the newest `latest` versions that load; older ones are unloaded. */
  readonly versionPolicy: { readonly latest: number };
  /** Named features, one per column of `featuresInput` in column order; absent: no /v1 predict. */
  readonly features?: readonly FeatureConfig[];
  /** The input the features fill (the model's only input); set exactly when `features` is. */
  readonly featuresInput?: string;
  /** classes[i] names class i: column i of `probabilities`, value i of `label`. */
  readonly classes?: readonly string[];
}

const DATATYPES = ['BOOL', 'UINT8', 'INT8', 'INT16', 'INT32', 'INT64', 'FP32', 'FP64'];
const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$';

const tensorSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'datatype', 'shape'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_.:/-]{0,127}$' },
    datatype: { enum: DATATYPES },
    shape: {
      type: 'array',
      minItems: 1,
      maxItems: 8,
      items: [{ const: -1 }],
      additionalItems: { type: 'integer', minimum: -1, maximum: 1 << 30, not: { const: 0 } },
    },
  },
};

/** Feature names are identifiers so they read well as JSON keys and in error paths. */
const FEATURE_NAME_PATTERN = '^[a-z][a-z0-9_]*$';
/** Keys the JSON body decoder refuses (codec/json-body.ts): a feature so named could never be sent. */
const UNSENDABLE_NAMES = new Set(['constructor', 'prototype']);
const numberOrString = { anyOf: [{ type: 'number' }, { type: 'string', maxLength: 256 }] };

const featureSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'type'],
  properties: {
    name: { type: 'string', pattern: FEATURE_NAME_PATTERN, maxLength: 64 },
    type: { enum: ['number', 'integer', 'enum'] },
    unit: { type: 'string', minLength: 1, maxLength: 64 },
    description: { type: 'string', maxLength: 1000 },
    minimum: { type: 'number' },
    maximum: { type: 'number' },
    enum: { type: 'array', minItems: 1, maxItems: 1024, items: numberOrString },
    codes: { type: 'array', maxItems: 1024, items: { type: 'number' } },
    required: { type: 'boolean' },
    default: numberOrString,
  },
};

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'inputs', 'outputs'],
  properties: {
    name: { type: 'string', pattern: NAME_PATTERN },
    description: { type: 'string', maxLength: 1000 },
    platform: { const: 'onnxruntime_onnx' },
    inputs: { type: 'array', minItems: 1, maxItems: 64, items: tensorSchema },
    outputs: { type: 'array', minItems: 1, maxItems: 64, items: tensorSchema },
    batching: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxBatchSize: { type: 'integer', minimum: 1, maximum: 65536 },
        maxQueueDelayUs: { type: 'integer', minimum: 0, maximum: 10_000_000 },
        preferredBatchSizes: { type: 'array', maxItems: 32, items: { type: 'integer', minimum: 1 } },
        maxQueueSize: { type: 'integer', minimum: 1, maximum: 1_000_000 },
      },
    },
    defaultTimeoutMs: { type: 'integer', minimum: 1, maximum: 600_000 },
    device: { type: 'string', pattern: '^(cpu|cuda:[0-9]{1,2})$' },
    versionPolicy: {
      type: 'object',
      additionalProperties: false,
      required: ['latest'],
      properties: { latest: { type: 'integer', minimum: 1, maximum: 100 } },
    },
    features: { type: 'array', minItems: 1, maxItems: 65536, items: featureSchema },
    featuresInput: { type: 'string' },
    classes: { type: 'array', minItems: 1, maxItems: 65536, items: { type: 'string', minLength: 1, maxLength: 256 } },
  },
};

export const DEFAULT_BATCHING: BatchingConfig = Object.freeze({
  maxBatchSize: 64,
  maxQueueDelayUs: 1000,
  preferredBatchSizes: [],
  maxQueueSize: 2048,
});

const ajv = new Ajv({ strict: true, strictTuples: false, allErrors: true });
const validate = ajv.compile(schema);

function describe(e: ErrorObject): string {
  const at = e.instancePath || '/';
  if (e.keyword === 'additionalProperties') return `${at}: unknown property "${String(e.params.additionalProperty)}"`;
  if (e.keyword === 'enum') return `${at}: must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`;
  return `${at}: ${e.message ?? 'is invalid'}`;
}

function invalid(file: string, details: string[]): SluiceError {
  return new SluiceError('SLUICE_ERR_MODEL_CONFIG_INVALID', `${file} is invalid`, { details });
}

/**
 * Validates a parsed model.json and fills defaults. `dirName` is the model directory's name,
 * which `name` must equal so that URLs and directories cannot disagree. Load-time only
 * (allErrors is fine here, never on a request path).
 */
export function parseModelConfig(raw: unknown, dirName: string, file = 'model.json'): ModelConfig {
  if (!validate(raw)) throw invalid(file, (validate.errors ?? []).map(describe));
  const c = raw as Record<string, unknown> & { name: string; inputs: TensorSpec[]; outputs: TensorSpec[] };
  const details: string[] = [];
  if (c.name !== dirName) details.push(`/name: "${c.name}" must equal the directory name "${dirName}"`);
  for (const [list, kind] of [[c.inputs, 'inputs'], [c.outputs, 'outputs']] as const) {
    const seen = new Set<string>();
    list.forEach((t, i) => {
      if (seen.has(t.name)) details.push(`/${kind}/${i}/name: duplicate "${t.name}"`);
      seen.add(t.name);
    });
  }
  const batching = { ...DEFAULT_BATCHING, ...(c.batching as Partial<BatchingConfig> | undefined) };
  batching.preferredBatchSizes = [...new Set(batching.preferredBatchSizes)].sort((a, b) => a - b);
  if (batching.preferredBatchSizes.some((s) => s > batching.maxBatchSize)) {
    details.push('/batching/preferredBatchSizes: every size must be <= maxBatchSize');
  }
  const named = parseFeatures(c, details);
  const classes = c.classes as string[] | undefined;
  if (classes !== undefined) checkClasses(classes, c.outputs, details);
  if (details.length > 0) throw invalid(file, details);
  return deepFreeze({
    name: c.name,
    description: (c.description as string | undefined) ?? '',
    platform: 'onnxruntime_onnx',
    inputs: c.inputs,
    outputs: c.outputs,
    batching,
    defaultTimeoutMs: (c.defaultTimeoutMs as number | undefined) ?? 10_000,
    device: ((c.device as string | undefined) ?? 'cpu') as Device,
    versionPolicy: (c.versionPolicy as { latest: number } | undefined) ?? { latest: 1 },
    ...named,
    ...(classes === undefined ? {} : { classes }),
  });
}

// ---- features and classes: cross-checks the schema cannot express ----------------------------

type RawFeature = Omit<FeatureConfig, 'required'> & { required?: boolean };

const INT_RANGES: Partial<Record<DataType, readonly [number, number]>> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  UINT8: [0, 255],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** Checks `features` against the input it fills; returns the parsed fields (or none). */
function parseFeatures(
  c: { features?: unknown; featuresInput?: unknown; inputs: TensorSpec[] },
  details: string[],
): { features?: FeatureConfig[]; featuresInput?: string } {
  const raw = c.features as RawFeature[] | undefined;
  const asked = c.featuresInput as string | undefined;
  if (raw === undefined) {
    if (asked !== undefined) details.push('/featuresInput: given without features');
    return {};
  }
  const input = asked === undefined ? c.inputs[0] : c.inputs.find((t) => t.name === asked);
  if (input === undefined) {
    details.push(`/featuresInput: ${JSON.stringify(asked)} is not an input of this model (inputs: ${c.inputs.map((t) => t.name).join(', ')})`);
    return {};
  }
  if (c.inputs.length > 1) {
    details.push(`/features: a /v1 request carries only the features, so the model must have exactly one input; it has ${c.inputs.length}`);
  }
  const cols = input.shape[1];
  if (input.shape.length !== 2 || cols === undefined || cols === -1) {
    details.push(`/features: input "${input.name}" must have shape [-1, n] with a fixed n to take named features; it has [${input.shape.join(', ')}]`);
  } else if (cols !== raw.length) {
    details.push(`/features: ${raw.length} features declared but input "${input.name}" has ${cols} columns (shape [-1, ${cols}])`);
  }
  if (input.datatype === 'BOOL') details.push(`/features: input "${input.name}" is BOOL; named features feed numeric inputs only`);

  const firstAt = new Map<string, number>();
  const features = raw.map((f, i): FeatureConfig => {
    const at = `/features/${i}`;
    const seen = firstAt.get(f.name);
    if (seen !== undefined) details.push(`${at}/name: duplicate "${f.name}" (first at /features/${seen})`);
    else firstAt.set(f.name, i);
    if (UNSENDABLE_NAMES.has(f.name)) details.push(`${at}/name: "${f.name}" cannot be sent: JSON bodies refuse that key`);
    checkFeature(f, at, input.datatype, details);
    return { ...f, required: f.required ?? true };
  });
  return { features, featuresInput: input.name };
}

function checkFeature(f: RawFeature, at: string, dt: DataType, details: string[]): void {
  const range = INT_RANGES[dt];
  if (f.type === 'enum') {
    if (f.minimum !== undefined) details.push(`${at}/minimum: does not apply to type "enum"`);
    if (f.maximum !== undefined) details.push(`${at}/maximum: does not apply to type "enum"`);
    if (f.enum === undefined) {
      details.push(`${at}/enum: required for type "enum" (the allowed values)`);
      if (f.codes !== undefined) details.push(`${at}/codes: given without enum`);
    } else {
      f.enum.forEach((v, j) => {
        if (f.enum?.indexOf(v) !== j) details.push(`${at}/enum/${j}: duplicate value ${JSON.stringify(v)}`);
      });
      if (f.codes !== undefined && f.codes.length !== f.enum.length) {
        details.push(`${at}/codes: one code per enum value: expected ${f.enum.length}, got ${f.codes.length}`);
      } else if (f.codes === undefined && f.enum.some((v) => typeof v === 'string')) {
        details.push(`${at}/codes: required when enum has string values (the model takes numbers)`);
      }
      if (range !== undefined) {
        const fed = f.codes ?? f.enum;
        fed.forEach((v, j) => {
          if (typeof v === 'number' && !(Number.isInteger(v) && v >= range[0] && v <= range[1])) {
            details.push(`${at}/${f.codes ? 'codes' : 'enum'}/${j}: ${v} is not an integer in [${range[0]}, ${range[1]}] (input datatype ${dt})`);
          }
        });
      }
    }
  } else {
    if (f.enum !== undefined) details.push(`${at}/enum: only for type "enum"`);
    if (f.codes !== undefined) details.push(`${at}/codes: only for type "enum"`);
    if (f.minimum !== undefined && f.maximum !== undefined && f.minimum > f.maximum) {
      details.push(`${at}: minimum ${f.minimum} is greater than maximum ${f.maximum}`);
    }
    if (range !== undefined) {
      if (f.type !== 'integer') details.push(`${at}/type: input datatype ${dt} takes integers: use "integer" or "enum"`);
      if (!(f.minimum !== undefined && f.maximum !== undefined && f.minimum >= range[0] && f.maximum <= range[1])) {
        details.push(`${at}: input datatype ${dt} needs minimum and maximum within [${range[0]}, ${range[1]}]`);
      }
    }
  }
  const required = f.required ?? true;
  if (required && f.default !== undefined) details.push(`${at}/default: only optional features (required: false) take a default`);
  if (!required && f.default === undefined) details.push(`${at}/default: required when the feature is optional (required: false)`);
  if (f.default !== undefined) {
    const why = valueProblem(f, f.default);
    if (why !== undefined) details.push(`${at}/default: ${why}`);
  }
}

/** Why `v` is not an allowed value of feature `f`, or undefined when it is. */
function valueProblem(f: RawFeature, v: number | string): string | undefined {
  if (f.type === 'enum') return f.enum === undefined || f.enum.includes(v) ? undefined : `${JSON.stringify(v)} is not one of enum`;
  if (typeof v !== 'number') return `must be a number, got string`;
  if (f.type === 'integer' && !Number.isInteger(v)) return `must be an integer, got ${v}`;
  if (f.minimum !== undefined && v < f.minimum) return `must be >= ${f.minimum}, got ${v}`;
  if (f.maximum !== undefined && v > f.maximum) return `must be <= ${f.maximum}, got ${v}`;
  return undefined;
}

/**
 * `classes[i]` names class i: column i of a `probabilities` output of shape [-1, k] (k must equal
 * the number of names) and value i of an integer `label` output of shape [-1] when there is one.
 */
function checkClasses(classes: string[], outputs: TensorSpec[], details: string[]): void {
  classes.forEach((n, i) => {
    if (classes.indexOf(n) !== i) details.push(`/classes/${i}: duplicate "${n}"`);
  });
  const label = outputs.find((o) => o.name === 'label');
  if (label !== undefined && (label.shape.length !== 1 || INT_RANGES[label.datatype] === undefined)) {
    details.push(`/classes: output "label" must be integer of shape [-1] to be named by classes; it is ${label.datatype} [${label.shape.join(', ')}]`);
  }
  if (outputs.some((o) => o.name === 'class')) details.push('/classes: an output named "class" would clash with the "class" field of /v1 predictions');
  const probs = outputs.find((o) => o.name === 'probabilities');
  const k = probs?.shape[1];
  if (probs !== undefined && probs.shape.length === 2 && k !== undefined && k !== -1 && k !== classes.length) {
    details.push(`/classes: ${classes.length} names but output "probabilities" has ${k} columns`);
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
