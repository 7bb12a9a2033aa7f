// One WebSocket frame → one inference request, decoded in the data plane like an HTTP body
// (one decode path for every transport). The frame is the OIP request body plus
// `model_name` (required), `model_version` (optional, string or integer) and `id` (required:
// answers come back in completion order, so the id is how a client matches them).
import { SluiceError } from '../errors.js';
import { parseJsonBody } from '../codec/json-body.js';
import { decodeMsgpackBody } from '../codec/msgpack-body.js';

export type FrameFormat = 'json' | 'msgpack';

export interface InferFrame {
  id: string;
  model: string;
  version?: number;
  /** The OIP request body without model_name/model_version. */
  body: Record<string, unknown>;
}

/** Parses the frame's bytes (hardened like an HTTP body: the same decoders). */
export function parseFrame(bytes: Uint8Array, format: FrameFormat): Record<string, unknown> {
  return format === 'json' ? parseJsonBody(bytes) : decodeMsgpackBody(bytes);
}

/** The id of a parsed frame, if it has a usable one (for error frames). */
export function frameId(body: Record<string, unknown>): string | undefined {
  const id = body.id;
  return typeof id === 'string' && id.length > 0 && id.length <= 256 ? id : undefined;
}

function parseVersion(raw: unknown): number | undefined {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw > 0 && raw < 1e9) return raw;
  if (typeof raw === 'string' && /^[1-9][0-9]{0,8}$/.test(raw)) return Number(raw);
  return undefined;
}

/** Checks the frame envelope; throws SLUICE_ERR_WS_MESSAGE_INVALID. */
export function checkFrame(body: Record<string, unknown>): InferFrame {
  const { model_name: model, model_version: rawVersion, ...rest } = body;
  const id = frameId(body);
  if (id === undefined) throw new SluiceError('SLUICE_ERR_WS_MESSAGE_INVALID', '"id" must be a non-empty string of at most 256 characters');
  if (typeof model !== 'string' || model.length === 0) {
    throw new SluiceError('SLUICE_ERR_WS_MESSAGE_INVALID', '"model_name" must be a non-empty string');
  }
  if (rawVersion === undefined) return { id, model, body: rest };
  const version = parseVersion(rawVersion);
  if (version === undefined) {
    throw new SluiceError('SLUICE_ERR_WS_MESSAGE_INVALID', '"model_version" must be a positive integer or its decimal string');
  }
  return { id, model, version, body: rest };
}
