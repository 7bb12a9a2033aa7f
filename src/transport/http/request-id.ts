// The client's `x-request-id` and `x-client-id` headers: honoured when plausible, ignored otherwise.
import { randomUUID } from 'node:crypto';
import { MAX_REQUEST_ID_LENGTH } from '../../request-id.js';
import type { RequestHeaders } from './headers.js';
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/** 1..256 printable ASCII characters (a subset of src/request-id.ts): what an id may be, read from a header or written to one. */
function plausible(id: string): boolean {
  return id.length > 0 && id.length <= MAX_REQUEST_ID_LENGTH && PRINTABLE_ASCII.test(id);
}

/** A header's value when it is plausible; undefined otherwise. */
function plausibleValue(raw: string): string | undefined {
  return plausible(raw) ? raw : undefined;
}

/**
 * The client's `x-request-id` when plausible (absent, empty, too long or with other bytes:
 * undefined, and the caller generates an id).
 */
export function clientRequestId(headers: Pick<RequestHeaders, 'requestId'>): string | undefined {
  return plausibleValue(headers.requestId);
}

/** The `x-client-id` header (who is calling, for the prediction and access logs), under the same rule. */
export function clientIdentity(headers: Pick<RequestHeaders, 'clientId'>): string | undefined {
  return plausibleValue(headers.clientId);
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
 * its route or framing alone): the client's plausible header, else a fresh id.
 */
export function earlyAnswerIdHeader(headers: Pick<RequestHeaders, 'requestId'>): [string, string][] {
  return [['x-request-id', clientRequestId(headers) ?? randomUUID()]];
}
