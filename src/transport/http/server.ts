// The HTTP listener on uWebSockets.js: Open Inference Protocol routes onto the DataPlane.
// uWS objects never leave transport/. Every async handler follows the same discipline:
// read `req` synchronously, set onAborted before the first await, copy body chunks, and
// write (corked) only if the client is still there.
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { SluiceError, toSluiceError } from '../../errors.js';
import { parseJsonBody } from '../../codec/json-body.js';
import type { DataPlane } from '../../dataplane/dataplane.js';
import { readBody } from './body.js';
import { errorAnswer, send, type Answer } from './respond.js';
import type { Uws } from './uws.js';

export interface HttpServerOptions {
  bodyLimitBytes: number;
  nowUs(): number;
  /** Called for every answered inference request (metrics). Must not throw. */
  onInferDone?(model: string, version: string, code: string, seconds: number): void;
  onInternalError?(err: unknown): void;
}

export interface HttpServer {
  /** Resolves with the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting connections; open keep-alive connections finish their current request. */
  close(): void;
}

const JSON_TYPES = new Set(['application/json', '']);

function parseVersion(raw: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(raw)) {
    throw new SluiceError('SLUICE_ERR_MODEL_VERSION_NOT_FOUND', `"${raw.slice(0, 32)}" is not a model version`);
  }
  return Number(raw);
}

function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function ok(body: unknown): Answer {
  return { status: 200, body: JSON.stringify(body) };
}

export function createHttpServer(uws: Uws, dataplane: DataPlane, opts: HttpServerOptions): HttpServer {
  const app: TemplatedApp = uws.App();
  let token: us_listen_socket | undefined;

  /** Synchronous GET endpoints: everything is answered inside the handler. */
  const get = (pattern: string, handler: (req: HttpRequest) => Answer): void => {
    app.get(pattern, (res, req) => {
      const state = { aborted: false };
      try {
        send(res, state, handler(req));
      } catch (err) {
        send(res, state, errorAnswer(toSluiceError(err)));
      }
    });
  };

  get('/v2', () => ok(dataplane.serverMetadata()));
  get('/v2/health/live', () => ({ status: dataplane.isLive() ? 200 : 503, body: JSON.stringify({ live: dataplane.isLive() }) }));
  get('/v2/health/ready', () => {
    const ready = dataplane.isReady();
    return { status: ready ? 200 : 503, body: JSON.stringify({ ready }) };
  });
  const modelReady = (model: string, version?: number): Answer => {
    const r = dataplane.modelReady(model, version);
    return { status: r.ready ? 200 : 503, body: JSON.stringify(r) };
  };
  get('/v2/models/:model/ready', (req) => modelReady(decodeParam(req.getParameter(0))));
  get('/v2/models/:model/versions/:version/ready', (req) =>
    modelReady(decodeParam(req.getParameter(0)), parseVersion(req.getParameter(1))),
  );
  get('/v2/models/:model', (req) => ok(dataplane.modelMetadata(decodeParam(req.getParameter(0)))));
  get('/v2/models/:model/versions/:version', (req) =>
    ok(dataplane.modelMetadata(decodeParam(req.getParameter(0)), parseVersion(req.getParameter(1)))),
  );

  const infer = (res: HttpResponse, req: HttpRequest, versioned: boolean): void => {
    const receivedUs = opts.nowUs();
    const state = { aborted: false };
    res.onAborted(() => {
      state.aborted = true;
    });
    // Everything needed from `req` is copied now: it is invalid after this function returns.
    const model = decodeParam(req.getParameter(0));
    const rawVersion = versioned ? req.getParameter(1) : undefined;
    const contentType = req.getHeader('content-type').split(';', 1)[0]!.trim().toLowerCase();
    const lengthHeader = req.getHeader('content-length');
    const timeoutHeader = req.getHeader('x-timeout-ms');
    let versionLabel = rawVersion ?? '';
    const finish = (answer: Answer, code: string): void => {
      // While draining, every answer closes its connection so that no keep-alive
      // connection is left holding a request when the process exits.
      if (dataplane.draining) answer.close = true;
      send(res, state, answer);
      opts.onInferDone?.(model, versionLabel, code, (opts.nowUs() - receivedUs) / 1e6);
    };
    const fail = (err: unknown): void => {
      const e = toSluiceError(err);
      if (e.code === 'SLUICE_ERR_SERVER_INTERNAL') opts.onInternalError?.(err);
      finish(errorAnswer(e), e.code);
    };
    try {
      if (!JSON_TYPES.has(contentType)) {
        throw new SluiceError('SLUICE_ERR_BODY_CONTENT_TYPE', `Content-Type "${contentType}" is not supported; use application/json`);
      }
      const version = rawVersion === undefined ? undefined : parseVersion(rawVersion);
      const timeoutMs = parseTimeoutHeader(timeoutHeader);
      const contentLength = lengthHeader === '' ? undefined : Number(lengthHeader);
      readBody(res, opts.bodyLimitBytes, Number.isSafeInteger(contentLength) ? contentLength : undefined)
        .then((body) => {
          if (state.aborted) return undefined;
          const parsed = parseJsonBody(body);
          return dataplane.infer(model, version, parsed, timeoutMs === undefined ? { receivedUs } : { receivedUs, timeoutMs });
        })
        .then((result) => {
          if (!result) return;
          versionLabel = String(result.version);
          const headers: [string, string][] = [
            ['x-model-version', versionLabel],
            ['x-request-id', result.id],
          ];
          finish({ status: 200, body: result.body, headers }, 'OK');
        }, fail);
    } catch (err) {
      fail(err);
    }
  };

  app.post('/v2/models/:model/infer', (res, req) => infer(res, req, false));
  app.post('/v2/models/:model/versions/:version/infer', (res, req) => infer(res, req, true));

  const knownPaths = [
    '/v2', '/v2/health/live', '/v2/health/ready', '/v2/models/:model', '/v2/models/:model/ready',
    '/v2/models/:model/versions/:version', '/v2/models/:model/versions/:version/ready',
    '/v2/models/:model/infer', '/v2/models/:model/versions/:version/infer',
  ];
  for (const pattern of knownPaths) {
    app.any(pattern, (res, req) => {
      const method = req.getMethod().toUpperCase();
      send(res, { aborted: false }, errorAnswer(new SluiceError('SLUICE_ERR_HTTP_METHOD_NOT_ALLOWED', `${method} is not allowed on ${req.getUrl()}`), [
        ['allow', pattern.endsWith('/infer') ? 'POST' : 'GET'],
      ]));
    });
  }
  app.any('/*', (res, req) => {
    send(res, { aborted: false }, errorAnswer(new SluiceError('SLUICE_ERR_HTTP_ROUTE_NOT_FOUND', `no endpoint ${req.getMethod().toUpperCase()} ${req.getUrl().slice(0, 200)}`)));
  });

  return {
    listen(host, port) {
      return new Promise((resolve, reject) => {
        app.listen(host, port, (listenSocket) => {
          if (!listenSocket) {
            reject(new SluiceError('SLUICE_ERR_CONFIG_INVALID', `cannot listen on ${host}:${port}`));
            return;
          }
          token = listenSocket;
          resolve(uws.us_socket_local_port(listenSocket));
        });
      });
    },
    close() {
      if (token) uws.us_listen_socket_close(token);
      token = undefined;
    },
  };
}

function parseTimeoutHeader(raw: string): number | undefined {
  if (raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 600_000) {
    throw new SluiceError('SLUICE_ERR_PARAMETER_INVALID', 'x-timeout-ms must be a number of milliseconds in (0, 600000]');
  }
  return n;
}
