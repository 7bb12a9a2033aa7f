// Composition root: the only module that knows every layer. It builds the logger, metrics,
// device pools, repository, data plane and HTTP listener, wires them with injected
// functions, and owns the shutdown order.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import type { DestinationStream } from 'pino';
import { systemClock } from './batching/clock.js';
import type { SluiceConfig } from './config/config.js';
import { AdminApi } from './dataplane/admin.js';
import { DataPlane } from './dataplane/dataplane.js';
import { ModelEvents } from './dataplane/model-events.js';
import { createServable, type Servable } from './dataplane/servable.js';
import { InferencePool } from './inference/pool.js';
import { inspectModel } from './inference/inspect.js';
import { ORT_SEVERITY_LEVEL, type OrtLogLine } from './inference/ort-text.js';
import { createLogger, type Logger } from './logging/logger.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { batchObserver } from './metrics/observe.js';
import { startLoop } from './loop.js';
import { startObservers } from './observers.js';
import { resolveModelConfig } from './repository/model-config.js';
import { ModelRepository } from './repository/repository.js';
import { RoutingBook } from './routing/book.js';
import { ShadowBoard } from './shadow/board.js';
import { createComparer } from './shadow/compare.js';
import { LabelBook } from './labels/label-book.js';
import { cachedEventPolicy } from './predlog/policy.js';
import { openAdminListener } from './transport/admin/listener.js';
import { registerDataRoutes } from './transport/http/data-routes.js';
import { createListener, type OpenListener } from './transport/http/listener.js';
import { registerWebSocket } from './transport/ws/ws.js';
import { loadUws } from './transport/http/uws.js';
import { selectNativeCore } from './native/core.js';
import type { Device } from './types.js';
import { BusyPoller } from './util/busy-poll.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
export const SLUICE_VERSION: string = pkg.version;

export interface Gateway {
  readonly port: number;
  /** The admin listener's bound port; undefined when it is off (no SLUICE_ADMIN_TOKEN, no --metrics-public). */
  readonly adminPort: number | undefined;
  /** Shadow comparisons per model (what GET /admin/models/{m}/shadow reports). */
  readonly shadows: ShadowBoard;
  /** What changed what serves, per model (admin calls; the promotion gate records through it too). */
  readonly events: ModelEvents;
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
  /**
   * Worker entry of every pool (PoolOptions.workerFile). Tests pass a fault-injecting wrapper of
   * the real one (test/fixtures/fault-worker.mjs); main.ts never sets it.
   */
  workerFile?: URL;
  /**
   * The prediction log's writer-thread entry (PredictionLogDeps.workerFile). Tests pass one that
   * dies mid-run (test/fixtures/dying-log-worker.mjs); main.ts never sets it.
   */
  predictionLogWorkerFile?: URL;
}

const nowUs = (): number => performance.now() * 1000;

/** Nice value of the low-priority (shadow) pool's workers: the lowest priority there is. */
const LOW_PRIORITY_NICENESS = 19;

/** Answers (primary and shadow) kept to join late feedback labels: at most this many requests per model, this long. */
const LABELS_MAX = 100_000;
const LABELS_MAX_AGE_MS = 3_600_000;

/** How long reading one model's graph (in its own process) may take. */
const INSPECT_TIMEOUT_MS = 120_000;

/** ONNX Runtime's severities as pino levels. */
const ORT_TO_PINO = { verbose: 'debug', info: 'info', warning: 'warn', error: 'error', fatal: 'fatal' } as const;

/** How long no request may arrive before a draining server closes its listener. */
const SHUTDOWN_QUIET_MS = 200;

export async function startGateway(config: SluiceConfig, opts: GatewayOptions = {}): Promise<Gateway> {
  const logger = createLogger(config.logLevel, { format: config.logFormat, destination: opts.logDestination });
  for (const warning of config.warnings) logger.warn({}, warning);
  const metrics = createMetrics({ defaultMetrics: true });
  const observeBatches = batchObserver(metrics);
  const uws = loadUws(config.allowSlowHttp, (msg) => logger.warn(msg));
  const native = selectNativeCore(config.disableNative);
  if (native.impl === 'addon') logger.info({ native: 'addon' }, 'native core: addon loaded');
  else logger.warn({ native: 'fallback', reason: native.reason }, 'native core: TypeScript fallback');

  // Per device: the pool, and the low-priority pool for shadow copies (reniced workers, created
  // when the first shadow copy of the device runs).
  const pools = new Map<string, InferencePool>();
  const poolOf = (device: Device, lowPriority: boolean): InferencePool => {
    const key = lowPriority ? `${device}/low` : device;
    let p = pools.get(key);
    if (!p) {
      p = new InferencePool(
        {
          device,
          threads: device === 'cpu' ? config.workers : config.gpuWorkers,
          heapMb: config.workerHeapMb,
          intraOpThreads: config.intraOpThreads,
          allowSpinning: config.allowSpinning,
          workerFile: opts.workerFile,
          ...(lowPriority ? { niceness: LOW_PRIORITY_NICENESS, idleClass: true } : {}),
        },
        {
          onWorkerExit: (err) => {
            metrics.workerRestarts.inc({ device });
            logger.error({ device, lowPriority, err: err.message }, 'worker died; its in-flight batch failed and it is being replaced');
          },
        },
      );
      pools.set(key, p);
    }
    return p;
  };
  const pool = (device: Device): InferencePool => poolOf(device, false);
  const providerLogged = new Set<Device>();
  const logOrt = (model: string, version: number, line: OrtLogLine): void => {
    logger[ORT_TO_PINO[line.severity]]({ model, version, ort: { severity: line.severity, source: line.source } }, `onnxruntime: ${line.message}`);
  };

  // Shadow comparisons (shadow/): counts restart whenever a model's routing changes.
  // What changed what serves, per model: the admin API and the promotion gate record here.
  const events = new ModelEvents(logger);
  // Every answer's predicted classes, kept for late labels: read by live accuracy and the board.
  const labels = new LabelBook({ maxEntries: LABELS_MAX, maxAgeMs: LABELS_MAX_AGE_MS, classes: (model) => repository.get(model)?.file.classes });
  const shadowBoard = new ShadowBoard({
    nowMs: Date.now,
    labelStats: (model) => labels.stats(model),
    specFor: (model) => {
      const file = repository.get(model)?.file;
      return {
        ...(file?.shadowTopK === undefined ? {} : { compare: { topK: file.shadowTopK } }),
        ...(file?.promotionGate === undefined ? {} : { gate: file.promotionGate }),
      };
    },
    onCount: (model, primary, shadow, outcome) => metrics.shadowCopyTally.inc({ model, primary, shadow, outcome }),
    onGatePassed: (d) => {
      const { compared, agreement, labeled, accuracy } = d.numbers;
      const numbers: Record<string, number> = { compared, labeled };
      if (agreement !== null) numbers.agreement = agreement;
      if (accuracy.primary !== null) numbers.primary_accuracy = accuracy.primary;
      if (accuracy.shadow !== null) numbers.shadow_accuracy = accuracy.shadow;
      adminApi.promoteByGate(d.model, Number(d.shadow), d.reason, numbers).catch((err: unknown) => {
        events.record(d.model, { kind: 'gate', by: 'gate', reason: `gate passed for version ${d.shadow} but the promotion was refused: ${(err as Error).message}`, numbers });
      });
    },
  });
  const routing = new RoutingBook(config.modelsDir, logger, Date.now, (model) => shadowBoard.reset(model));
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
          lowPriorityPool: () => poolOf(p.device, true),
          clock: systemClock,
          inlineMaxRunUs: config.inlineMaxRunUs,
          onBatch: (model, v, meta, where) => observeBatches({ model, version: v, rows: meta.rows, where, maxBatchSize: modelConfig.batching.maxBatchSize }),
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
            const missing = servable.fallback?.missing;
            logger.warn(
              { device: p.device, ...(missing === undefined ? {} : { missing }), reason: servable.fallback?.reason },
              `CUDA execution provider unavailable for ${p.device}${missing === undefined ? '' : ` (missing ${missing})`}; falling back to CPU (sluice gpu doctor says more)`,
            );
          }
        }
        return servable;
      },
      unload: (servable) => servable.dispose(),
      onModelScanned: (model) => routing.refresh(model),
      keep: (model) => routing.versionsNamed(model),
      onModelRemoved: (model) => routing.forget(model),
      onState(model, version, state) {
        for (const s of ['UNKNOWN', 'LOADING', 'READY', 'UNLOADING', 'UNAVAILABLE']) {
          metrics.modelState.set({ model, version: String(version), state: s }, s === state ? 1 : 0);
        }
      },
    },
    { pollIntervalMs: config.pollIntervalMs, readyWhen: config.readyWhen },
  );
  await repository.checkRoot();

  // The admin use cases: behind the admin listener, and the promotion gate's way to promote.
  // Drift, live accuracy, feedback labels and the retrain trigger (loop.ts).
  const loop = startLoop({ config, logger, metrics, repository, routing, shadowBoard, labels });
  const adminApi = new AdminApi({
    repository,
    routing,
    events,
    nowMs: () => performance.now(),
    shadowReport: (model) => shadowBoard.report(model),
    retrain: { now: (model) => loop.retrainNow(model), events: () => loop.retrainEvents(), alerts: (body) => loop.alerts(body) },
  });
  const eventPolicy = cachedEventPolicy(config);
  // Class decisions need no model's compare spec (top-k does not change the argmax).
  const labelComparer = createComparer({});
  const dataplane = new DataPlane({
    repository,
    // Only a served answer's event can be binned: refusals must not spend the drift sampling budget.
    eventPolicy: (model, served) => eventPolicy(repository.get(model)?.file, served && loop.tracks(model)),
    predictedLabels: (outputs) => labelComparer.predictedLabels(outputs),
    routing: (model) => routing.table(model),
    shadows: shadowBoard,
    feedback: loop.feedback,
    driftReport: (model) => loop.driftReport(model),
    nowUs,
    serverVersion: SLUICE_VERSION,
    onError: (err, where) => logger.error({ err, where }, 'observer failed'),
  });
  // Metrics, the access log and the prediction log, all observers of the data plane.
  const observers = startObservers({ config, logger, metrics, dataplane, repository, routing, shadowBoard, predictionLogWorkerFile: opts.predictionLogWorkerFile });
  dataplane.addObserver(loop.observe, { tensors: 'tracked' });

  // Polls only while every pool is idle: a worker running a batch needs the cores more.
  const poller = new BusyPoller(config.busyPollUs, {
    nowUs,
    schedule: (fn) => setImmediate(fn),
    allowed: () => {
      for (const p of pools.values()) if (!p.isIdle()) return false;
      return true;
    },
  });
  // Requests are counted and timed by the metrics observer (metrics/observe.ts), from their events.
  const onInferDone = (code: string): void => {
    // A served client may send its next request at once; a refused one was told to back off.
    if (code === 'OK') poller.kick();
  };
  const http = createListener(uws, 'http');
  registerDataRoutes(http.routes, dataplane, {
    bodyLimitBytes: config.bodyLimitBytes,
    debugHeaders: config.debugHeaders,
    nowUs,
    onInferDone,
    onInternalError: (err) => logger.error({ err }, 'internal error answering a request'),
    metrics: config.metricsOnDataPort ? metrics.registry : undefined,
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
  http.routes.registerFallback();

  // Listen first so liveness answers while models load; readiness stays false until then.
  // Every open listener, closed in one loop on shutdown.
  const listeners: OpenListener[] = [await http.listen(config.host, config.port, { reusePort: config.reusePort })];
  const port = listeners[0]!.port;
  // `npm start` and the `sluice` bin run node with --single-threaded-gc (docs/shadow.md): say
  // which collector this event loop has, since the flag can only come from node's command line.
  const gc = process.execArgv.includes('--single-threaded-gc') ? 'single-threaded' : 'parallel';
  logger.info({ host: config.host, port, models: config.modelsDir, workers: config.workers, gc }, 'listening');
  const admin = await openAdminListener(uws, config, {
    api: adminApi,
    metrics: metrics.registry,
    onInternalError: (err) => logger.error({ err }, 'internal error answering an admin request'),
  }, logger).catch((err: unknown) => {
    for (const l of listeners) l.close();
    throw err;
  });
  if (admin) listeners.push(admin);
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
      for (const l of listeners) l.close();
      await repository.close();
      await Promise.all([...pools.values()].map((p) => p.close()));
      await observers.close();
      await loop.close();
      logger.info('stopped');
    })();
    return stopping;
  };

  return { port, adminPort: admin?.port, shadows: shadowBoard, events, config, logger, metrics, dataplane, repository, pool, shutdown };
}
