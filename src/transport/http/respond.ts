// Writing answers on a uWS response: status lines prepared once, every write corked, and
// nothing written to a response whose client went away.
import type { HttpResponse } from 'uWebSockets.js';
import { SluiceError } from '../../errors.js';

const REASONS: Record<number, string> = {
  200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 413: 'Payload Too Large',
  415: 'Unsupported Media Type', 429: 'Too Many Requests', 499: 'Client Closed Request', 500: 'Internal Server Error',
  501: 'Not Implemented', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};
const STATUS_LINES = new Map<number, string>(Object.entries(REASONS).map(([k, v]) => [Number(k), `${k} ${v}`]));

/** Refusals after which the rest of the stream cannot be trusted to be framed as sent: the connection closes. */
const CLOSING_CODES = new Set(['SLUICE_ERR_BODY_TOO_LARGE', 'SLUICE_ERR_HTTP_FRAMING_INVALID', 'SLUICE_ERR_HTTP_TRANSFER_CODING']);

export function statusLine(status: number): string {
  return STATUS_LINES.get(status) ?? `${status} Status`;
}

export interface Answer {
  status: number;
  body: string | Uint8Array;
  /** Default application/json. */
  contentType?: string;
  headers?: [string, string][];
  /** Close the connection after answering (e.g. an unread oversized body). Not honoured with omitBody. */
  close?: boolean;
  /**
   * HEAD: status and headers as the body would have them (content-length included), no body.
   * Trap: this uWS build's endWithoutBody() aborts the process when given any argument (its
   * reportedContentLength or closeConnection), so the length is written as a header and the
   * response ends with no arguments; the connection therefore stays open.
   */
  omitBody?: boolean;
}

/** Writes `answer` unless aborted. Safe to call after an await: it corks itself. */
export function send(res: HttpResponse, state: { aborted: boolean }, answer: Answer): void {
  if (state.aborted) return;
  state.aborted = true; // a response is written once
  res.cork(() => {
    res.writeStatus(statusLine(answer.status)).writeHeader('content-type', answer.contentType ?? 'application/json');
    if (answer.headers) for (const [k, v] of answer.headers) res.writeHeader(k, v);
    if (answer.omitBody === true) {
      const length = typeof answer.body === 'string' ? Buffer.byteLength(answer.body) : answer.body.byteLength;
      res.writeHeader('content-length', String(length)).endWithoutBody();
    } else {
      res.end(answer.body, answer.close === true);
    }
  });
}

export function errorAnswer(err: SluiceError, extraHeaders: [string, string][] = []): Answer {
  const headers = [...extraHeaders];
  if (err.retryAfterS !== undefined) headers.push(['retry-after', String(Math.max(1, Math.ceil(err.retryAfterS)))]);
  return { status: err.status, body: JSON.stringify(err.toWire()), headers, close: CLOSING_CODES.has(err.code) };
}
