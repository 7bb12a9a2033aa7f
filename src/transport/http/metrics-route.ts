// GET /metrics: the Prometheus text exposition of sluice's registry (docs/metrics.md). The admin
// listener serves it (behind the token unless --metrics-public); with --metrics-on-data-port the
// data port serves it too, without a token. Registered through bodyHandler (onAborted first, the
// answer corked after the await): the registry's collect callbacks make metrics() async, which
// the synchronous jsonGet cannot hold.
import { SluiceError } from '../../errors.js';
import { bodyHandler } from './body-route.js';
import { errorAnswer } from './respond.js';
import type { RouteTable } from './routes.js';

/** What /metrics reads: prom-client's Registry is one. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export const METRICS_PATH = '/metrics';

/** A GET has no body; a client that sends one anyway is refused past this. */
const METRICS_BODY_LIMIT_BYTES = 1024;

export interface MetricsRouteOptions {
  /**
   * The Authorization header check; absent: no token needed. A refusal answers 401
   * SLUICE_ERR_ADMIN_UNAUTHORIZED with `www-authenticate: Bearer`.
   */
  authorized?(authorization: string): boolean;
  onInternalError?(err: unknown): void;
}

export function registerMetricsRoute(routes: RouteTable, source: MetricsSource, opts: MetricsRouteOptions = {}): void {
  const { authorized } = opts;
  routes.add(
    'GET',
    METRICS_PATH,
    bodyHandler<{ authorized: boolean }>({
      bodyLimitBytes: METRICS_BODY_LIMIT_BYTES,
      read: (_req, _conn, headers) => ({ authorized: authorized === undefined || authorized(headers.authorization) }),
      start(ctx) {
        if (!ctx.authorized) throw new SluiceError('SLUICE_ERR_ADMIN_UNAUTHORIZED', '/metrics needs `Authorization: Bearer <token>` with the configured SLUICE_ADMIN_TOKEN (or --metrics-public)');
      },
      handle: async () => ({ status: 200, body: await source.metrics(), contentType: source.contentType }),
      fail: (_ctx, err) => errorAnswer(err, err.code === 'SLUICE_ERR_ADMIN_UNAUTHORIZED' ? [['www-authenticate', 'Bearer']] : []),
      onInternalError: opts.onInternalError,
    }),
  );
}
