// POST .../infer: reads the body under the byte cap, picks the payload format from the
// headers, and answers in the format the client accepts.
//
// Request format: `Inference-Header-Content-Length` present → binary tensor extension (the
// header is JSON); else Content-Type application/msgpack or application/x-msgpack → msgpack;
// application/json or none → JSON; anything else → 415. Answer format: binary when the request
// asked for binary outputs; else msgpack when Accept names a msgpack type, JSON when Accept names
// application/json, otherwise the request's own format (JSON for binary requests).
//
// Every answer of these routes carries x-request-id: the id the data plane answered with (the
// body's `id`, else the client's x-request-id header, else a generated one); on a refusal, the
// id the request had been given by then, else the client's header, else a generated one. A
// body id that is not printable ASCII is not written to the header (request-id.ts).
import { randomUUID } from 'node:crypto';
import type { HttpRequest } from 'uWebSockets.js';
import { SluiceError } from '../../errors.js';
import type { DataPlane, InferOptions, InferResult, RequestPayload, ResponseFormat } from '../../dataplane/dataplane.js';
import { bodyHandler, type BodyRoute, type Connection } from './body-route.js';
import { decodeParam, parseVersion } from './params.js';
import { mediaType } from './headers.js';
import { clientIdentity, clientRequestId, earlyAnswerIdHeader, requestIdHeader } from './request-id.js';
import { newTrace, type Protocol, type RequestTrace } from '../../dataplane/trace.js';
import { errorAnswer, send, type Answer } from './respond.js';
import type { RouteTable } from './routes.js';

export interface InferRouteOptions {
  bodyLimitBytes: number;
  /** Answers carry x-queue-us, x-compute-us and x-batch-size (config.debugHeaders); off by default. */
  debugHeaders?: boolean;
  nowUs(): number;
  /**
   * Told after every answered inference request, with "OK" or the refusal's code (the gateway's
   * busy polling: a served client may send its next request at once). Must not throw. Metrics
   * and logs hear the answer from the data plane's events instead.
   */
  onInferDone?(code: string): void;
  onInternalError?(err: unknown): void;
}

const MSGPACK_TYPES = new Set(['application/msgpack', 'application/x-msgpack']);
const JSON_TYPES = new Set(['application/json', '']);

type BodyFormat = 'json' | 'msgpack' | 'binary';

const PROTOCOL_OF: Record<BodyFormat, Protocol> = { json: 'http_json', msgpack: 'http_msgpack', binary: 'http_binary' };

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

/** What an inference route copied from its request, and what it made of it. */
interface InferCtx {
  readonly receivedUs: number;
  readonly model: string;
  readonly rawVersion: string | undefined;
  readonly contentType: string;
  readonly headerLength: string;
  readonly accept: string;
  readonly timeoutHeader: string;
  /** The client's x-request-id, when usable (request-id.ts). */
  readonly clientId: string | undefined;
  readonly conn: Connection;
  /** What the data plane learns about this request, handed back in answered(). */
  readonly trace: RequestTrace;
  // Set by start():
  version: number | undefined;
  format: BodyFormat;
  opts: InferOptions;
}

/** What a route does with the request once its body has arrived. */
type InferHandler = (ctx: InferCtx, bytes: Buffer) => Promise<InferResult>;

export function registerInferRoutes(routes: RouteTable, dataplane: DataPlane, opts: InferRouteOptions): void {
  const inferRoute = (params: (req: HttpRequest) => { model: string; rawVersion?: string }, run: InferHandler, v1 = false): BodyRoute<InferCtx> => ({
    bodyLimitBytes: opts.bodyLimitBytes,
    read(req, conn, headers) {
      const receivedUs = opts.nowUs();
      const { model, rawVersion } = params(req);
      return {
        receivedUs,
        model,
        rawVersion,
        contentType: mediaType(headers.contentType),
        headerLength: headers.inferenceHeaderLength,
        accept: headers.accept.toLowerCase(),
        timeoutHeader: headers.timeoutMs,
        clientId: clientRequestId(headers),
        conn,
        trace: newTrace(v1 ? 'http_v1' : 'http_json', receivedUs, `POST ${req.getUrl()}`, clientIdentity(headers)),
        version: undefined,
        format: 'json',
        opts: NO_OPTS,
      };
    },
    start(ctx) {
      ctx.format = bodyFormat(ctx.contentType, ctx.headerLength);
      if (!v1) ctx.trace.protocol = PROTOCOL_OF[ctx.format];
      ctx.version = ctx.rawVersion === undefined ? undefined : parseVersion(ctx.rawVersion);
      ctx.opts = {
        receivedUs: ctx.receivedUs,
        timeoutMs: parseTimeoutHeader(ctx.timeoutHeader),
        isCancelled: () => ctx.conn.aborted,
        respondAs: answerFormat(ctx.accept, ctx.format),
        allowBinary: true,
        requestId: ctx.clientId,
        trace: ctx.trace,
      };
      // Cheap refusal: when even a one-row request would be refused now, answer before the body
      // is read or decoded (a refusal then costs no parsing).
      dataplane.precheck(ctx.model, ctx.version, ctx.opts);
    },
    async handle(ctx, bytes) {
      const result = await run(ctx, bytes);
      const headers: [string, string][] = [['x-model-version', String(result.version)], ...requestIdHeader(result.id)];
      if (result.headerLength !== undefined) headers.push(['inference-header-content-length', String(result.headerLength)]);
      if (opts.debugHeaders === true) pushDebugHeaders(headers, ctx.trace.outcome);
      return closingWhileDraining({ status: 200, body: result.body, contentType: result.contentType, headers });
    },
    fail(ctx, err) {
      // The id the request got before it was refused (the one its log line has), else the
      // client's header, else a fresh one.
      const id = ctx.trace.id ?? ctx.clientId ?? randomUUID();
      ctx.trace.id = id;
      return closingWhileDraining(errorAnswer(err, requestIdHeader(id)));
    },
    answered(ctx, code, status) {
      opts.onInferDone?.(code);
      dataplane.answered(ctx.trace, ctx.model, status, code);
    },
    onInternalError: opts.onInternalError,
  });
  // While draining, every answer closes its connection so that no keep-alive connection is left
  // holding a request when the process exits.
  const closingWhileDraining = (answer: Answer): Answer => {
    if (dataplane.draining) answer.close = true;
    return answer;
  };

  const infer: InferHandler = (ctx, bytes) => dataplane.infer(ctx.model, ctx.version, payloadOf(ctx.format, bytes, ctx.headerLength), ctx.opts);
  const predict: InferHandler = (ctx, bytes) => {
    if (ctx.format !== 'json') throw new SluiceError('SLUICE_ERR_BODY_CONTENT_TYPE', '/v1 predict takes application/json');
    return dataplane.predict(ctx.model, undefined, bytes, ctx.opts);
  };
  const model = (req: HttpRequest): string => decodeParam(req.getParameter(0));

  const versioned = (req: HttpRequest) => ({ model: model(req), rawVersion: req.getParameter(1) });
  routes.add('POST', '/v2/models/:model/infer', bodyHandler(inferRoute((req) => ({ model: model(req) }), infer)));
  routes.add('POST', '/v2/models/:model/versions/:version/infer', bodyHandler(inferRoute(versioned, infer)));
  // KServe V1: POST /v1/models/<name>:predict — the verb is part of the last path segment.
  const predictHandler = bodyHandler(inferRoute((req) => ({ model: model(req).slice(0, -':predict'.length) }), predict, true));
  routes.add('POST', '/v1/models/:target', (res, req) => {
    if (model(req).endsWith(':predict')) {
      predictHandler(res, req);
      return;
    }
    // Another verb (:explain, ...): not an endpoint; answered at once, not counted as inference.
    const err = new SluiceError('SLUICE_ERR_HTTP_ROUTE_NOT_FOUND', `no endpoint POST ${req.getUrl().slice(0, 200)}`);
    send(res, { aborted: false }, errorAnswer(err, earlyAnswerIdHeader({ requestId: req.getHeader('x-request-id') })));
  });
}

/** How the batch that ran this request went: whole µs, and the batch's rows. */
function pushDebugHeaders(headers: [string, string][], outcome: RequestTrace['outcome']): void {
  if (outcome === undefined) return;
  headers.push(
    ['x-queue-us', String(Math.round(outcome.queueUs))],
    ['x-compute-us', String(Math.round(outcome.computeUs))],
    ['x-batch-size', String(outcome.batchRows)],
  );
}

/** Placeholder until start() sets the request's options (read() must not throw, so it cannot parse). */
const NO_OPTS: InferOptions = Object.freeze({ receivedUs: 0 });
