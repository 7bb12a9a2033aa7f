// A loaded model version, ready to serve: its compiled validator and response encoder, its
// batcher, and its session key in the device pool. Built once per version at load; nothing
// here is compiled per request (STYLE habit 8).
import { performance } from 'node:perf_hooks';
import { Batcher, type BatchMeta, type Clock } from '../batching/batcher.js';
import { createBinaryResponseEncoder, type BinaryResponseEncoder } from '../codec/binary-response.js';
import { createResponseEncoder, type ResponseEncoder } from '../codec/json-response.js';
import { createMsgpackResponseEncoder, type MsgpackResponseEncoder } from '../codec/msgpack-response.js';
import { createInlineRunner } from '../inference/inline.js';
import type { InferencePool } from '../inference/pool.js';
import type { SessionSpec, WireTensor } from '../inference/messages.js';
import type { ModelConfig } from '../repository/model-config.js';
import type { Tensor, TensorSpec, TensorData, DataType } from '../types.js';
import { compileRequestValidator, type DecodedInfer } from '../validation/request-validator.js';
import { buildRequestSchema, compileFeatureMapper, type FeatureMapper, type JsonSchema } from '../features/index.js';

export interface Servable {
  readonly model: string;
  readonly version: number;
  readonly sha256: string;
  readonly config: ModelConfig;
  /** Execution provider the sessions really use. */
  readonly provider: string;
  /** Why the configured device's provider could not be used, after a fallback. */
  readonly fallbackReason: string | undefined;
  readonly device: string;
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
   * the pool is idle (see inference/inline.ts). 0 or absent: always in the pool.
   */
  inlineMaxRunUs?: number;
  /** Called once per executed batch (metrics), with where it ran; must not throw. */
  onBatch?(model: string, version: number, meta: BatchMeta, where: 'inline' | 'worker'): void;
  /** Test-only: one request per batch (benchmark gate demonstration). */
  disableBatching?: boolean;
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
  const warmup = warmupInputs(config.inputs, config.batching.maxBatchSize);
  const loaded = await pool.load(spec, warmup);
  const inline = loaded.provider === 'cpu' ? await createInlineRunner(spec, warmup, deps.inlineMaxRunUs ?? 0) : undefined;
  const outputNames = config.outputs.map((o) => o.name);
  const batching = deps.disableBatching ? { ...config.batching, maxBatchSize: 1, preferredBatchSizes: [] } : config.batching;
  const batcher = new Batcher(batching, {
    clock: deps.clock,
    hasIdleWorker: () => pool.hasIdleWorker(),
    canQueueBatch: () => pool.canQueueBatch(),
    parallelism: pool.threads,
    inputOrder: config.inputs.map((i) => i.name),
    run: (inputs: Tensor[], meta: BatchMeta) => {
      if (inline && !inline.busy && meta.rows <= inline.maxRows && pool.isIdle() && !pool.hasPendingFault()) {
        deps.onBatch?.(config.name, version, meta, 'inline');
        return inline.run(inputs, outputNames);
      }
      deps.onBatch?.(config.name, version, meta, 'worker');
      const notAfterEpochMs = performance.timeOrigin + performance.now() + (meta.latestDeadlineUs - deps.clock.nowUs()) / 1000;
      return pool.run(spec, inputs, outputNames, notAfterEpochMs);
    },
  });
  const unsubscribe = pool.onIdle(() => batcher.notifyIdle());
  return {
    model: config.name,
    version,
    sha256,
    config,
    provider: loaded.provider,
    fallbackReason: loaded.fallbackReason,
    device: pool.device,
    validate: compileRequestValidator({
      name: config.name,
      inputs: [...config.inputs],
      outputs: [...config.outputs],
      maxBatchSize: config.batching.maxBatchSize,
    }),
    encodeJson: createResponseEncoder(config.name, version, [...config.outputs]),
    encodeMsgpack: createMsgpackResponseEncoder(config.name, version, [...config.outputs]),
    encodeBinary: createBinaryResponseEncoder(config.name, version, [...config.outputs]),
    batcher,
    inline: { maxRows: inline?.maxRows ?? 0, batch1Us: inline?.batch1Us ?? 0 },
    ...(config.features ? { features: { map: compileFeatureMapper(config), schema: buildRequestSchema(config) } } : {}),
    async dispose() {
      await batcher.drain();
      unsubscribe();
      await Promise.all([pool.unload(key), inline?.release()]);
    },
  };
}

const ARRAY: Record<DataType, new (n: number) => TensorData> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP32: Float32Array,
  FP64: Float64Array,
};

/** Zero-filled inputs at the largest batch, so the first real batch pays no allocation warm-up. */
function warmupInputs(specs: readonly TensorSpec[], rows: number): WireTensor[] {
  return specs.map((s) => {
    const shape = s.shape.map((d, i) => (i === 0 ? rows : d === -1 ? 1 : d));
    const n = shape.reduce((a, b) => a * b, 1);
    return { name: s.name, datatype: s.datatype, shape, data: new ARRAY[s.datatype](n) };
  });
}
