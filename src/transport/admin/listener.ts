// The admin listener (DESIGN §5): its own uWS app on its own address (loopback by default), on
// when a token is configured. With --metrics-public and no token it opens too, serving only GET
// /metrics (every other path 404): a scrape target needs no admin API. The gateway adds the open
// listener to its list and closes it with the others on shutdown.
import { SluiceError } from '../../errors.js';
import { createListener, type OpenListener } from '../http/listener.js';
import type { Uws } from '../http/uws.js';
import { bearerCheck } from './auth.js';
import { registerAdminRoutes, type AdminRouteDeps } from './routes.js';
import { registerMetricsRoute } from '../http/metrics-route.js';

export interface AdminListenerSettings {
  readonly adminHost: string;
  readonly adminPort: number;
  /** Unset: no admin API (and no admin listener unless metricsPublic). */
  readonly adminToken: string | undefined;
  /** GET /metrics without the token; without a token the listener serves only /metrics. */
  readonly metricsPublic: boolean;
}

export interface AdminListenerLog {
  info(obj: object, msg: string): void;
}

/**
 * Opens the admin listener, or resolves undefined (one info line) when no token is configured
 * and /metrics is not public.
 * The port is always bound exclusively, whatever --reuse-port says: replicas sharing an admin
 * port would answer a load or unload on whichever process the kernel picked. Rejects with
 * SLUICE_ERR_CONFIG_INVALID when the address cannot be bound.
 */
export async function openAdminListener(
  uws: Uws,
  settings: AdminListenerSettings,
  deps: Omit<AdminRouteDeps, 'authorized' | 'metricsPublic'>,
  log: AdminListenerLog,
): Promise<OpenListener | undefined> {
  const token = settings.adminToken;
  if (token === undefined && !settings.metricsPublic) {
    log.info({}, 'admin API off: SLUICE_ADMIN_TOKEN is not set');
    return undefined;
  }
  const admin = createListener(uws, 'admin');
  if (token === undefined) {
    log.info({}, 'admin API off: SLUICE_ADMIN_TOKEN is not set; the admin listener serves only GET /metrics (--metrics-public)');
    registerMetricsRoute(admin.routes, deps.metrics, { onInternalError: deps.onInternalError });
  } else {
    registerAdminRoutes(admin.routes, { ...deps, metricsPublic: settings.metricsPublic, authorized: bearerCheck(token) });
  }
  admin.routes.registerFallback();
  const { adminHost: host, adminPort: port } = settings;
  const open = await admin.listen(host, port, { reusePort: false }).catch((err: unknown) => {
    throw new SluiceError('SLUICE_ERR_CONFIG_INVALID', `admin listener cannot listen on ${host}:${port}: the port is in use or the address cannot be bound (--admin-host, --admin-port)`, { cause: err });
  });
  log.info({ host, port: open.port }, token === undefined ? 'admin listener (GET /metrics only) listening' : 'admin API listening');
  return open;
}
