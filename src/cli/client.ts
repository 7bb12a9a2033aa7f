// The admin API over HTTP (global fetch), as the CLI needs it: one request, its JSON answer, and
// every way it can fail mapped to one CliFailure (the foreign error kept as `cause`).
import { CliFailure } from './failure.js';
import type { AdminTarget } from './target.js';

/**
 * How long one admin request may take. Generous: a load answers once the version loaded (a
 * large graph takes seconds), and the CLI is interactive, so a stuck server still ends it.
 */
export const ADMIN_REQUEST_TIMEOUT_MS = 120_000;

export interface AdminAnswer {
  /** The body as received, for --json. */
  readonly text: string;
  /** The body parsed. */
  readonly json: unknown;
}

export type FetchFn = typeof fetch;

export class AdminClient {
  constructor(
    private readonly target: AdminTarget,
    private readonly fetchFn: FetchFn = fetch,
  ) {}

  get url(): string {
    return this.target.url;
  }

  get(path: string): Promise<AdminAnswer> {
    return this.request('GET', path);
  }

  put(path: string, body: unknown): Promise<AdminAnswer> {
    return this.request('PUT', path, body);
  }

  post(path: string, body?: unknown): Promise<AdminAnswer> {
    return this.request('POST', path, body);
  }

  /** Resolves with a 2xx JSON answer; anything else throws a CliFailure (exit 1). */
  async request(method: string, path: string, body?: unknown): Promise<AdminAnswer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.target.token !== undefined) headers.authorization = `Bearer ${this.target.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    let text: string;
    try {
      res = await this.fetchFn(`${this.target.url}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(ADMIN_REQUEST_TIMEOUT_MS),
      });
      text = await res.text();
    } catch (err) {
      throw this.unreachable(err);
    }
    const json = parseJson(text);
    if (res.ok) {
      if (json === undefined) throw new CliFailure(`HTTP_${res.status}`, `${method} ${path} answered something that is not JSON`, [firstLine(text)]);
      return { text, json };
    }
    if (isWireError(json)) {
      const details = (json.details ?? []).map(String);
      if (json.code === 'SLUICE_ERR_ADMIN_UNAUTHORIZED' && this.target.token === undefined) {
        details.push('no token was given: pass --token or set SLUICE_ADMIN_TOKEN');
      }
      throw new CliFailure(json.code, json.error, details);
    }
    throw new CliFailure(`HTTP_${res.status}`, `${method} ${path}: ${res.statusText || `status ${res.status}`}`, text ? [firstLine(text)] : []);
  }

  private unreachable(err: unknown): CliFailure {
    if ((err as { name?: unknown }).name === 'TimeoutError') {
      return new CliFailure('ETIMEDOUT', `the admin API at ${this.target.url} did not answer within ${ADMIN_REQUEST_TIMEOUT_MS / 1000} s`, [], 1, { cause: err });
    }
    // undici's "fetch failed" TypeError carries the socket error as its cause.
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    const code = typeof cause?.code === 'string' ? cause.code : 'EFETCH';
    const why = typeof cause?.message === 'string' ? cause.message : String((err as Error)?.message ?? err);
    const details = [why];
    if (code === 'ECONNREFUSED') {
      details.push('is sluice running with SLUICE_ADMIN_TOKEN set? The admin listener starts only when the server has a token');
    }
    return new CliFailure(code, `cannot reach the admin API at ${this.target.url}`, details, 1, { cause: err });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isWireError(v: unknown): v is { error: string; code: string; details?: unknown[] } {
  const o = v as { error?: unknown; code?: unknown; details?: unknown } | null;
  return typeof o === 'object' && o !== null && typeof o.error === 'string' && typeof o.code === 'string' && (o.details === undefined || Array.isArray(o.details));
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
