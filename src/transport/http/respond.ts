// Writing answers on a uWS response: status lines prepared once, every write corked, and
// nothing written to a response whose client went away.
import type { HttpResponse } from 'uWebSockets.js';
import { SluiceError } from '../../errors.js';

const REASONS: Record<number, string> = {
  200: 'OK', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 413: 'Payload Too Large',
  415: 'Unsupported Media Type', 429: 'Too Many Requests', 499: 'Client Closed Request', 500: 'Internal Server Error',
  503: 'Service Unavailable', 504: 'Gateway Timeout',
};
const STATUS_LINES = new Map<number, string>(Object.entries(REASONS).map(([k, v]) => [Number(k), `${k} ${v}`]));

export function statusLine(status: number): string {
  return STATUS_LINES.get(status) ?? `${status} Status`;
}

export interface Answer {
  status: number;
  body: string | Uint8Array;
  /** Default application/json. */
  contentType?: string;
  headers?: [string, string][];
  /** Close the connection after answering (e.g. an unread oversized body). */
  close?: boolean;
}

/** Writes `answer` unless aborted. Safe to call after an await: it corks itself. */
export function send(res: HttpResponse, state: { aborted: boolean }, answer: Answer): void {
  if (state.aborted) return;
  state.aborted = true; // a response is written once
  res.cork(() => {
    res.writeStatus(statusLine(answer.status)).writeHeader('content-type', answer.contentType ?? 'application/json');
    if (answer.headers) for (const [k, v] of answer.headers) res.writeHeader(k, v);
    res.end(answer.body, answer.close === true);
  });
}

export function errorAnswer(err: SluiceError, extraHeaders: [string, string][] = []): Answer {
  const headers = [...extraHeaders];
  if (err.retryAfterS !== undefined) headers.push(['retry-after', String(Math.max(1, Math.ceil(err.retryAfterS)))]);
  return { status: err.status, body: JSON.stringify(err.toWire()), headers, close: err.code === 'SLUICE_ERR_BODY_TOO_LARGE' };
}
