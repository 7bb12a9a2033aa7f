// The routes of one uWS app, recorded as they are registered, and the 404/405 fallback derived
// from that record: no hand-kept copy of the route list can drift from the routes themselves.
//
// Contracts:
// - Every HTTP route of an app is registered through its RouteTable (`add`), never on the app
//   directly; the table keeps (method, pattern) in registration order.
// - `registerFallback()` is called once, after every route: a registered pattern asked with a
//   method it was not registered for answers 405 with `allow` listing the methods it has; any
//   other request answers 404. A route added after it throws (a programming error: the route
//   would serve, but its pattern's 405 `allow` would be wrong).
// - Routes registered outside the table (the WebSocket upgrade, `app.ws`) are not in it: a
//   request that such a handler yields (a plain GET on /v2/ws) falls through to the 404.
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { SluiceError } from '../../errors.js';
import { errorAnswer, send } from './respond.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'OPTIONS';
export type UwsHandler = (res: HttpResponse, req: HttpRequest) => void;

export interface RouteRecord {
  readonly method: HttpMethod;
  readonly pattern: string;
}

const REGISTER: Record<HttpMethod, 'get' | 'head' | 'post' | 'put' | 'del' | 'patch' | 'options'> = {
  GET: 'get',
  HEAD: 'head',
  POST: 'post',
  PUT: 'put',
  DELETE: 'del',
  PATCH: 'patch',
  OPTIONS: 'options',
};

export class RouteTable {
  /** pattern → methods registered for it, both in registration order. */
  private readonly byPattern = new Map<string, HttpMethod[]>();
  private sealed = false;

  constructor(readonly app: TemplatedApp) {}

  /** Registers `handler` for (method, pattern) on the app and records it. */
  add(method: HttpMethod, pattern: string, handler: UwsHandler): void {
    if (this.sealed) throw new Error(`route ${method} ${pattern} added after the fallback was registered`);
    const methods = this.byPattern.get(pattern) ?? [];
    if (methods.includes(method)) throw new Error(`route ${method} ${pattern} registered twice`);
    methods.push(method);
    this.byPattern.set(pattern, methods);
    this.app[REGISTER[method]](pattern, handler);
  }

  /** Every registered (method, pattern), in registration order. */
  routes(): RouteRecord[] {
    return [...this.byPattern].flatMap(([pattern, methods]) => methods.map((method) => ({ method, pattern })));
  }

  /** The `allow` header value of `pattern` ('' when it is not registered). */
  allow(pattern: string): string {
    return (this.byPattern.get(pattern) ?? []).join(', ');
  }

  /** 405 for registered patterns asked with another method, 404 for everything else. Call last. */
  registerFallback(): void {
    if (this.sealed) throw new Error('fallback registered twice');
    this.sealed = true;
    for (const [pattern, methods] of this.byPattern) {
      const allow = methods.join(', ');
      // A specific-method route wins over `any` for the same pattern in uWS's router, so this
      // handler sees only the other methods — or a request a handler of this pattern yielded.
      this.app.any(pattern, (res, req) => {
        const method = req.getMethod().toUpperCase();
        if ((methods as string[]).includes(method)) {
          notFound(res, req, method);
          return;
        }
        const err = new SluiceError('SLUICE_ERR_HTTP_METHOD_NOT_ALLOWED', `${method} is not allowed on ${req.getUrl().slice(0, 200)}`);
        send(res, { aborted: false }, { ...errorAnswer(err, [['allow', allow]]), omitBody: method === 'HEAD' });
      });
    }
    this.app.any('/*', (res, req) => notFound(res, req, req.getMethod().toUpperCase()));
  }
}

function notFound(res: HttpResponse, req: HttpRequest, method: string): void {
  const err = new SluiceError('SLUICE_ERR_HTTP_ROUTE_NOT_FOUND', `no endpoint ${method.slice(0, 16)} ${req.getUrl().slice(0, 200)}`);
  send(res, { aborted: false }, { ...errorAnswer(err), omitBody: method === 'HEAD' });
}
