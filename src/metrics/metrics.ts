// Every metric sluice exports, declared in this one module on one registry (DESIGN §2).
// Engines never import prom-client; they receive the handles they need from the composition root.
import { Registry, Counter, Histogram, Gauge, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  /** Answered inference requests by model, version and outcome code ("OK" or SLUICE_ERR_*). */
  readonly requests: Counter<'model' | 'version' | 'code'>;
  /** End-to-end request latency inside the gateway (body read to answer written). */
  readonly requestSeconds: Histogram<'model'>;
  /** Rows per executed batch. */
  readonly batchRows: Histogram<'model' | 'version'>;
  readonly batches: Counter<'model' | 'version' | 'where'>;
  /** Requests waiting in a version's batcher queue. */
  readonly queueDepth: Gauge<'model' | 'version'>;
  /** Worker threads that died and were replaced. */
  readonly workerRestarts: Counter<'device'>;
  /** 1 for the state a version is in (UNKNOWN..UNAVAILABLE), 0 otherwise. */
  readonly modelState: Gauge<'model' | 'version' | 'state'>;
  /** 1 per (device, provider) actually used by a pool: "cpu" after a CUDA fallback. */
  readonly executionProvider: Gauge<'device' | 'provider'>;
  /** WebSocket connections closed because their reader let answers pile up. */
  readonly wsSlowReadersClosed: Counter<string>;
  /**
   * Shadow copies by (model, primary version, shadow version) and outcome: mirrored, compared,
   * errored (answers that could not be compared), dropped_queue_full|deadline|shutting_down|error.
   */
  readonly shadowCopies: Counter<'model' | 'primary' | 'shadow' | 'outcome'>;
}

const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'sluice_process_' });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({ name: 'sluice_requests_total', help: 'Inference requests answered', labelNames: ['model', 'version', 'code'], registers }),
    requestSeconds: new Histogram({ name: 'sluice_request_seconds', help: 'Inference request latency in the gateway', labelNames: ['model'], buckets: LATENCY_BUCKETS, registers }),
    batchRows: new Histogram({ name: 'sluice_batch_rows', help: 'Rows per executed batch', labelNames: ['model', 'version'], buckets: BATCH_BUCKETS, registers }),
    batches: new Counter({ name: 'sluice_batches_total', help: 'Executed batches by where they ran: a pool worker, or inline on the main thread', labelNames: ['model', 'version', 'where'], registers }),
    queueDepth: new Gauge({ name: 'sluice_queue_depth', help: 'Requests queued in a version batcher', labelNames: ['model', 'version'], registers }),
    shadowCopies: new Counter({ name: 'sluice_shadow_copies_total', help: 'Shadow copies of requests by outcome', labelNames: ['model', 'primary', 'shadow', 'outcome'], registers }),
    workerRestarts: new Counter({ name: 'sluice_worker_restarts_total', help: 'Worker threads that died and were replaced', labelNames: ['device'], registers }),
    modelState: new Gauge({ name: 'sluice_model_state', help: '1 for the current state of a model version', labelNames: ['model', 'version', 'state'], registers }),
    wsSlowReadersClosed: new Counter({ name: 'sluice_ws_slow_readers_closed_total', help: 'WebSocket connections closed for not reading their answers', registers }),
    executionProvider: new Gauge({ name: 'sluice_execution_provider', help: 'Execution provider active per device pool', labelNames: ['device', 'provider'], registers }),
  };
}
