// Which admin API the CLI talks to, and with which token: --url/--token over SLUICE_ADMIN_URL/
// SLUICE_ADMIN_TOKEN over the default. The only CLI module that reads the environment (the
// entry hands it `env`); the server reads the same SLUICE_ADMIN_TOKEN through config.ts.
import { usageError } from './failure.js';

/** Where the admin listener is when nothing says otherwise (loopback: admin is not public). */
export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:8001';

export interface AdminTarget {
  /** Base URL without a trailing slash: paths are appended to it. */
  readonly url: string;
  /** Bearer token; undefined when neither --token nor SLUICE_ADMIN_TOKEN gave one. */
  readonly token: string | undefined;
}

/** Throws a usage error (exit 2) for a URL that is not http(s). */
export function resolveAdminTarget(
  flags: { readonly url?: string | undefined; readonly token?: string | undefined },
  env: NodeJS.ProcessEnv,
): AdminTarget {
  const raw = flags.url ?? (env.SLUICE_ADMIN_URL || undefined) ?? DEFAULT_ADMIN_URL;
  const source = flags.url !== undefined ? '--url' : env.SLUICE_ADMIN_URL ? 'SLUICE_ADMIN_URL' : 'the default URL';
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw usageError(`${source} is not a URL: "${raw}"`, ['write it like http://127.0.0.1:8001']);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw usageError(`${source} must be an http or https URL, got "${raw}"`);
  }
  const token = flags.token ?? (env.SLUICE_ADMIN_TOKEN || undefined);
  return Object.freeze({ url: raw.replace(/\/+$/, ''), token });
}
