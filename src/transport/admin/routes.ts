// Every route of the admin listener (docs/admin.md), each registered through the listener's
// RouteTable (so its 404/405 fallback knows them) and answered through bodyHandler: onAborted
// first, the Authorization header and path parameters copied synchronously, the token checked
// before any byte of the body is read, the answer corked. GET routes go through it too: uWS
// reports a GET's empty body at once, and /metrics has to await the registry.
//
// Contracts:
// - Every admin route needs the bearer token (GET /metrics too, unless `metricsPublic`); a
//   missing or wrong one answers 401
//   SLUICE_ERR_ADMIN_UNAUTHORIZED with `www-authenticate: Bearer`, before the body is read and
//   before any name is looked up (an unauthenticated client learns nothing about models).
// - Path parameters are percent-decoded and handed to the use cases as strings; they validate
//   them (dataplane/admin.ts): nothing here touches the filesystem.
import type { HttpRequest } from 'uWebSockets.js';
import type { AdminApi } from '../../dataplane/admin.js';
import { SluiceError } from '../../errors.js';
import { bodyHandler } from '../http/body-route.js';
import { mediaType } from '../http/headers.js';
import { ok } from '../http/json-get.js';
import { registerMetricsRoute, type MetricsSource } from '../http/metrics-route.js';
import { decodeParam } from '../http/params.js';
import { errorAnswer, type Answer } from '../http/respond.js';
import type { HttpMethod, RouteTable } from '../http/routes.js';

/** A routing PUT or promote body: a table of at most 8 shadows is well under 1 KiB. */
export const ADMIN_BODY_LIMIT_BYTES = 64 * 1024;
/** An Alertmanager webhook: a group of alerts with their labels and annotations. */
const ALERTS_BODY_LIMIT_BYTES = 4 * 1024 * 1024;
/** Routes that take no body (or `{}`), GETs included. */
const NO_BODY_LIMIT_BYTES = 1024;

export interface AdminRouteDeps {
  api: AdminApi;
  metrics: MetricsSource;
  /** GET /metrics answers without the token (--metrics-public); every other route still needs it. */
  metricsPublic?: boolean;
  /** The Authorization header check (auth.ts bearerCheck). */
  authorized(authorization: string): boolean;
  onInternalError?(err: unknown): void;
}

interface AdminCtx {
  readonly authorized: boolean;
  readonly contentType: string;
  /** Percent-decoded path parameters, in pattern order. */
  readonly params: readonly string[];
}

type Handle = (params: readonly string[], body: Buffer) => Answer | Promise<Answer>;

export function registerAdminRoutes(routes: RouteTable, deps: AdminRouteDeps): void {
  const { api } = deps;
  const add = (method: HttpMethod, pattern: string, bodyLimitBytes: number, handle: Handle): void => {
    const paramCount = pattern.split('/').filter((s) => s.startsWith(':')).length;
    routes.add(
      method,
      pattern,
      bodyHandler<AdminCtx>({
        bodyLimitBytes,
        read: (req: HttpRequest, _conn, headers) => ({
          authorized: deps.authorized(headers.authorization),
          contentType: mediaType(headers.contentType),
          params: Array.from({ length: paramCount }, (_, i) => decodeParam(req.getParameter(i))),
        }),
        start(ctx) {
          if (!ctx.authorized) throw new SluiceError('SLUICE_ERR_ADMIN_UNAUTHORIZED', 'the admin API needs `Authorization: Bearer <token>` with the configured SLUICE_ADMIN_TOKEN');
          if (ctx.contentType !== '' && ctx.contentType !== 'application/json') {
            throw new SluiceError('SLUICE_ERR_BODY_CONTENT_TYPE', `Content-Type "${ctx.contentType.slice(0, 64)}" is not supported; the admin API takes application/json`);
          }
        },
        handle: (ctx, body) => handle(ctx.params, body),
        fail: (_ctx, err) => errorAnswer(err, err.code === 'SLUICE_ERR_ADMIN_UNAUTHORIZED' ? [['www-authenticate', 'Bearer']] : []),
        onInternalError: deps.onInternalError,
      }),
    );
  };
  const model = '/admin/models/:model';
  const version = `${model}/versions/:version`;

  add('GET', '/admin/models', NO_BODY_LIMIT_BYTES, () => ok(api.listModels()));
  add('GET', `${model}/routing`, NO_BODY_LIMIT_BYTES, ([m]) => ok(api.getRouting(m!)));
  add('PUT', `${model}/routing`, ADMIN_BODY_LIMIT_BYTES, async ([m], body) => ok(await api.putRouting(m!, body)));
  add('POST', `${model}/promote`, ADMIN_BODY_LIMIT_BYTES, async ([m], body) => ok(await api.promote(m!, body)));
  add('POST', `${model}/rollback`, NO_BODY_LIMIT_BYTES, async ([m], body) => ok(await api.rollback(m!, body)));
  add('POST', `${version}/load`, NO_BODY_LIMIT_BYTES, async ([m, v], body) => ok(await api.load(m!, v!, body)));
  add('POST', `${version}/unload`, NO_BODY_LIMIT_BYTES, async ([m, v], body) => ok(await api.unload(m!, v!, body)));
  add('GET', `${model}/shadow`, NO_BODY_LIMIT_BYTES, ([m]) => ok(api.shadow(m!)));
  add('GET', `${model}/events`, NO_BODY_LIMIT_BYTES, ([m]) => ok(api.events(m!)));
  add('POST', `${model}/retrain`, NO_BODY_LIMIT_BYTES, ([m], body) => ok(api.retrain(m!, body)));
  add('GET', '/admin/retrain/events', NO_BODY_LIMIT_BYTES, () => ok(api.retrainEvents()));
  add('POST', '/admin/alerts', ALERTS_BODY_LIMIT_BYTES, (_p, body) => ok(api.alerts(body)));
  registerMetricsRoute(routes, deps.metrics, { authorized: deps.metricsPublic === true ? undefined : deps.authorized, onInternalError: deps.onInternalError });
}
