// WebSocket endpoint /v2/ws: each message is one inference request (OIP body plus
// `model_name`, optional `model_version`, required `id`), as a JSON text frame or a msgpack
// binary frame; each answer (or error frame of the usual error shape, with the id) comes back
// on the same connection, pipelined and in completion order.
//
// Bounds per connection (STYLE habit 3): at most `maxInflight` requests running (more get a
// SLUICE_ERR_WS_TOO_MANY_INFLIGHT error frame); uWS closes a connection whose message is over
// `maxPayloadBytes`; answers beyond uWS's own `maxBackpressureBytes` wait in a local queue of at
// most `maxPendingBytes`; a reader that lets that fill is closed (1008), so it costs bounded
// memory. Idle connections are closed after `idleTimeoutS` (uWS pings keep live ones open).
// How answers are written (one cork per connection per event-loop turn): answers.ts.
import type { TemplatedApp } from 'uWebSockets.js';
import { SluiceError, toSluiceError } from '../../errors.js';
import type { DataPlane } from '../../dataplane/dataplane.js';
import type { Uws } from '../http/uws.js';
import { encodeMsgpackErrorBody } from '../../codec/msgpack-response.js';
import { AnswerQueue, type ConnAnswers } from './answers.js';
import type { FrameFormat } from '../../dataplane/frames.js';
import { newTrace } from '../../dataplane/trace.js';
import { clientIdentity } from '../http/request-id.js';

export interface WsOptions {
  maxPayloadBytes: number;
  maxInflight: number;
  maxBackpressureBytes: number;
  maxPendingBytes: number;
  idleTimeoutS: number;
  nowUs(): number;
  /** Told after every answered request, with "OK" or the refusal's code (as infer-routes.ts's). */
  onInferDone?(code: string): void;
  /** A connection closed because it did not read its answers. */
  onSlowReaderClosed?(): void;
}

interface Conn {
  inflight: number;
  /** The upgrade request's x-client-id: every request of the connection is logged with it. */
  clientId: string | undefined;
  /** Closed (by the client, or by us for a slow reader) once `answers.socket` is undefined. */
  answers: ConnAnswers;
}

export function registerWebSocket(uws: Uws, app: TemplatedApp, dataplane: DataPlane, opts: WsOptions): void {
  const queue = new AnswerQueue({
    maxBackpressureBytes: opts.maxBackpressureBytes,
    maxPendingBytes: opts.maxPendingBytes,
    onSlowReaderClosed: opts.onSlowReaderClosed,
  });
  app.ws<Conn>('/v2/ws', {
    maxPayloadLength: opts.maxPayloadBytes,
    maxBackpressure: opts.maxBackpressureBytes,
    idleTimeout: opts.idleTimeoutS,
    sendPingsAutomatically: true,
    compression: uws.DISABLED,
    upgrade(res, req, context) {
      res.upgrade<Conn>(
        { inflight: 0, clientId: clientIdentity({ clientId: req.getHeader('x-client-id') }), answers: AnswerQueue.newConn() },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open(ws) {
      ws.getUserData().answers.socket = ws;
    },
    message(ws, message, isBinary) {
      const receivedUs = opts.nowUs();
      const conn = ws.getUserData();
      const format: FrameFormat = isBinary ? 'msgpack' : 'json';
      let id: string | undefined;
      let model = '';
      const trace = newTrace(isBinary ? 'ws_msgpack' : 'ws_json', receivedUs, 'WS /v2/ws', conn.clientId);
      const answer = (data: string | Uint8Array, code: string, status: number): void => {
        conn.inflight--;
        queue.add(conn.answers, { data, binary: isBinary });
        opts.onInferDone?.(code);
        if (trace.id === undefined && id !== undefined) trace.id = id;
        dataplane.answered(trace, model, status, code);
      };
      const fail = (err: unknown): void => {
        const e = toSluiceError(err);
        answer(errorFrame(e, id, format), e.code, e.status);
      };
      conn.inflight++;
      try {
        // The ArrayBuffer is only valid during this callback: copy it before anything else.
        const bytes = Buffer.from(new Uint8Array(message));
        dataplane
          .inferFrame(bytes, format, { receivedUs, isCancelled: () => conn.answers.socket === undefined, respondAs: format, trace }, (frameId, frameModel) => {
            id = frameId;
            if (frameModel === undefined) return;
            model = frameModel;
            if (conn.inflight > opts.maxInflight) {
              throw new SluiceError('SLUICE_ERR_WS_TOO_MANY_INFLIGHT', `more than ${opts.maxInflight} requests in flight on this connection`, {
                retryAfterS: 1,
              });
            }
          })
          .then((result) => answer(result.body, 'OK', 200), fail);
      } catch (err) {
        fail(err);
      }
    },
    drain(ws) {
      queue.drain(ws.getUserData().answers);
    },
    close(ws) {
      queue.close(ws.getUserData().answers);
    },
  });
}

function errorFrame(err: SluiceError, id: string | undefined, format: FrameFormat): string | Uint8Array {
  if (format === 'msgpack') return encodeMsgpackErrorBody(err, id);
  return JSON.stringify(id === undefined ? err.toWire() : { ...err.toWire(), id });
}
