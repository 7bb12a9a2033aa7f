// Named features (issue 3): a model's model.json `features` become a JSON Schema clients can
// validate against (GET /v2/models/{m}/schema) and the /v1 predict mapper from instances to the
// input tensor. Pure: no transport, no repository import. See docs/features.md.
export { buildRequestSchema, requestSchemaId, DRAFT_07, type JsonSchema } from './schema.js';
export { compileFeatureMapper, type FeatureMapper, type FeatureRequest } from './predict.js';
export { encodePredictions, type Prediction, type PredictionValue, type PredictAnswer, type PredictOptions } from './answer.js';
export {
  featuresNotDeclared,
  MAX_TIMEOUT_MS,
  type FeatureModel,
  type FeatureSpec,
  type FeatureType,
} from './spec.js';
