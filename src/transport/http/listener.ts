// One uWS app, its route table, and its listen socket. HTTP routes are registered through
// `routes`, WebSocket routes on `app`; `listen` hands back the open listener, which the
// gateway keeps in its list and closes on shutdown.
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { SluiceError } from '../../errors.js';
import { RouteTable } from './routes.js';
import type { Uws } from './uws.js';

/**
 * uSockets' LIBUS_LISTEN_EXCLUSIVE_PORT: bind without SO_REUSEPORT, so a port already in use
 * fails instead of being silently shared (uWS's default sets SO_REUSEPORT: a second server on
 * the port would take part of the first one's traffic). The typings declare it as an ambient
 * enum that does not exist at run time, and list no (host, port, options, cb) overload although
 * the native 20.30 build and its pure-JS fallback both take one (tested in http-routes.test.ts).
 */
const LIBUS_LISTEN_EXCLUSIVE_PORT = 1;
const LIBUS_LISTEN_DEFAULT = 0;

type ListenWithOptions = (host: string, port: number, options: number, cb: (socket: us_listen_socket | false) => void) => unknown;

export interface ListenOptions {
  /** Share the port with other processes already listening on it (SO_REUSEPORT). */
  reusePort: boolean;
}

/** A bound listen socket. */
export interface OpenListener {
  /** Which listener, for logs ('http', later 'admin'). */
  readonly name: string;
  readonly host: string;
  /** The bound port (the chosen one when asked for port 0). */
  readonly port: number;
  /** Stops accepting connections; open connections finish what they are doing. Idempotent. */
  close(): void;
}

export interface Listener {
  readonly name: string;
  readonly app: TemplatedApp;
  readonly routes: RouteTable;
  /**
   * Binds host:port. Rejects with SLUICE_ERR_CONFIG_INVALID when it cannot: without
   * `reusePort`, a port in use is refused (the message names --reuse-port).
   */
  listen(host: string, port: number, opts: ListenOptions): Promise<OpenListener>;
}

export function createListener(uws: Uws, name: string): Listener {
  const app = uws.App();
  return {
    name,
    app,
    routes: new RouteTable(app),
    listen(host, port, opts) {
      return new Promise((resolve, reject) => {
        const options = opts.reusePort ? LIBUS_LISTEN_DEFAULT : LIBUS_LISTEN_EXCLUSIVE_PORT;
        (app.listen as unknown as ListenWithOptions).call(app, host, port, options, (socket) => {
          if (!socket) {
            const why = opts.reusePort
              ? 'the address cannot be bound, or the port is held by a process that does not share it'
              : 'the port is in use (or the address cannot be bound); pass --reuse-port to share it with the process listening there';
            reject(new SluiceError('SLUICE_ERR_CONFIG_INVALID', `${name} listener cannot listen on ${host}:${port}: ${why}`));
            return;
          }
          let token: us_listen_socket | undefined = socket;
          resolve({
            name,
            host,
            port: uws.us_socket_local_port(socket),
            close() {
              if (token) uws.us_listen_socket_close(token);
              token = undefined;
            },
          });
        });
      });
    },
  };
}
