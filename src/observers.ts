// The data plane's observers, wired in one place (DESIGN §8): metrics from every event (and
// queue depths and shadow agreement read at scrape time), the access log, the prediction log.
// Part of the composition root: the only other module that knows these layers.
import type { SluiceConfig } from './config/config.js';
import type { DataPlane } from './dataplane/dataplane.js';
import type { Servable } from './dataplane/servable.js';
import { AccessLog } from './logging/access-log.js';
import type { Logger } from './logging/logger.js';
import type { Metrics } from './metrics/metrics.js';
import { observePredictions } from './metrics/observe.js';
import { PredictionLog } from './predlog/predlog.js';
import type { ModelRepository } from './repository/repository.js';
import type { RoutingBook } from './routing/book.js';
import type { ShadowBoard } from './shadow/board.js';

export interface ObserverDeps {
  readonly config: SluiceConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly dataplane: DataPlane;
  readonly repository: ModelRepository<Servable>;
  readonly routing: RoutingBook;
  readonly shadowBoard: ShadowBoard;
  /** Tests only: the prediction log's writer-thread entry (GatewayOptions.predictionLogWorkerFile). */
  readonly predictionLogWorkerFile?: URL;
}

export interface Observers {
  /** After the last answer: lets the last events arrive, then flushes and closes the logs. */
  close(): Promise<void>;
}

export function startObservers(deps: ObserverDeps): Observers {
  const { config, logger, metrics, dataplane, repository, routing, shadowBoard } = deps;
  dataplane.addObserver(observePredictions(metrics), { tensors: false });
  metrics.setQueueDepthSource(() =>
    repository.list().flatMap((m) =>
      [...m.versions.values()].flatMap((v) => (v.state === 'READY' && v.handle ? [{ model: m.name, version: String(v.version), depth: v.handle.batcher.queuedRequests }] : [])),
    ),
  );
  // Only models routing to shadows that already have a comparison: a scrape must not start one
  // (its report's `since` would become the scrape's time).
  metrics.setShadowAgreementSource(() =>
    repository.list().flatMap((m) =>
      routing.table(m.name).shadows.length === 0 || !shadowBoard.has(m.name)
        ? []
        : shadowBoard.report(m.name).pairs.flatMap((p) => (p.agreement === null ? [] : [{ model: m.name, primary: p.primary, shadow: p.shadow, agreement: p.agreement }])),
    ),
  );
  const accessLog = AccessLog.open(config.accessLog, { appLog: logger });
  if (accessLog) dataplane.addObserver(accessLog.observe, { tensors: false });
  const predictionLog = PredictionLog.open({
    settings: config,
    enabledFor: (model) => repository.get(model)?.file.predictionLog?.enabled !== false,
    meters: {
      formed: (kind, lines) => metrics.predictionLogLines.inc({ kind }, lines),
      dropped: (reason, lines) => metrics.predictionLogDropped.inc({ reason }, lines),
      written: (_lines, bytes) => metrics.predictionLogBytes.inc(bytes),
      buffered: (bytes) => metrics.predictionLogBufferedBytes.set(bytes),
    },
    appLog: logger,
    nowMs: Date.now,
    ...(deps.predictionLogWorkerFile ? { workerFile: deps.predictionLogWorkerFile } : {}),
  });
  if (predictionLog) dataplane.addObserver(predictionLog.observe);
  return {
    async close() {
      // Events reach observers a tick after their answer.
      await new Promise((r) => setImmediate(r));
      await predictionLog?.close();
      await accessLog?.close();
    },
  };
}
