// What one request left along its path, for the observers (prediction log, metrics): the
// transport starts a trace when the request arrives and hands it back with the answer's status
// (DataPlane.answered); the data plane fills in what it learned on the way. A trace lives only
// until the answer is written: observers get a PredictionEvent built from it (prediction-event.ts),
// never the trace, so nothing an observer keeps pins a request body or a batch's buffers.
import type { BatchOutcome } from '../batching/batcher.js';
import type { Tensor } from '../types.js';

/** How the request came in: transport and body format (a metrics label and a log field). */
export type Protocol = 'http_json' | 'http_msgpack' | 'http_binary' | 'http_v1' | 'ws_json' | 'ws_msgpack';

export const PROTOCOLS: readonly Protocol[] = ['http_json', 'http_msgpack', 'http_binary', 'http_v1', 'ws_json', 'ws_msgpack'];

/** The primary version that took the request. */
export interface TracedVersion {
  readonly version: number;
  readonly sha256: string;
}

export interface RequestTrace {
  /** Set by the transport; it may refine it once the body format is known. */
  protocol: Protocol;
  /** Monotonic µs when the transport started reading the request. */
  readonly receivedUs: number;
  /** The client's `x-client-id` header, if any (bounded by the transport). */
  readonly clientId?: string;
  /** Method and path as received, e.g. "POST /v2/models/digits/infer" or "WS /v2/ws" (≤ 512 chars). */
  readonly target: string;
  /** The request id, once known (the body's, the transport header's, or generated). */
  id?: string;
  /** Set once routing found the version that answers. */
  served?: TracedVersion;
  /** Stage durations, µs, set as each stage ends. */
  decodeUs?: number;
  validateUs?: number;
  encodeUs?: number;
  /** Rows of the validated request. */
  rows?: number;
  /** The validated input tensors (views: copied, bounded, only if an observer samples them). */
  inputs?: Tensor[];
  /** The primary's batch result (outputs are views into the batch: copied, bounded). */
  outcome?: BatchOutcome;
}

export function newTrace(protocol: Protocol, receivedUs: number, target: string, clientId?: string): RequestTrace {
  const t = target.length > 512 ? target.slice(0, 512) : target;
  return clientId === undefined ? { protocol, receivedUs, target: t } : { protocol, receivedUs, target: t, clientId };
}
