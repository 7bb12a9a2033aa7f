// The one way a POST that carries a body is answered (STYLE habit 4), so no route re-implements
// it: onAborted is set first; `req` is read synchronously (the route's `read`, and Content-Length
// here); the body arrives under a byte cap with its chunks copied (body.ts); the answer is
// written corked, and only while the client is still connected (respond.ts `send`).
//
// Order for each request: read → start (may refuse before any byte of the body is read) →
// body → handle → one answer (handle's, or the error's through `fail`) → answered.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { SluiceError, toSluiceError } from '../../errors.js';
import { readBody } from './body.js';
import { readHeaders, type RequestHeaders } from './headers.js';
import { earlyAnswerIdHeader } from './request-id.js';
import { errorAnswer, send, type Answer } from './respond.js';
import type { UwsHandler } from './routes.js';

/** A request's connection: `aborted` turns true when the client goes away or once answered. */
export interface Connection {
  aborted: boolean;
}

export interface BodyRoute<Ctx> {
  /** Largest body accepted; a longer one is answered 413 SLUICE_ERR_BODY_TOO_LARGE. */
  bodyLimitBytes: number;
  /**
   * Copies from `req` what the route needs (path parameters; its headers, read once, are in
   * `headers`) into a per-request context. Runs synchronously inside the uWS callback, after
   * onAborted is set. Must not throw: validation belongs in `start`, where a refusal is answered
   * through `fail`.
   */
  read(req: HttpRequest, conn: Connection, headers: RequestHeaders): Ctx;
  /** Validates the context and may refuse (throw) before the body is read; uWS then skips the body. */
  start?(ctx: Ctx): void;
  /** Called once the whole body arrived and the client is still connected. Throw or reject to refuse. */
  handle(ctx: Ctx, body: Buffer): Answer | Promise<Answer>;
  /** The answer to a refusal (default: `errorAnswer(err)`). Must not throw. */
  fail?(ctx: Ctx, err: SluiceError): Answer;
  /**
   * Told after each answer was handed to `send` (metrics, the prediction log): `code` is 'OK' or
   * the error's code, `status` the answer's HTTP status.
   * Not called when the client left before its body arrived. Must not throw.
   */
  answered?(ctx: Ctx, code: string, status: number): void;
  /** Told of every SLUICE_ERR_SERVER_INTERNAL refusal with the original error (logging). */
  onInternalError?(err: unknown): void;
}

/** The uWS handler of a body route; register it with `RouteTable.add('POST', pattern, ...)`. */
export function bodyHandler<Ctx>(route: BodyRoute<Ctx>): UwsHandler {
  return (res: HttpResponse, req: HttpRequest): void => {
    const conn: Connection = { aborted: false };
    res.onAborted(() => {
      conn.aborted = true;
    });
    const headers = readHeaders(req);
    let ctx: Ctx;
    try {
      ctx = route.read(req, conn, headers);
    } catch (err) {
      // A broken read() (it must not throw): answered, so the client is not left hanging.
      route.onInternalError?.(err);
      send(res, conn, errorAnswer(toSluiceError(err)));
      return;
    }
    const lengthHeader = headers.contentLength;
    const refusal = framingRefusal(headers);
    if (refusal !== undefined) {
      send(res, conn, errorAnswer(refusal, earlyAnswerIdHeader(headers)));
      return;
    }
    const answer = (a: Answer, code: string): void => {
      send(res, conn, a);
      route.answered?.(ctx, code, a.status);
    };
    const fail = (err: unknown): void => {
      const e = toSluiceError(err);
      if (e.code === 'SLUICE_ERR_SERVER_INTERNAL') route.onInternalError?.(err);
      answer(route.fail ? route.fail(ctx, e) : errorAnswer(e), e.code);
    };
    try {
      route.start?.(ctx);
      const contentLength = lengthHeader === '' ? Number.NaN : Number(lengthHeader);
      const handle = (body: Buffer): void => {
        if (conn.aborted) return;
        let a: Answer | Promise<Answer>;
        try {
          a = route.handle(ctx, body);
        } catch (err) {
          fail(err);
          return;
        }
        if (a instanceof Promise) a.then((done) => answer(done, 'OK'), fail);
        else answer(a, 'OK');
      };
      readBody(res, route.bodyLimitBytes, Number.isSafeInteger(contentLength) && contentLength >= 0 ? contentLength : undefined, handle, fail);
    } catch (err) {
      fail(err);
    }
  };
}

/**
 * What uWS lets through but a server must not (answered, then the connection closes):
 * - several Content-Length headers: uWS takes the first, a proxy in front that took the last
 *   would frame the stream differently (request smuggling); RFC 9112 §6.3 says 400 and close.
 *   Counted in the one pass that reads the headers (headers.ts).
 * - a Transfer-Encoding other than `chunked` (`gzip, chunked`): uWS reads it as chunked and the
 *   body would be taken still compressed; RFC 9112 §6.1 says 501.
 */
function framingRefusal(headers: RequestHeaders): SluiceError | undefined {
  const coding = headers.transferEncoding;
  if (coding !== '' && coding.trim().toLowerCase() !== 'chunked') {
    return new SluiceError('SLUICE_ERR_HTTP_TRANSFER_CODING', 'only Transfer-Encoding: chunked is taken');
  }
  return headers.contentLengths > 1 ? new SluiceError('SLUICE_ERR_HTTP_FRAMING_INVALID', 'Content-Length is given more than once') : undefined;
}
