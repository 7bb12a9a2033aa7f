// Every HTTP route of the data port, registered in one place: the gateway calls this, and
// test/http-routes.test.ts calls it too, so the route test covers exactly what is served.
// (The WebSocket route is registered by transport/ws; the fallback by RouteTable, last.)
import type { DataPlane } from '../../dataplane/dataplane.js';
import { registerFeedbackRoutes } from './feedback-routes.js';
import { registerInferRoutes, type InferRouteOptions } from './infer-routes.js';
import { registerMetadataRoutes } from './metadata-routes.js';
import { registerMetricsRoute, type MetricsSource } from './metrics-route.js';
import { registerRepositoryRoutes } from './repository-routes.js';
import type { RouteTable } from './routes.js';

export interface DataRouteOptions extends InferRouteOptions {
  /** Set (--metrics-on-data-port): GET /metrics is served here too, without a token; else it is a 404. */
  metrics?: MetricsSource;
}

export function registerDataRoutes(routes: RouteTable, dataplane: DataPlane, opts: DataRouteOptions): void {
  registerMetadataRoutes(routes, dataplane);
  registerInferRoutes(routes, dataplane, opts);
  registerRepositoryRoutes(routes, dataplane);
  registerFeedbackRoutes(routes, dataplane);
  if (opts.metrics !== undefined) registerMetricsRoute(routes, opts.metrics, { onInternalError: opts.onInternalError });
}
