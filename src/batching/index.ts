// Public surface of the batching engine. The composition root imports from here.

export {
  Batcher,
  type BatchLayout,
  type BatchMeta,
  type BatchOutcome,
  type BatcherDeps,
  type PendingRequest,
  type RunBatch,
  type TensorLayout,
} from './batcher.js';
export { freezeBatchingConfig } from './api.js';
export { systemClock, type Clock } from './clock.js';
export { takeBatch, type FormOptions, type Formed, type Queued } from './form.js';
export { mergeInputs, shapeKey, splitOutputs, UNBATCHED_KEY_MAX_BYTES } from './merge.js';
