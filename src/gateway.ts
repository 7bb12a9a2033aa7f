// Composition root: the only module that knows every layer. It builds the logger, metrics,
// device pools, repository, data plane and HTTP listener, wires them with injected
// functions, and owns the shutdown order.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import type { DestinationStream } from 'pino';
import { systemClock } from './batching/clock.js';
import type { SluiceConfig } from './config/config.js';
import { DataPlane } from './dataplane/dataplane.js';
import { createServable, type Servable } from './dataplane/servable.js';
import { InferencePool } from './inference/pool.js';
import { inspectModel } from './inference/inspect.js';
import { ORT_SEVERITY_LEVEL, type OrtLogLine } from './inference/ort-text.js';
import { createLogger, type Logger } from './logging/logger.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { resolveModelConfig } from './repository/model-config.js';
import { ModelRepository } from './repository/repository.js';
import { registerInferRoutes } from './transport/http/infer-routes.js';
import { createListener } from './transport/http/listener.js';
import { registerFallback, registerMetadataRoutes } from './transport/http/metadata-routes.js';
import { registerWebSocket } from './transport/ws/ws.js';
import { loadUws } from './transport/http/uws.js';
import type { Device } from './types.js';
import { BusyPoller } from './util/busy-poll.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
export const SLUICE_VERSION: string = pkg.version;

export interface Gateway {
  readonly port: number;
  readonly config: SluiceConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly dataplane: DataPlane;
  readonly repository: ModelRepository<Servable>;
  /** Pool per device; created when the first model asks for that device. */
  pool(device: Device): InferencePool;
  /**
   * Graceful stop: readiness turns false and new requests get 503, in-flight requests finish
   * (up to drainTimeoutMs), the listener closes, every version drains and unloads, pools close.
   */
  shutdown(): Promise<void>;
}

export interface GatewayOptions {
  /** Where the application log goes (tests read it back); stdout by default. */
  logDestination?: DestinationStream;
}

const nowUs = (): number => performance.now() * 1000;

/** How long reading one model's graph (in its own process) may take. */
const INSPECT_TIMEOUT_MS = 120_000;

/** ONNX Runtime's severities as pino levels. */
const ORT_TO_PINO = { verbose: 'debug', info: 'info', warning: 'warn', error: 'error', fatal: 'fatal' } as const;

/** How long no request may arrive before a draining server closes its listener. */
const SHUTDOWN_QUIET_MS = 200;

export async function startGateway(config: SluiceConfig, opts: GatewayOptions = {}): Promise<Gateway> {
  const logger = createLogger(config.logLevel, opts.logDestination);
  const metrics = createMetrics({ defaultMetrics: true });
  const uws = loadUws(config.allowSlowHttp, (msg) => logger.warn(msg));

  const pools = new Map<Device, InferencePool>();
  const pool = (device: Device): InferencePool => {
    let p = pools.get(device);
    if (!p) {
      p = new InferencePool(
        { device, threads: config.workers, intraOpThreads: config.intraOpThreads, allowSpinning: config.allowSpinning },
        {
          onWorkerExit: (err) => {
            metrics.workerRestarts.inc({ device });
            logger.error({ device, err: err.message }, 'worker died; its in-flight batch failed and it is being replaced');
          },
        },
      );
      pools.set(device, p);
    }
    return p;
  };
  const providerLogged = new Set<Device>();
  const logOrt = (model: string, version: number, line: OrtLogLine): void => {
    logger[ORT_TO_PINO[line.severity]]({ model, version, ort: { severity: line.severity, source: line.source } }, `onnxruntime: ${line.message}`);
  };

  const repository = new ModelRepository<Servable>(
    config.modelsDir,
    {
      log: logger,
      async load(file, version, modelPath, sha256) {
        // The graph is read in a child process: ONNX Runtime's load-time log comes back as lines
        // logged here as JSON, and a model that crashes the runtime takes only that process down.
        const graph = await inspectModel(modelPath, {
          logSeverityLevel: ORT_SEVERITY_LEVEL[config.ortLogLevel],
          timeoutMs: INSPECT_TIMEOUT_MS,
          onLog: (line) => logOrt(file.name, version, line),
        });
        const modelConfig = resolveModelConfig(file, graph, `models/${file.name}/model.json (version ${version})`);
        const p = pool(modelConfig.device);
        const servable = await createServable(modelConfig, version, modelPath, sha256, {
          pool: p,
          clock: systemClock,
          disableBatching: config.testDisableBatching,
          inlineMaxRunUs: config.inlineMaxRunUs,
          onBatch: (model, v, meta, where) => {
            metrics.batchRows.observe({ model, version: String(v) }, meta.rows);
            metrics.batches.inc({ model, version: String(v), where });
          },
          onBatchFailed: (model, v, meta, where, err) => {
            const line = { model, version: v, rows: meta.rows, requests: meta.requests, where, code: err.code, err: err.message };
            if (err.status < 500) logger.warn(line, 'batch refused by the model');
            else logger.error(line, 'batch failed');
          },
        });
        if (servable.inline.maxRows > 0) {
          logger.info(
            { model: modelConfig.name, version, maxRows: servable.inline.maxRows, batch1Us: Math.round(servable.inline.batch1Us) },
            'light model: batches up to maxRows run inline while the pool is idle',
          );
        }
        if (!providerLogged.has(p.device)) {
          providerLogged.add(p.device);
          metrics.executionProvider.set({ device: p.device, provider: servable.provider }, 1);
          if (p.device !== 'cpu' && servable.provider === 'cpu') {
            logger.warn(
              { device: p.device, reason: servable.fallbackReason },
              `CUDA execution provider unavailable for ${p.device}; falling back to CPU`,
            );
          }
        }
        return servable;
      },
      unload: (servable) => servable.dispose(),
      onState(model, version, state) {
        for (const s of ['UNKNOWN', 'LOADING', 'READY', 'UNLOADING', 'UNAVAILABLE']) {
          metrics.modelState.set({ model, version: String(version), state: s }, s === state ? 1 : 0);
        }
      },
    },
    { pollIntervalMs: config.pollIntervalMs, readyWhen: config.readyWhen },
  );
  await repository.checkRoot();

  const dataplane = new DataPlane({
    repository,
    nowUs,
    serverVersion: SLUICE_VERSION,
    onError: (err, where) => logger.error({ err, where }, 'observer failed'),
  });

  // Polls only while every pool is idle: a worker running a batch needs the cores more.
  const poller = new BusyPoller(config.busyPollUs, {
    nowUs,
    schedule: (fn) => setImmediate(fn),
    allowed: () => {
      for (const p of pools.values()) if (!p.isIdle()) return false;
      return true;
    },
  });
  const onInferDone = (model: string, version: string, code: string, seconds: number): void => {
    metrics.requests.inc({ model, version, code });
    metrics.requestSeconds.observe({ model }, seconds);
    // A served client may send its next request at once; a refused one was told to back off.
    if (code === 'OK') poller.kick();
  };
  const http = createListener(uws);
  registerMetadataRoutes(http.app, dataplane);
  registerInferRoutes(http.app, dataplane, {
    bodyLimitBytes: config.bodyLimitBytes,
    nowUs,
    onInferDone,
    onInternalError: (err) => logger.error({ err }, 'internal error answering a request'),
  });
  registerWebSocket(uws, http.app, dataplane, {
    maxPayloadBytes: config.wsMaxPayloadBytes,
    maxInflight: config.wsMaxInflight,
    maxBackpressureBytes: Math.min(config.wsMaxBufferedBytes, 1 << 20),
    maxPendingBytes: config.wsMaxBufferedBytes,
    idleTimeoutS: config.wsIdleTimeoutS,
    nowUs,
    onInferDone,
    onSlowReaderClosed: () => metrics.wsSlowReadersClosed.inc(),
  });
  registerFallback(http.app, [
    { pattern: '/v2', allow: 'GET' },
    { pattern: '/v2/health/live', allow: 'GET' },
    { pattern: '/v2/health/ready', allow: 'GET' },
    { pattern: '/v2/models/:model', allow: 'GET' },
    { pattern: '/v2/models/:model/ready', allow: 'GET' },
    { pattern: '/v2/models/:model/versions/:version', allow: 'GET' },
    { pattern: '/v2/models/:model/versions/:version/ready', allow: 'GET' },
    { pattern: '/v2/models/:model/infer', allow: 'POST' },
    { pattern: '/v2/models/:model/schema', allow: 'GET' },
    { pattern: '/v2/models/:model/config', allow: 'GET' },
    { pattern: '/v2/models/:model/versions/:version/config', allow: 'GET' },
    { pattern: '/v1/models/:target', allow: 'POST' },
    { pattern: '/v2/models/:model/versions/:version/infer', allow: 'POST' },
  ]);

  // Listen first so liveness answers while models load; readiness stays false until then.
  const port = await http.listen(config.host, config.port);
  logger.info({ host: config.host, port, models: config.modelsDir, workers: config.workers }, 'listening');
  await repository.start();
  logger.info(
    { models: repository.list().map((m) => ({ name: m.name, ready: [...m.versions.values()].filter((v) => v.state === 'READY').map((v) => v.version) })) },
    'repository loaded',
  );

  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ inflight: dataplane.inflightRequests }, 'shutting down: draining in-flight requests');
      const drained = await Promise.race([
        dataplane.drain().then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), config.drainTimeoutMs).unref()),
      ]);
      if (!drained) logger.warn({ inflight: dataplane.inflightRequests }, 'drain timeout; closing anyway');
      // Keep answering 503 (each closing its connection) until clients have gone quiet:
      // closing the listener earlier would reset connections still in the accept backlog.
      const quietUntil = Date.now() + config.drainTimeoutMs;
      while (dataplane.quietForUs() < SHUTDOWN_QUIET_MS * 1000 && Date.now() < quietUntil) {
        await new Promise((r) => setTimeout(r, 20));
      }
      poller.stop();
      http.close();
      await repository.close();
      await Promise.all([...pools.values()].map((p) => p.close()));
      logger.info('stopped');
    })();
    return stopping;
  };

  return { port, config, logger, metrics, dataplane, repository, pool, shutdown };
}
