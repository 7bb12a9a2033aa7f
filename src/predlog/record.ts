// The prediction log's record: one JSON line per prediction (primary answer, refusal, or shadow
// answer). This module is the one definition of its fields: the builders below and the JSON
// Schema published as docs/prediction-log.schema.json (a test checks the two agree and validates
// real lines against it). Lines have pino's format: `level` (30) and `time` (ISO 8601) in front
// of these fields (line-bytes.ts writes them).
import type { PredictionEvent, TensorCopy } from '../dataplane/prediction-event.js';
import { PROTOCOLS } from '../dataplane/trace.js';

export interface PredictionRecord {
  /** Per process, from 0, one per line formed: a gap means lines were dropped (and counted). */
  readonly seq: number;
  /** Random per process start: (run, seq) is unique across restarts. */
  readonly run: string;
  readonly id: string | null;
  readonly model: string;
  readonly version: string | null;
  readonly sha256: string | null;
  readonly shadow: boolean;
  readonly primary_id?: string;
  readonly batch_id: number | null;
  readonly batch_size: number | null;
  readonly rows: number | null;
  readonly queue_us: number | null;
  readonly compute_us: number | null;
  readonly total_us: number;
  readonly protocol: string;
  readonly status: number;
  readonly code: string;
  readonly client_id?: string;
  readonly outputs: readonly TensorCopy[];
  readonly inputs?: readonly TensorCopy[];
}

/** Longest model name a record repeats from a URL (an unknown name is logged, shortened). */
const MAX_MODEL_CHARS = 256;

/**
 * The record of one event. Every record has the same fields in the same order, an absent optional
 * one as undefined (JSON leaves it out): one object shape, so the line encoder's reads stay
 * monomorphic, and no conditional spreads to build it.
 */
export function toRecord(event: PredictionEvent, seq: number, run: string): PredictionRecord {
  const t = event.timings;
  return {
    seq,
    run,
    id: event.id,
    model: event.model.length > MAX_MODEL_CHARS ? event.model.slice(0, MAX_MODEL_CHARS) : event.model,
    version: event.version === null ? null : String(event.version),
    sha256: event.sha256,
    shadow: event.shadow,
    primary_id: event.primaryId,
    batch_id: event.batchId,
    batch_size: event.batchRows,
    rows: event.rows,
    queue_us: t.queueUs === null ? null : Math.round(t.queueUs),
    compute_us: t.computeUs === null ? null : Math.round(t.computeUs),
    total_us: Math.round(t.totalUs),
    protocol: event.protocol,
    status: event.status,
    code: event.code,
    client_id: event.clientId,
    outputs: event.outputs,
    inputs: event.inputs,
  };
}

const nullable = (type: string): { type: string[] } => ({ type: [type, 'null'] });

const TENSOR_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'datatype', 'shape', 'data', 'truncated'],
  properties: {
    name: { type: 'string' },
    datatype: { enum: ['BOOL', 'UINT8', 'INT8', 'INT16', 'INT32', 'INT64', 'FP32', 'FP64'] },
    shape: { type: 'array', items: { type: 'integer', minimum: 0 } },
    data: { type: 'array', items: { type: ['number', 'boolean', 'null'] }, description: 'the first values, row-major; a redacted feature column is null' },
    truncated: { type: 'boolean', description: 'true when the tensor had more values than were logged' },
  },
} as const;

/** JSON Schema (2020-12) of one prediction log line. */
export const PREDICTION_RECORD_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://github.com/sluice/sluice/docs/prediction-log.schema.json',
  title: 'sluice prediction log line',
  type: 'object',
  additionalProperties: false,
  required: ['level', 'time', 'seq', 'run', 'id', 'model', 'version', 'sha256', 'shadow', 'batch_id', 'batch_size', 'rows', 'queue_us', 'compute_us', 'total_us', 'protocol', 'status', 'code', 'outputs'],
  properties: {
    level: { const: 30, description: "pino's info level" },
    time: { type: 'string', format: 'date-time', description: 'when the line was formed (just after the answer)' },
    seq: { type: 'integer', minimum: 0, description: 'per process, from 0; a gap means dropped lines' },
    run: { type: 'string', pattern: '^[0-9a-f]{8}$', description: 'random per process start' },
    id: { ...nullable('string'), description: 'request id; a shadow line repeats the primary request id' },
    model: { type: 'string', maxLength: MAX_MODEL_CHARS },
    version: { ...nullable('string'), description: 'version that answered; null when none was routed' },
    sha256: { ...nullable('string'), pattern: '^[0-9a-f]{64}$' },
    shadow: { type: 'boolean' },
    primary_id: { type: 'string', description: 'shadow lines only: the primary request id' },
    batch_id: nullable('integer'),
    batch_size: { ...nullable('integer'), description: 'rows in the batch that ran this request' },
    rows: nullable('integer'),
    queue_us: nullable('integer'),
    compute_us: nullable('integer'),
    total_us: { type: 'integer', minimum: 0 },
    protocol: { enum: [...PROTOCOLS] },
    status: { type: 'integer', minimum: 100, maximum: 599 },
    code: { type: 'string', pattern: '^(OK|SLUICE_ERR_[A-Z0-9_]+)$' },
    client_id: { type: 'string', description: 'the x-client-id header' },
    outputs: { type: 'array', items: TENSOR_SCHEMA, description: 'empty for a refusal' },
    inputs: { type: 'array', items: TENSOR_SCHEMA, description: 'present on sampled requests; redacted tensors left out' },
  },
} as const;
