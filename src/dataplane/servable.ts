// A loaded model version, ready to serve: its compiled validator and response encoder, its
// batcher, and the executor that runs its batches (inference/executor.ts decides where each one
// runs). Built once per version at load; nothing here is compiled per request (STYLE habit 8).
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Batcher, type BatchLayout, type BatchMeta, type Clock } from '../batching/batcher.js';
import { mergeInputs, splitOutputs } from '../batching/merge.js';
import { createBinaryResponseEncoder, type BinaryResponseEncoder } from '../codec/binary-response.js';
import { createResponseEncoder, type ResponseEncoder } from '../codec/json-response.js';
import { createMsgpackResponseEncoder, type MsgpackResponseEncoder } from '../codec/msgpack-response.js';
import { createExecutor, VersionExecutor, type BatchWhere, type InlineOffer } from '../inference/executor.js';
import type { InferencePool } from '../inference/pool.js';
import type { SessionSpec } from '../inference/messages.js';
import type { ModelConfig } from '../repository/model-config.js';
import type { Tensor } from '../types.js';
import { compileRequestValidator, type DecodedInfer, type ModelSignature } from '../validation/request-validator.js';
import { buildRequestSchema, compileFeatureMapper, type FeatureMapper, type JsonSchema } from '../features/index.js';
import { SluiceError } from '../errors.js';
import { explainCudaFallback, type CudaFallback } from '../gpu/report.js';
import { hasFixedShape, warmupAdvice, warmupCandidates } from './warmup.js';

export interface Servable {
  readonly model: string;
  readonly version: number;
  readonly sha256: string;
  readonly config: ModelConfig;
  /** Execution provider the sessions really use. */
  readonly provider: string;
  /** Why the configured device's provider could not be used, after a fallback: the missing piece named. */
  readonly fallback: CudaFallback | undefined;
  readonly device: string;
  /** What requests are validated against (also what the raw binary form reads). */
  readonly signature: ModelSignature;
  readonly validate: (body: Record<string, unknown>) => DecodedInfer;
  readonly encodeJson: ResponseEncoder;
  readonly encodeMsgpack: MsgpackResponseEncoder;
  readonly encodeBinary: BinaryResponseEncoder;
  readonly batcher: Batcher;
  /** Largest batch that may run inline on the main thread (0: none), and its batch-1 µs. */
  readonly inline: { readonly maxRows: number; readonly batch1Us: number };
  /** Named-feature request mapper and its published JSON Schema; absent without `features`. */
  readonly features?: { readonly map: FeatureMapper; readonly schema: JsonSchema };
  /** Drains queued and running requests, then releases the sessions in every worker. */
  dispose(): Promise<void>;
}

export interface ServableDeps {
  pool: InferencePool;
  clock: Clock;
  /**
   * Light models: batches whose measured run fits this many µs run on the main thread while
   * the pool is idle (see inference/executor.ts). 0 or absent: always in the pool.
   */
  inlineMaxRunUs?: number;
  /** Called once per executed batch (metrics), at dispatch, with where it runs; must not throw. */
  onBatch?(model: string, version: number, meta: BatchMeta, where: BatchWhere): void;
  /**
   * The device's low-priority pool (reniced workers) for shadow copies; created on first use.
   * Absent: shadow copies share `pool`, going only while it has no primary work.
   */
  lowPriorityPool?: () => InferencePool;
  /** Called once per failed batch (the log), with where it ran and the error its requests get; must not throw. */
  onBatchFailed?(model: string, version: number, meta: BatchMeta, where: BatchWhere, err: SluiceError): void;
}

/** Loads `modelPath` into every worker of the pool, warms it up, and builds the servable. */
export async function createServable(
  config: ModelConfig,
  version: number,
  modelPath: string,
  sha256: string,
  deps: ServableDeps,
): Promise<Servable> {
  const { pool } = deps;
  const key = `${config.name}@${version}#${sha256.slice(0, 16)}`;
  const spec: SessionSpec = pool.sessionSpec(key, modelPath);
  const signature: ModelSignature = {
    name: config.name,
    inputs: [...config.inputs],
    outputs: [...config.outputs],
    maxBatchSize: config.batching.maxBatchSize,
  };
  const validate = compileRequestValidator(signature);
  const layout: BatchLayout = {
    inputs: config.inputs.map((t) => ({ name: t.name, batchDim: t.batchDim ?? null })),
    outputs: config.outputs.map((t) => ({ name: t.name, batchDim: t.batchDim ?? null })),
  };
  const candidates = await warmupCandidates(config, path.dirname(path.dirname(modelPath)), validate);
  const loaded = await pool.load(spec, candidates).catch((err: unknown) => {
    if (err instanceof SluiceError && err.code === 'SLUICE_ERR_MODEL_WARMUP_FAILED') {
      throw new SluiceError(err.code, `${err.message} (${warmupAdvice(config)})`, { cause: err });
    }
    throw err;
  });
  const proven = candidates[loaded.warmupIndex];
  // Offered for inline runs only where the timing bounds every batch: CPU, and no free dim besides
  // the batch dims. The timing inputs are built here: they need the batch layout's merge and split.
  const inline: InlineOffer | undefined =
    loaded.provider === 'cpu' && proven !== undefined && hasFixedShape(config)
      ? { inputsAt: rowsOf(proven, layout), largestRows: Math.max(1, config.batching.maxBatchSize), maxRunUs: deps.inlineMaxRunUs ?? 0 }
      : undefined;
  const outputNames = config.outputs.map((o) => o.name);
  const executor = await createExecutor({ pool, spec, outputNames, inline });
  // Shadow copies run on the low-priority pool, whose workers load the session on their first
  // batch, and start only while the primary pool runs nothing: a shadow batch that started
  // first would share the cores with the primary batch arriving after it (measured in the
  // shadow benchmark: primary p99 at half load 3.5x without this rule, 1.35x with it).
  let low: { executor: VersionExecutor; unsubscribe: () => void } | undefined;
  const lowExecutor = (): VersionExecutor | undefined => {
    if (low === undefined && deps.lowPriorityPool !== undefined) {
      const p = deps.lowPriorityPool();
      const e = new VersionExecutor(p, p.sessionSpec(key, modelPath), outputNames, undefined);
      low = { executor: e, unsubscribe: e.onIdle(() => batcher.notifyIdle()) };
    }
    return low?.executor;
  };
  // A model that does not batch (maxBatchSize 0) runs each request alone: batches of one.
  const batching = { ...config.batching, maxBatchSize: Math.max(1, config.batching.maxBatchSize) };
  const batcher = new Batcher(batching, {
    clock: deps.clock,
    hasIdleWorker: () => executor.hasIdleWorker(),
    canQueueBatch: () => executor.canQueueBatch(),
    parallelism: executor.parallelism,
    ...(deps.lowPriorityPool === undefined ? {} : { hasIdleLowPriorityWorker: () => pool.isIdle() && lowExecutor()!.hasIdleWorker() }),
    layout,
    run: (inputs: Tensor[], meta: BatchMeta) => {
      // The latest deadline on the batcher's clock, as the worker's epoch time.
      const notAfterEpochMs = performance.timeOrigin + performance.now() + (meta.latestDeadlineUs - deps.clock.nowUs()) / 1000;
      const on = meta.lane === 1 ? (lowExecutor() ?? executor) : executor;
      const { where, outputs } = on.run(inputs, meta.rows, notAfterEpochMs, meta.lane === 0);
      deps.onBatch?.(config.name, version, meta, where);
      return outputs.then(
        // The admission estimate describes the workers: an inline batch's time says nothing of them.
        (out) => ({ outputs: out, calibrates: where === 'worker' }),
        (err: unknown) => {
          if (err instanceof SluiceError) deps.onBatchFailed?.(config.name, version, meta, where, err);
          throw err;
        },
      );
    },
  });
  const unsubscribe = executor.onIdle((primaryOnly) => batcher.notifyIdle(primaryOnly));
  return {
    model: config.name,
    version,
    sha256,
    config,
    provider: loaded.provider,
    fallback: loaded.fallbackReason === undefined ? undefined : explainCudaFallback(loaded.fallbackReason),
    device: pool.device,
    signature,
    validate,
    encodeJson: createResponseEncoder(config.name, version, [...config.outputs]),
    encodeMsgpack: createMsgpackResponseEncoder(config.name, version, [...config.outputs]),
    encodeBinary: createBinaryResponseEncoder(config.name, version, [...config.outputs]),
    batcher,
    inline: executor.inline,
    ...(config.features ? { features: { map: compileFeatureMapper(config), schema: buildRequestSchema(config) } } : {}),
    async dispose() {
      // Shadow copies never hold up a drain: they are dropped, primary work finishes.
      batcher.dropLowPriority(new SluiceError('SLUICE_ERR_SHUTTING_DOWN', `model "${config.name}" version ${version} is unloading`));
      await batcher.drain();
      unsubscribe();
      low?.unsubscribe();
      await Promise.all([executor.release(), low?.executor.release()]);
    },
  };
}

/**
 * Builds inputs of `rows` rows from a warmup candidate that ran (in layout order): its first
 * row, repeated along every batch dim (merge and split are the batcher's own, so the layout is
 * honoured); unbatched inputs stay as they are.
 */
function rowsOf(proven: Tensor[], layout: BatchLayout): (rows: number) => Tensor[] {
  const one = proven.map((t, i) => {
    const l = layout.inputs[i]!;
    const have = l.batchDim === null ? 1 : t.shape[l.batchDim]!;
    return have === 1 ? t : splitOutputs([t], [1, have - 1], [l])[0]![0]!;
  });
  return (rows) => mergeInputs(Array.from({ length: rows }, () => one), layout.inputs);
}
