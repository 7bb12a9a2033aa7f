// A model version's effective configuration (DESIGN §4): model.json (model-file.ts) over the
// ONNX graph, merged and checked by resolve-config.ts.
import type { BatchingConfig, FeatureSpec, TensorSpec } from '../types.js';
import { parseModelFile, type ModelSettings } from './model-file.js';
import { resolveModelConfig } from './resolve-config.js';

export { DEFAULT_BATCHING, parseModelFile, type DeclaredTensor, type ModelFile, type ModelSettings, type WarmupConfig } from './model-file.js';
export { resolveModelConfig, type GraphSignature, type GraphTensor } from './resolve-config.js';

/** A named feature as model.json declares it (see types.ts). */
export type FeatureConfig = FeatureSpec;

/** A version's effective config: model.json over the graph, resolved and frozen. */
export interface ModelConfig extends ModelSettings {
  readonly platform: 'onnxruntime_onnx';
  /** Full shapes; batchDim is always set (a number, or null for none). */
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** maxBatchSize 0: the model does not batch and every shape is a full shape (Triton's meaning). */
  readonly batching: BatchingConfig;
  /** Named features, one per column of `featuresInput` in column order; absent: no /v1 predict. */
  readonly features?: readonly FeatureConfig[];
  /** Where the tensors came from. */
  readonly source: 'model.json' | 'graph' | 'model.json + graph';
}

/** The config of a model.json that declares every tensor in full (no graph consulted). */
export function parseModelConfig(raw: unknown, dirName: string, file = 'model.json'): ModelConfig {
  return resolveModelConfig(parseModelFile(raw, dirName, file), undefined, file);
}
