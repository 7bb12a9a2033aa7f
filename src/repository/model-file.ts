// models/<name>/model.json as a file: its schema and the parse of what it declares. Every field but the
// model-level defaults may be left to the ONNX graph: resolve-config.ts merges the two at each
// version's load. A file that fails gives SLUICE_ERR_MODEL_CONFIG_INVALID with one detail per
// problem, each naming its JSON path and, where it can, what to write instead.
import { Ajv, type ErrorObject } from 'ajv';
import { SluiceError } from '../errors.js';
import { deepFreeze } from '../util/deep-freeze.js';

export { deepFreeze };
import type { BatchingConfig, DataType, Device } from '../types.js';
import type { RawFeature } from './feature-config.js';
import { DRIFT_SCHEMA, RETRAIN_SCHEMA, driftSettings, retrainSettings, type DriftSettings, type RetrainSettings } from './mlops-config.js';

/** Inputs to warm a version up with: zero-filled tensors of these full shapes, or a request file. */
export type WarmupConfig =
  | { readonly shapes: Readonly<Record<string, readonly number[]>> }
  /** A file in the model directory holding one Open Inference Protocol request body (JSON). */
  | { readonly sample: string };

/** A tensor as model.json declares it: every field but the name may be left to the graph. */
export interface DeclaredTensor {
  readonly name: string;
  readonly datatype?: DataType;
  readonly shape?: readonly number[];
  /** Present (a number or null) only when the file says it. */
  readonly batchDim?: number | null;
}

/** The model-level settings: the same in model.json and in the effective config. */
export interface ModelSettings {
  readonly name: string;
  readonly description: string;
  /** Deadline given to requests that carry none. */
  readonly defaultTimeoutMs: number;
  readonly device: Device;
  /** Serve the newest `latest` versions that load; older ones are unloaded. */
  readonly versionPolicy: { readonly latest: number };
  /** Readiness counts this model (see --ready-when); absent: the server's policy decides. */
  readonly required?: boolean;
  readonly warmup?: WarmupConfig;
  /** The input the features fill (the model's only input). */
  readonly featuresInput?: string;
  /** classes[i] names class i: column i of `probabilities`, value i of `label`. */
  readonly classes?: readonly string[];
  /** Promote a shadow automatically when its comparison meets these (docs/shadow.md). */
  readonly promotionGate?: PromotionGateConfig;
  /** Shadow comparison: also count top-k agreement (the primary's label among the shadow's k best). */
  readonly shadowTopK?: number;
  /** This model's prediction log lines (docs/prediction-log.md); the flags give the defaults. */
  readonly predictionLog?: PredictionLogSettings;
}

/** model.json `predictionLog`. */
export interface PredictionLogSettings {
  /** false: no lines for this model (the process-wide --prediction-log still applies to others). */
  readonly enabled?: boolean;
  /** Share of requests (0..1, stable per request id) whose inputs are logged. */
  readonly inputSampleRate?: number;
  /** Input tensors, or named features (their whole input tensor), never logged. */
  readonly redact?: readonly string[];
  /** Most elements logged per tensor. */
  readonly maxValues?: number;
}

/** model.json `promotionGate`: shares are 0..1. */
export interface PromotionGateConfig {
  readonly minSamples: number;
  readonly minAgreement?: number;
  readonly minLabeled?: number;
  readonly minAccuracy?: number;
  readonly minAccuracyGain?: number;
}

/** What a model.json says, schema-checked, model-level defaults filled in. */
export interface ModelFile extends ModelSettings {
  readonly inputs?: readonly DeclaredTensor[];
  readonly outputs?: readonly DeclaredTensor[];
  /** As given; resolve-config fills maxBatchSize from the graph when absent. */
  readonly batching: Readonly<Partial<BatchingConfig>>;
  readonly features?: readonly RawFeature[];
  /** Drift tracking against each version's reference.json (docs/drift.md); defaults filled. */
  readonly drift: DriftSettings;
  /** What fires a retrain and what it runs (docs/drift.md); absent: no trigger. */
  readonly retrain?: RetrainSettings;
}

export const DATATYPES: readonly DataType[] = ['BOOL', 'UINT8', 'INT8', 'INT16', 'INT32', 'INT64', 'FP32', 'FP64'];
const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$';
/**
 * Tensor names are used verbatim on the wire, so anything printable goes (PyTorch exports name
 * tensors `39` or `onnx::Flatten_0`): no control, format or unassigned characters, 1-256 long.
 */
export const TENSOR_NAME_PATTERN = '^[^\\p{C}]{1,256}$';
const SAMPLE_FILE_PATTERN = '^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}\\.json$';
const MAX_RANK = 8;

const dims = { type: 'array', maxItems: MAX_RANK, items: { type: 'integer', minimum: -1, maximum: 1 << 30 } };

const tensorSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: TENSOR_NAME_PATTERN },
    datatype: { enum: DATATYPES },
    shape: dims,
    batchDim: { type: ['integer', 'null'], minimum: 0, maximum: MAX_RANK - 1 },
  },
};

const numberOrString = { type: ['number', 'string'], maxLength: 256 };

const featureSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'type'],
  properties: {
    name: { type: 'string', pattern: '^[a-z][a-z0-9_]*$', maxLength: 64 },
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
        maxBatchSize: { type: 'integer', minimum: 0, maximum: 65536 },
        maxQueueDelayUs: { type: 'integer', minimum: 0, maximum: 10_000_000 },
        preferredBatchSizes: { type: 'array', maxItems: 32, items: { type: 'integer', minimum: 1 } },
        maxQueueSize: { type: 'integer', minimum: 1, maximum: 1_000_000 },
        maxShadowQueueSize: { type: 'integer', minimum: 1, maximum: 1_000_000 },
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
    required: { type: 'boolean' },
    warmup: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      maxProperties: 1,
      properties: {
        shapes: { type: 'object', maxProperties: 64, additionalProperties: dims },
        sample: { type: 'string', pattern: SAMPLE_FILE_PATTERN },
      },
    },
    promotionGate: {
      type: 'object',
      additionalProperties: false,
      required: ['minSamples'],
      properties: {
        minSamples: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
        minAgreement: { type: 'number', minimum: 0, maximum: 1 },
        minLabeled: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
        minAccuracy: { type: 'number', minimum: 0, maximum: 1 },
        minAccuracyGain: { type: 'number', minimum: -1, maximum: 1 },
      },
    },
    shadowTopK: { type: 'integer', minimum: 1, maximum: 1000 },
    predictionLog: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        inputSampleRate: { type: 'number', minimum: 0, maximum: 1 },
        redact: { type: 'array', maxItems: 65536, items: { type: 'string', minLength: 1, maxLength: 256 } },
        maxValues: { type: 'integer', minimum: 0, maximum: 1_000_000 },
      },
    },
    drift: DRIFT_SCHEMA,
    retrain: RETRAIN_SCHEMA,
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

/**
 * The default maxBatchSize of a `cuda:N` version: a GPU's time per batch barely grows with its
 * rows up to hundreds, so it is fed larger batches than a CPU core (docs/gpu.md, sizing).
 */
export const GPU_DEFAULT_MAX_BATCH_SIZE = 256;

/** Load-time only: allErrors is fine here, never on a request path. */
const ajv = new Ajv({ strict: true, strictTuples: false, allErrors: true, allowUnionTypes: true });
const validate = ajv.compile(schema);

/** Readable text for what a pattern demands (ajv would print the regular expression). */
const PATTERN_TEXT: Record<string, string> = {
  [NAME_PATTERN]: 'must start with a letter or digit and hold only letters, digits, "_", "." and "-" (at most 128)',
  [TENSOR_NAME_PATTERN]: 'must be 1 to 256 printable characters (no control characters)',
  [SAMPLE_FILE_PATTERN]: 'must be the name of a .json file in the model directory (no "/", not starting with ".")',
  '^(cpu|cuda:[0-9]{1,2})$': 'must be "cpu" or "cuda:N"',
  '^[a-z][a-z0-9_]*$': 'must be a lower-case identifier (a-z, 0-9, "_", starting with a letter)',
};

const TYPE_TEXT: Record<string, string> = {
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

/** One ajv error as a line a user can act on: its JSON path and what the value must be. */
function describe(e: ErrorObject): string {
  const at = e.instancePath || '/';
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return `${at}: unknown property "${String(p.additionalProperty)}"`;
    case 'enum':
      return `${at}: must be one of ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'const':
      return `${at}: must be ${JSON.stringify(p.allowedValue)}`;
    case 'type': {
      const types = String(p.type).split(',');
      return `${at}: must be ${types.map((t) => TYPE_TEXT[t] ?? t).join(' or ')}`;
    }
    case 'pattern':
      return `${at}: ${PATTERN_TEXT[String(p.pattern)] ?? `must match ${String(p.pattern)}`}`;
    case 'required':
      return `${at === '/' ? '/' : `${at}`}: "${String(p.missingProperty)}" is required`;
    case 'minimum':
    case 'maximum':
      return `${at}: must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${String(p.limit)}`;
    case 'minItems':
    case 'maxItems':
      return `${at}: must hold ${e.keyword === 'minItems' ? 'at least' : 'at most'} ${String(p.limit)} item${p.limit === 1 ? '' : 's'}`;
    case 'minProperties':
    case 'maxProperties':
      return at === '/warmup'
        ? `${at}: give exactly one of "shapes" (input name → full shape) or "sample" (a request file)`
        : `${at}: must hold ${e.keyword === 'minProperties' ? 'at least' : 'at most'} ${String(p.limit)} entries`;
    default:
      return `${at}: ${e.message ?? 'is invalid'}`;
  }
}

export function configInvalid(file: string, details: string[]): SluiceError {
  return new SluiceError('SLUICE_ERR_MODEL_CONFIG_INVALID', `${file} is invalid`, { details });
}

/**
 * Checks a parsed model.json and fills the model-level defaults. `dirName` is the model
 * directory's name: `name`, when given, must equal it so URLs and directories cannot disagree.
 */
export function parseModelFile(raw: unknown, dirName: string, file = 'model.json'): ModelFile {
  if (!validate(raw)) throw configInvalid(file, (validate.errors ?? []).map(describe));
  // A private copy: the result is frozen, the caller's object must not be.
  const c = structuredClone(raw) as Record<string, unknown> & { name?: string; inputs?: DeclaredTensor[]; outputs?: DeclaredTensor[] };
  const details: string[] = [];
  if (c.name !== undefined && c.name !== dirName) details.push(`/name: "${c.name}" must equal the directory name "${dirName}"`);
  for (const [list, kind] of [[c.inputs, 'inputs'], [c.outputs, 'outputs']] as const) {
    const seen = new Set<string>();
    (list ?? []).forEach((t, i) => {
      if (seen.has(t.name)) details.push(`/${kind}/${i}/name: duplicate "${t.name}"`);
      seen.add(t.name);
      t.shape?.forEach((d, k) => {
        if (d === 0) details.push(`/${kind}/${i}/shape/${k}: a dim is a positive size, or -1 for a free one; 0 is neither`);
      });
    });
  }
  const batching = (c.batching as Partial<BatchingConfig> | undefined) ?? {};
  if (batching.preferredBatchSizes !== undefined) {
    batching.preferredBatchSizes = [...new Set(batching.preferredBatchSizes)].sort((a, b) => a - b);
  }
  if (details.length > 0) throw configInvalid(file, details);
  return deepFreeze({
    name: dirName,
    description: (c.description as string | undefined) ?? '',
    ...(c.inputs === undefined ? {} : { inputs: c.inputs }),
    ...(c.outputs === undefined ? {} : { outputs: c.outputs }),
    batching,
    defaultTimeoutMs: (c.defaultTimeoutMs as number | undefined) ?? 10_000,
    device: ((c.device as string | undefined) ?? 'cpu') as Device,
    versionPolicy: (c.versionPolicy as { latest: number } | undefined) ?? { latest: 1 },
    ...pick(c, ['required', 'warmup', 'features', 'featuresInput', 'classes', 'promotionGate', 'shadowTopK', 'predictionLog']),
    drift: driftSettings(c.drift as Partial<DriftSettings> | undefined),
    ...(c.retrain === undefined ? {} : { retrain: retrainSettings(c.retrain as Parameters<typeof retrainSettings>[0]) }),
  }) as ModelFile;
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
