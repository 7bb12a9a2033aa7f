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
