// A model version's effective configuration (DESIGN §4): model.json (model-file.ts) over the
// ONNX graph, merged and checked by resolve-config.ts.
import { parseModelFile } from './model-file.js';
import { resolveModelConfig, type ModelConfig } from './resolve-config.js';

export { DEFAULT_BATCHING, parseModelFile, type DeclaredTensor, type ModelFile, type ModelSettings, type WarmupConfig } from './model-file.js';
export { resolveModelConfig, type FeatureConfig, type GraphSignature, type GraphTensor, type ModelConfig } from './resolve-config.js';

/** The config of a model.json that declares every tensor in full (no graph consulted). */
export function parseModelConfig(raw: unknown, dirName: string, file = 'model.json'): ModelConfig {
  return resolveModelConfig(parseModelFile(raw, dirName, file), undefined, file);
}
