// POST .../infer: reads the body under the byte cap, picks the payload format from the
// headers, and answers in the format the client accepts.
//
// Request format: `Inference-Header-Content-Length` present → binary tensor extension (the
// header is JSON); else Content-Type application/msgpack or application/x-msgpack → msgpack;
// application/json or none → JSON; anything else → 415. Answer format: binary when the request
// asked for binary outputs; else msgpack when Accept names a msgpack type, JSON when Accept names
// application/json, otherwise the request's own format (JSON for binary requests).
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { SluiceError, toSluiceError } from '../../errors.js';
import type { DataPlane, InferOptions, InferResult, RequestPayload, ResponseFormat } from '../../dataplane/dataplane.js';
import { readBody } from './body.js';
import { decodeParam, parseVersion } from './metadata-routes.js';
import { errorAnswer, send, type Answer } from './respond.js';

export interface InferRouteOptions {
  bodyLimitBytes: number;
  nowUs(): number;
  /** Called for every answered inference request (metrics). Must not throw. */
  onInferDone?(model: string, version: string, code: string, seconds: number): void;
  onInternalError?(err: unknown): void;
}

const MSGPACK_TYPES = new Set(['application/msgpack', 'application/x-msgpack']);
const JSON_TYPES = new Set(['application/json', '']);

type BodyFormat = 'json' | 'msgpack' | 'binary';

function bodyFormat(contentType: string, headerLength: string): BodyFormat {
  if (headerLength !== '') return 'binary';
  if (MSGPACK_TYPES.has(contentType)) return 'msgpack';
  if (JSON_TYPES.has(contentType)) return 'json';
  throw new SluiceError(
    'SLUICE_ERR_BODY_CONTENT_TYPE',
    `Content-Type "${contentType.slice(0, 64)}" is not supported; use application/json, application/msgpack or the binary tensor extension`,
  );
}

function answerFormat(accept: string, request: BodyFormat): ResponseFormat {
  if (accept.includes('application/msgpack') || accept.includes('application/x-msgpack')) return 'msgpack';
  if (accept.includes('application/json')) return 'json';
  return request === 'msgpack' ? 'msgpack' : 'json';
}

function payloadOf(format: BodyFormat, bytes: Buffer, headerLength: string): RequestPayload {
  if (format !== 'binary') return { format, bytes };
  return { format, bytes, headerLength: /^\d{1,10}$/.test(headerLength) ? Number(headerLength) : Number.NaN };
}

function parseTimeoutHeader(raw: string): number | undefined {
  if (raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 600_000) {
    throw new SluiceError('SLUICE_ERR_PARAMETER_INVALID', 'x-timeout-ms must be a number of milliseconds in (0, 600000]');
  }
  return n;
}

interface RequestHead {
  model: string;
  version: number | undefined;
  format: BodyFormat;
  respondAs: ResponseFormat;
  headerLength: string;
  timeoutMs: number | undefined;
  contentLength: number | undefined;
}

/** What a body route does with the request once its body has arrived. */
type BodyHandler = (head: RequestHead, bytes: Buffer, opts: InferOptions) => Promise<InferResult>;

export function registerInferRoutes(app: TemplatedApp, dataplane: DataPlane, opts: InferRouteOptions): void {
  /**
   * Shared discipline of every POST that carries a body: read `req` synchronously, onAborted
   * before any await, body under the cap, answer (corked) only if the client is still there.
   */
  const bodyRoute = (res: HttpResponse, req: HttpRequest, model: string, rawVersion: string | undefined, handle: BodyHandler): void => {
    const receivedUs = opts.nowUs();
    const state = { aborted: false };
    res.onAborted(() => {
      state.aborted = true;
    });
    const contentType = req.getHeader('content-type').split(';', 1)[0]!.trim().toLowerCase();
    const headerLength = req.getHeader('inference-header-content-length');
    const accept = req.getHeader('accept').toLowerCase();
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
      const format = bodyFormat(contentType, headerLength);
      const contentLength = lengthHeader === '' ? Number.NaN : Number(lengthHeader);
      const head: RequestHead = {
        model,
        version: rawVersion === undefined ? undefined : parseVersion(rawVersion),
        format,
        respondAs: answerFormat(accept, format),
        headerLength,
        timeoutMs: parseTimeoutHeader(timeoutHeader),
        contentLength: Number.isSafeInteger(contentLength) ? contentLength : undefined,
      };
      const inferOpts: InferOptions = { receivedUs, timeoutMs: head.timeoutMs, isCancelled: () => state.aborted, respondAs: head.respondAs, allowBinary: true };
      // Cheap refusal: when even a one-row request would be refused now, answer before the body
      // is read or decoded (a refusal then costs no parsing). Throwing lands in `fail` below; uWS
      // skips the unread body and keeps the connection for the next request.
      dataplane.precheck(model, head.version, inferOpts);
      readBody(res, opts.bodyLimitBytes, head.contentLength)
        .then((bytes) => (state.aborted ? undefined : handle(head, bytes, inferOpts)))
        .then((result) => {
          if (!result) return;
          versionLabel = String(result.version);
          const headers: [string, string][] = [
            ['x-model-version', versionLabel],
            ['x-request-id', result.id],
          ];
          if (result.headerLength !== undefined) headers.push(['inference-header-content-length', String(result.headerLength)]);
          finish({ status: 200, body: result.body, contentType: result.contentType, headers }, 'OK');
        }, fail);
    } catch (err) {
      fail(err);
    }
  };

  const infer: BodyHandler = (head, bytes, inferOpts) =>
    dataplane.infer(head.model, head.version, payloadOf(head.format, bytes, head.headerLength), inferOpts);
  const predict: BodyHandler = (head, bytes, inferOpts) => {
    if (head.format !== 'json') throw new SluiceError('SLUICE_ERR_BODY_CONTENT_TYPE', '/v1 predict takes application/json');
    return dataplane.predict(head.model, undefined, bytes, inferOpts);
  };

  app.post('/v2/models/:model/infer', (res, req) => bodyRoute(res, req, decodeParam(req.getParameter(0)), undefined, infer));
  app.post('/v2/models/:model/versions/:version/infer', (res, req) =>
    bodyRoute(res, req, decodeParam(req.getParameter(0)), req.getParameter(1), infer),
  );
  // KServe V1: POST /v1/models/<name>:predict — the verb is part of the last path segment.
  app.post('/v1/models/:target', (res, req) => {
    const target = decodeParam(req.getParameter(0));
    if (!target.endsWith(':predict')) {
      const err = new SluiceError('SLUICE_ERR_HTTP_ROUTE_NOT_FOUND', `no endpoint POST ${req.getUrl().slice(0, 200)}`);
      send(res, { aborted: false }, errorAnswer(err));
      return;
    }
    bodyRoute(res, req, target.slice(0, -':predict'.length), undefined, predict);
  });
}
