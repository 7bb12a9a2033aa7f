// The retrain webhook action (docs/drift.md): POST one retrain event, as JSON, to the model's
// configured URL. The URL comes from model.json only and must also match a server-side allow-list
// (--retrain-webhook-allow), so a model repository cannot make the gateway post anywhere it likes.
//
// Contract:
// - Not on the allow-list: no request at all; outcome { ok: false, error: 'not_allowed' }.
// - Each attempt is signed afresh (receivers check the timestamp's freshness): headers
//   x-sluice-timestamp (unix seconds) and x-sluice-signature: sha256=<hex HMAC-SHA256 of
//   `${timestamp}.${body}`> when a secret is set; x-sluice-event-id carries the event's id so a
//   receiver can drop a retry it already handled.
// - Redirects are not followed (a Location header could point off the allow-list): a 3xx is a
//   failure, not retried. Network errors, timeouts, 5xx and 429 are retried up to `retries` times,
//   waiting backoffMs · 2^(k−1) (at most 30 s) before retry k; other statuses are final.
// - Never throws; never logs the secret, the signature or the URL's query string.
import { createHmac } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

/** The logger an action writes to: structurally a subset of pino's Logger, so tests can record. */
export interface ActionLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface WebhookConfig {
  readonly url: string;
  /** Name of the environment variable holding the HMAC key (the caller reads it into deps.secret). */
  readonly secretEnv?: string;
  /** Per attempt, headers and the (bounded) body read included. */
  readonly timeoutMs: number;
  /** Extra attempts after a retryable failure. */
  readonly retries: number;
  readonly backoffMs: number;
}

export interface WebhookOutcome {
  readonly ok: boolean;
  /** Requests made (0 when the URL is not allowed). */
  readonly attempts: number;
  /** The last response's status, when there was one. */
  readonly status?: number;
  readonly error?: string;
  readonly durationMs: number;
}

export interface WebhookDeps {
  /** URL prefixes (see webhookAllowed); empty allows nothing. */
  readonly allow: readonly string[];
  /** HMAC key; undefined or '' sends the body unsigned (logged as a warning). */
  readonly secret: string | undefined;
  readonly log: ActionLog;
  /** Waits between attempts; tests pass one that records the delays. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Epoch milliseconds (Date.now): the signature timestamp and durations. */
  readonly nowMs?: () => number;
}

export const MAX_BACKOFF_MS = 30_000;
/** Response bodies are read (so the connection can be reused) and dropped after this many bytes. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * True when `url` is http(s), carries no credentials, and some allow-list entry has the same
 * scheme, host and port (after URL normalisation: lower-case host, default port dropped, dot
 * segments resolved) and a path the URL's path starts with at a segment boundary
 * (`/hooks` allows `/hooks` and `/hooks/x`, not `/hooksx`). The URL's query is not compared.
 * Paths with an encoded dot, slash or backslash (%2e, %2f, %5c) are refused: a receiver that
 * decodes them could resolve a path outside the prefix. Entries that do not parse, are not
 * http(s), or carry credentials, a query or a fragment match nothing.
 */
export function webhookAllowed(url: string, allow: readonly string[]): boolean {
  const target = parseHttpUrl(url);
  if (target === undefined || /%(2e|2f|5c)/i.test(target.pathname)) return false;
  return allow.some((entry) => {
    const prefix = parseHttpUrl(entry.trim());
    if (prefix === undefined || prefix.search !== '' || prefix.hash !== '') return false;
    if (prefix.protocol !== target.protocol || prefix.host !== target.host) return false;
    const base = prefix.pathname;
    if (target.pathname === base) return true;
    return target.pathname.startsWith(base.endsWith('/') ? base : `${base}/`);
  });
}

/** Hex HMAC-SHA256 of `${timestampS}.${body}` (what x-sluice-signature carries after `sha256=`). */
export function signBody(secret: string, timestampS: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampS}.${body}`).digest('hex');
}

export async function sendWebhook(config: WebhookConfig, event: object, deps: WebhookDeps): Promise<WebhookOutcome> {
  const now = deps.nowMs ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => delay(ms).then(() => undefined));
  const startMs = now();
  const target = webhookAllowed(config.url, deps.allow) ? parseHttpUrl(config.url) : undefined;
  if (target === undefined) {
    const error = 'not_allowed';
    deps.log.error({ url: loggableUrl(config.url), error }, 'retrain webhook URL is not on --retrain-webhook-allow; nothing sent');
    return { ok: false, attempts: 0, error, durationMs: now() - startMs };
  }
  const url = loggableUrl(config.url);
  const body = JSON.stringify(event);
  const secret = deps.secret === '' ? undefined : deps.secret;
  if (secret === undefined) deps.log.warn({ url }, 'retrain webhook sent unsigned: no webhook secret is set');
  const eventId = headerSafeId((event as { id?: unknown }).id);

  let last: AttemptResult = { ok: false, retryable: false, error: 'no attempt' };
  let attempts = 0;
  for (let attempt = 1; attempt <= config.retries + 1; attempt++) {
    if (attempt > 1) await sleep(Math.min(config.backoffMs * 2 ** (attempt - 2), MAX_BACKOFF_MS));
    attempts = attempt;
    const timestampS = Math.floor(now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'sluice',
      'x-sluice-timestamp': String(timestampS),
    };
    if (secret !== undefined) headers['x-sluice-signature'] = `sha256=${signBody(secret, timestampS, body)}`;
    if (eventId !== undefined) headers['x-sluice-event-id'] = eventId;
    last = await attemptOnce(target.href, headers, body, config.timeoutMs);
    if (last.ok) break;
    deps.log.warn({ url, attempt, ...(last.status === undefined ? { error: last.error } : { status: last.status }) }, 'retrain webhook attempt failed');
    if (!last.retryable) break;
  }

  const durationMs = now() - startMs;
  const outcome: WebhookOutcome = {
    ok: last.ok,
    attempts,
    ...(last.status === undefined ? {} : { status: last.status }),
    ...(last.error === undefined ? {} : { error: last.error }),
    durationMs,
  };
  if (outcome.ok) deps.log.info({ url, attempts, status: outcome.status, durationMs }, 'retrain webhook delivered');
  else deps.log.error({ url, attempts, status: outcome.status, error: outcome.error, durationMs }, 'retrain webhook failed');
  return outcome;
}

interface AttemptResult {
  ok: boolean;
  retryable: boolean;
  status?: number;
  error?: string;
}

async function attemptOnce(href: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<AttemptResult> {
  let response: Response;
  try {
    response = await fetch(href, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    return { ok: false, retryable: true, error: fetchError(err, timeoutMs) };
  }
  // The status decides; a body that fails or stalls (bounded by the same timeout) changes nothing.
  await discardBody(response).catch(() => undefined);
  const status = response.status;
  // An opaque redirect (status 0) is what a spec-strict fetch gives for redirect: 'manual'.
  if (response.type === 'opaqueredirect' || (status >= 300 && status < 400)) {
    return { ok: false, retryable: false, status, error: 'redirect not followed' };
  }
  if (status >= 200 && status < 300) return { ok: true, retryable: false, status };
  return { ok: false, retryable: status >= 500 || status === 429, status, error: `HTTP ${status}` };
}

/** Reads at most MAX_RESPONSE_BYTES of the body, keeping none of it, then cancels the rest. */
async function discardBody(response: Response): Promise<void> {
  const stream = response.body;
  if (stream === null) return;
  const reader = stream.getReader();
  let bytes = 0;
  try {
    while (bytes <= MAX_RESPONSE_BYTES) {
      const { done, value } = await reader.read();
      if (done) return;
      bytes += value.byteLength;
    }
    await reader.cancel();
  } finally {
    reader.releaseLock();
  }
}

function fetchError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `timeout after ${timeoutMs} ms`;
  if (e?.name === 'AbortError') return 'aborted';
  const cause = e?.cause?.code ?? e?.cause?.message;
  return cause === undefined ? String(e?.message ?? err) : `${e.message ?? 'fetch failed'}: ${cause}`;
}

function parseHttpUrl(text: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  return url;
}

/** Scheme, host and path only: no credentials, query or fragment (they may hold tokens). */
function loggableUrl(text: string): string {
  try {
    const url = new URL(text);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** The event's id as a header value, when it is a short printable string or a number. */
function headerSafeId(id: unknown): string | undefined {
  const text = typeof id === 'string' ? id : typeof id === 'number' && Number.isFinite(id) ? String(id) : undefined;
  return text !== undefined && /^[\x21-\x7e]{1,256}$/.test(text) ? text : undefined;
}
