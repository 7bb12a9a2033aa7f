// The one way a synchronous GET endpoint is registered: the answer is computed and written inside
// the uWS callback (so no onAborted is needed and `req` is still valid), and a thrown error is
// answered with its status and code. With `head`, HEAD on the same pattern answers exactly like
// GET (status, headers, content-length) without a body — what load-balancer probes send.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { toSluiceError } from '../../errors.js';
import { errorAnswer, send, type Answer } from './respond.js';
import type { RouteTable } from './routes.js';

export interface JsonGetOptions {
  /** Also answer HEAD (same handler, body omitted). */
  head?: boolean;
}

/**
 * Registers GET `pattern`. `handler` must be synchronous: it reads `req` and returns the answer;
 * an endpoint that has to await belongs with the body-route discipline (body-route.ts) instead.
 */
export function jsonGet(routes: RouteTable, pattern: string, handler: (req: HttpRequest) => Answer, opts: JsonGetOptions = {}): void {
  const answer = (omitBody: boolean) => (res: HttpResponse, req: HttpRequest): void => {
    let a: Answer;
    try {
      a = handler(req);
    } catch (err) {
      a = errorAnswer(toSluiceError(err));
    }
    send(res, { aborted: false }, omitBody ? { ...a, omitBody } : a);
  };
  routes.add('GET', pattern, answer(false));
  if (opts.head === true) routes.add('HEAD', pattern, answer(true));
}

/** 200 with `body` as JSON. */
export const ok = (body: unknown): Answer => ({ status: 200, body: JSON.stringify(body) });
