// models/<name>/model.json: its schema, defaults and validation. A config that fails gives
// SLUICE_ERR_MODEL_CONFIG_INVALID with one detail per problem, each naming the JSON path.
import { Ajv, type ErrorObject } from 'ajv';
import { SluiceError } from '../errors.js';
import type { BatchingConfig, Device, TensorSpec } from '../types.js';

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
  });
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
