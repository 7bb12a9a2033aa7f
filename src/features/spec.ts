// What the features engine reads of a model's configuration, and the limits it shares with the
// Open Inference Protocol path.
//
// The shapes are structural: the repository's ModelConfig satisfies FeatureModel, so this engine
// needs no import from repository/ (DESIGN §2: engines never import each other). The repository
// cross-checks a model.json's features at load (src/repository/model-config.ts); the re-checks
// in featureTarget only protect what the mapper's fill loop relies on.

import { SluiceError } from '../errors.js';
import type { FeatureSpec, FeatureType, TensorSpec } from '../types.js';

export type { FeatureSpec, FeatureType };

export interface FeatureModel {
  readonly name: string;
  readonly description?: string;
  readonly inputs: readonly TensorSpec[];
  readonly batching: { readonly maxBatchSize: number };
  readonly features?: readonly FeatureSpec[];
  /** Name of the input the features fill; default: the only input. */
  readonly featuresInput?: string;
  /** classes[i] names class i: column i of `probabilities`, value i of `label`. */
  readonly classes?: readonly string[];
}

/** Same limit as the OIP path (validation/request-validator.ts; a test pins the two together). */
export const MAX_TIMEOUT_MS = 600_000;

/** The answer for a model that declares no features (404 on the schema and /v1 routes). */
export function featuresNotDeclared(model: string): SluiceError {
  return new SluiceError('SLUICE_ERR_FEATURES_NOT_DECLARED', `model ${JSON.stringify(model)} declares no named features`);
}

/**
 * The input the features fill and the features, in column order. Throws
 * SLUICE_ERR_FEATURES_NOT_DECLARED when the model has none, SLUICE_ERR_MODEL_CONFIG_INVALID when
 * the input is not the model's only input of shape [-1, features.length].
 */
export function featureTarget(model: FeatureModel): { input: TensorSpec; features: readonly FeatureSpec[] } {
  const features = model.features;
  if (features === undefined || features.length === 0) throw featuresNotDeclared(model.name);
  const input = model.featuresInput === undefined ? model.inputs[0] : model.inputs.find((t) => t.name === model.featuresInput);
  const ok =
    input !== undefined &&
    model.inputs.length === 1 &&
    input.datatype !== 'BOOL' &&
    input.shape.length === 2 &&
    input.shape[1] === features.length &&
    new Set(features.map((f) => f.name)).size === features.length;
  if (!ok) {
    throw new SluiceError('SLUICE_ERR_MODEL_CONFIG_INVALID', `model ${JSON.stringify(model.name)}: features do not fit its input`, {
      details: [`/features: need exactly one numeric input of shape [-1, ${features.length}] and unique feature names`],
    });
  }
  return { input, features };
}
