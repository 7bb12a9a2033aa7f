// The client's `x-request-id` and `x-client-id` headers: honoured when plausible, ignored otherwise.
import { randomUUID } from 'node:crypto';
import type { HttpRequest } from 'uWebSockets.js';
import { MAX_REQUEST_ID_LENGTH } from '../../request-id.js';
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/** 1..256 printable ASCII characters (a subset of src/request-id.ts): what an id may be, read from a header or written to one. */
function plausible(id: string): boolean {
  return id.length > 0 && id.length <= MAX_REQUEST_ID_LENGTH && PRINTABLE_ASCII.test(id);
}

/** `name`'s value when it is plausible; undefined otherwise. */
function plausibleHeader(req: HttpRequest, name: string): string | undefined {
  const raw = req.getHeader(name);
  return plausible(raw) ? raw : undefined;
}

/**
 * The `x-request-id` header of `req` when plausible (absent, empty, too long or with other bytes:
 * undefined, and the caller generates an id). Read synchronously, inside the uWS callback.
 */
export function clientRequestId(req: HttpRequest): string | undefined {
  return plausibleHeader(req, 'x-request-id');
}

/** The `x-client-id` header (who is calling, for the prediction and access logs), under the same rule. */
export function clientIdentity(req: HttpRequest): string | undefined {
  return plausibleHeader(req, 'x-client-id');
}

/**
 * The `x-request-id` header of an answer for request id `id`, or none. A body's `id` is any
 * string of up to 256 characters; only one of printable ASCII is written to a header, because a
 * CR or LF there would end the header and let a client write its own (response splitting), and
 * other bytes make the answer unreadable to HTTP clients. The body always carries the id.
 */
export function requestIdHeader(id: string): [string, string][] {
  return plausible(id) ? [['x-request-id', id]] : [];
}

/**
 * The `x-request-id` header of an answer made before a request got an id of its own (refused on
 * its route or framing alone): the client's plausible header, else a fresh id. Read synchronously.
 */
export function earlyAnswerIdHeader(req: HttpRequest): [string, string][] {
  return [['x-request-id', clientRequestId(req) ?? randomUUID()]];
}
