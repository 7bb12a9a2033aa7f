// Shared shapes of the data plane. Leaf module: imports nothing from the project.

/** Open Inference Protocol tensor datatypes that sluice serves. */
export type DataType =
  | 'BOOL'
  | 'UINT8'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP32'
  | 'FP64';

export type TensorData =
  | Float32Array
  | Float64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | BigInt64Array;

/** A decoded, validated tensor. `shape` is concrete (no -1); data.length = product(shape). */
export interface Tensor {
  name: string;
  datatype: DataType;
  shape: number[];
  data: TensorData;
}

/** Declared tensor of a model: its full shape, dims may be -1 (free). */
export interface TensorSpec {
  name: string;
  datatype: DataType;
  shape: number[];
  /**
   * Where the batch dim sits in `shape` (that dim is -1), or null: the tensor has no batch dim.
   * An input without one is shared by every row of a batch (a sample rate); in a model that does
   * not batch (maxBatchSize 0) every tensor has null. Absent means 0 (see batchDimOf).
   */
  batchDim?: number | null;
}

/** A tensor's batch dim: its `batchDim`, 0 when absent, null when it has none. */
export function batchDimOf(t: { readonly batchDim?: number | null }): number | null {
  return t.batchDim === undefined ? 0 : t.batchDim;
}

/**
 * One inference request, built once after decoding and validation, whatever the transport or
 * the wire format; it travels unchanged to the batcher (and later to shadows and observers).
 * Owned by the data plane: its tensors' buffers may be copied into a batch and must not be
 * reused by the caller.
 */
export interface InferRequest {
  /** Client id (echoed) or generated. */
  readonly id: string;
  /** True when the client gave the id (body `id`, else the transport's request id header). */
  readonly idFromClient: boolean;
  readonly model: string;
  /** Explicit version asked for (a /versions/{v} URL), or undefined for the model's routing. */
  readonly version?: number;
  /** Every input of the model, in its declared order. */
  readonly inputs: Tensor[];
  /** Requested output names; undefined means all. */
  readonly outputs?: string[];
  /** Rows in the batch dims (1 for a model that does not batch). */
  readonly rows: number;
  /** When the transport started reading it, and its absolute deadline: µs on the monotonic clock. */
  readonly receivedUs: number;
  readonly deadlineUs: number;
  readonly parameters?: Record<string, unknown>;
  /** True once nobody waits for the answer (the client went away). */
  readonly isCancelled?: () => boolean;
}

export interface BatchingConfig {
  maxBatchSize: number;
  maxQueueDelayUs: number;
  preferredBatchSizes: number[];
  maxQueueSize: number;
  /**
   * Shadow copies (the low-priority lane) one version holds at once, queued + running; one beyond
   * it is refused QUEUE_FULL and counted as a dropped copy. Absent: maxQueueSize.
   */
  maxShadowQueueSize?: number;
}

export type ModelState = 'UNKNOWN' | 'LOADING' | 'READY' | 'UNLOADING' | 'UNAVAILABLE';

export type Device = 'cpu' | `cuda:${number}`;

export type FeatureType = 'number' | 'integer' | 'enum';

/** One named feature of a model (model.json `features`): a column of its 2-D input. */
export interface FeatureSpec {
  readonly name: string;
  readonly type: FeatureType;
  readonly unit?: string;
  readonly description?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  /** Allowed values of an `enum` feature. */
  readonly enum?: readonly (number | string)[];
  /** codes[i] is the number fed to the model for enum[i]; absent: numeric enum values are fed as-is. */
  readonly codes?: readonly number[];
  readonly required: boolean;
  /** Used when the feature is optional and absent from an instance. */
  readonly default?: number | string;
}

/** A request's time per stage of its path, µs (prediction events, metrics); null for a stage it never reached. */
export interface StageTimings {
  readonly decodeUs: number | null;
  readonly validateUs: number | null;
  readonly queueUs: number | null;
  readonly computeUs: number | null;
  readonly encodeUs: number | null;
  /** Transport read start to answer handed to the transport (shadows: their queue + compute). */
  readonly totalUs: number;
}

// model.json `drift` and `retrain` as parsed (repository/mlops-config.ts fills the defaults): here
// so that the drift and retrain engines read them without importing the repository.

/** model.json `drift`. */
export interface DriftSettings {
  /** false: no drift tracking for this model (a reference.json alone turns it on). */
  readonly enabled: boolean;
  /** The count window: the last N rows. A trigger evaluation happens every N rows. */
  readonly windowRows: number;
  /** The time window: the rows of the last N seconds. */
  readonly windowSeconds: number;
  /** A window's overall score (drift/monitor.ts overallScore) at or over this counts as drifted. */
  readonly threshold: number;
  /** Hysteresis: the trigger fires after this many consecutive drifted windows... */
  readonly consecutiveWindows: number;
  /** ...and re-arms only after a window scores under this (default threshold / 2). */
  readonly rearmBelow: number;
  /**
   * At most this many requests a second are binned (a token bucket, one second deep); beyond it
   * drift is measured on an even sample of the traffic, so its cost stays bounded under any load.
   * 0: every request.
   */
  readonly maxSampledPerSecond: number;
}

export interface WebhookSettings {
  readonly url: string;
  readonly timeoutMs: number;
  /** Extra attempts after a failed one (network error, timeout, 5xx, 429). */
  readonly retries: number;
  /** Wait before retry k: backoffMs · 2^(k−1), at most 30 s. */
  readonly backoffMs: number;
}

export interface CommandSettings {
  /** Run without a shell; "node" as argv[0] means this node binary. */
  readonly argv: readonly string[];
  readonly timeoutMs: number;
}

/** model.json `retrain`. */
export interface RetrainSettings {
  /** Fire when drift stays over its threshold (`drift.consecutiveWindows` windows). */
  readonly onDrift: boolean;
  /** Fire when the primary's live accuracy over its last `accuracyWindowRows` labelled rows falls under this. */
  readonly accuracyFloor?: number;
  /** Labelled rows the accuracy floor needs before it can fire. */
  readonly minLabeledRows: number;
  /** Live accuracy is over the last N labelled rows of each version. */
  readonly accuracyWindowRows: number;
  /** Fire every N seconds regardless (0: no schedule). */
  readonly scheduleSeconds: number;
  /** After an event, none fires for this long (an admin call is refused with 409 meanwhile). */
  readonly cooldownSeconds: number;
  /** Share (0..100) of traffic the retrained version shadows (read by the retraining job). */
  readonly shadowPercent: number;
  /** The base training data, relative to the model directory (read by the retraining job). */
  readonly baseData?: string;
  readonly webhook?: WebhookSettings;
  readonly command?: CommandSettings;
}
