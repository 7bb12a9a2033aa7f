// A model version's effective configuration (DESIGN §4): model.json (model-file.ts) over the
// ONNX graph, merged and checked by resolve-config.ts.
import type { BatchingConfig, Device, FeatureSpec, TensorSpec } from '../types.js';
import { parseModelFile, type WarmupConfig } from './model-file.js';
import { resolveModelConfig } from './resolve-config.js';

export { DEFAULT_BATCHING, parseModelFile, type DeclaredTensor, type ModelFile, type WarmupConfig } from './model-file.js';
export { resolveModelConfig, type GraphSignature, type GraphTensor } from './resolve-config.js';

/** A named feature as model.json declares it (see types.ts). */
export type FeatureConfig = FeatureSpec;

/** A version's effective config: model.json over the graph, resolved and frozen. */
export interface ModelConfig {
  readonly name: string;
  readonly description: string;
  readonly platform: 'onnxruntime_onnx';
  /** Full shapes; batchDim is always set (a number, or null for none). */
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** maxBatchSize 0: the model does not batch and every shape is a full shape (Triton's meaning). */
  readonly batching: BatchingConfig;
  /** Deadline given to requests that carry none. */
  readonly defaultTimeoutMs: number;
  readonly device: Device;
  /** Serve the newest `latest` versions that load; older ones are unloaded. */
  readonly versionPolicy: { readonly latest: number };
  /** Readiness counts this model (see --ready-when); absent: the server's policy decides. */
  readonly required?: boolean;
  readonly warmup?: WarmupConfig;
  /** Named features, one per column of `featuresInput` in column order; absent: no /v1 predict. */
  readonly features?: readonly FeatureConfig[];
  /** The input the features fill (the model's only input); set exactly when `features` is. */
  readonly featuresInput?: string;
  /** classes[i] names class i: column i of `probabilities`, value i of `label`. */
  readonly classes?: readonly string[];
  /** Where the tensors came from. */
  readonly source: 'model.json' | 'graph' | 'model.json + graph';
}

/** The config of a model.json that declares every tensor in full (no graph consulted). */
export function parseModelConfig(raw: unknown, dirName: string, file = 'model.json'): ModelConfig {
  return resolveModelConfig(parseModelFile(raw, dirName, file), undefined, file);
}
