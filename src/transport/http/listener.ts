// One uWS app and its listen socket; HTTP and WebSocket routes are registered on `app`.
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { SluiceError } from '../../errors.js';
import type { Uws } from './uws.js';

export interface Listener {
  readonly app: TemplatedApp;
  /** Resolves with the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting connections; open connections finish what they are doing. */
  close(): void;
}

export function createListener(uws: Uws): Listener {
  const app = uws.App();
  let token: us_listen_socket | undefined;
  return {
    app,
    listen(host, port) {
      return new Promise((resolve, reject) => {
        app.listen(host, port, (listenSocket) => {
          if (!listenSocket) {
            reject(new SluiceError('SLUICE_ERR_CONFIG_INVALID', `cannot listen on ${host}:${port}`));
            return;
          }
          token = listenSocket;
          resolve(uws.us_socket_local_port(listenSocket));
        });
      });
    },
    close() {
      if (token) uws.us_listen_socket_close(token);
      token = undefined;
    },
  };
}
