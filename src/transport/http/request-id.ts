// The client's `x-request-id` and `x-client-id` headers: honoured when plausible, ignored otherwise.
import type { HttpRequest } from 'uWebSockets.js';

/** Longest accepted header value, as the body's `id` (docs/protocol.md). */
export const MAX_REQUEST_ID_CHARS = 256;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/**
 * The `x-request-id` header of `req` when it holds 1..256 printable ASCII characters; undefined
 * otherwise (absent, empty, too long or with other bytes), and the caller generates an id. Read
 * synchronously, inside the uWS callback.
 */
export function clientRequestId(req: HttpRequest): string | undefined {
  const raw = req.getHeader('x-request-id');
  if (raw.length === 0 || raw.length > MAX_REQUEST_ID_CHARS || !PRINTABLE_ASCII.test(raw)) return undefined;
  return raw;
}

/** The `x-client-id` header (who is calling, for the prediction log) under the same rule as x-request-id. */
export function clientIdentity(req: HttpRequest): string | undefined {
  const raw = req.getHeader('x-client-id');
  if (raw.length === 0 || raw.length > MAX_REQUEST_ID_CHARS || !PRINTABLE_ASCII.test(raw)) return undefined;
  return raw;
}
