// Loads uWebSockets.js and refuses its silent pure-JS fallback (DESIGN §1): the package
// catches a failed native load and returns a slow emulation exposing only App,
// us_listen_socket_close and us_socket_local_port.
import { createRequire } from 'node:module';
import { SluiceError } from '../../errors.js';

export type Uws = typeof import('uWebSockets.js');

const require = createRequire(import.meta.url);

export function isNativeUws(mod: Record<string, unknown>): boolean {
  return typeof mod.SSLApp === 'function' && typeof mod.getParts === 'function';
}

/**
 * Returns the uWS module. Throws SLUICE_ERR_HTTP_NATIVE_MISSING on the fallback unless
 * `allowSlowHttp`; `onSlow` is told when the fallback is accepted.
 */
export function loadUws(allowSlowHttp: boolean, onSlow: (msg: string) => void): Uws {
  const mod = require('uWebSockets.js') as Uws;
  if (isNativeUws(mod as unknown as Record<string, unknown>)) return mod;
  const msg =
    'uWebSockets.js native binary did not load (this platform or glibc is not supported); ' +
    'only its slow pure-JS fallback is available';
  if (!allowSlowHttp) throw new SluiceError('SLUICE_ERR_HTTP_NATIVE_MISSING', `${msg}. Refusing to start; pass --allow-slow-http to run on it anyway.`);
  onSlow(`${msg}; running on it because --allow-slow-http was given`);
  return mod;
}
