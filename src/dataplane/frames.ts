// One WebSocket frame → one inference request, decoded in the data plane like an HTTP body
// (one decode path for every transport). The frame is the OIP request body plus
// `model_name` (required), `model_version` (optional, string or integer) and `id` (required:
// answers come back in completion order, so the id is how a client matches them).
import { isUtf8 } from 'node:buffer';
import { Unpackr } from 'msgpackr';
import { SluiceError } from '../errors.js';
import { parseJsonBody } from '../codec/json-body.js';
import { decodeMsgpackBody } from '../codec/msgpack-body.js';
import { isRequestId } from '../request-id.js';

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

/** Largest refused body or frame whose id is read again (a decoder may refuse at byte 10 of 16 MiB). */
const REFUSED_ID_READ_MAX_BYTES = 1 << 20;

/**
 * The id of a body or frame its decoder refused (too deep, a forbidden key, a msgpack type sluice
 * does not take, …), read the lenient way so the answer can still carry it: JSON.parse (iterative:
 * no depth limit to hit; a `__proto__` key becomes an own property, nothing is polluted) or a fresh
 * msgpackr decoder (its stack overflow on deep input is caught). Only a top-level id that
 * isRequestId accepts is taken; the decoded value is dropped. Error path only, and only up to
 * REFUSED_ID_READ_MAX_BYTES, so that a refusal never costs more than a parse of 1 MiB.
 */
export function refusedFrameId(bytes: Uint8Array, format: FrameFormat): string | undefined {
  if (bytes.byteLength > REFUSED_ID_READ_MAX_BYTES) return undefined;
  try {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const v: unknown =
      format === 'json' ? (isUtf8(buf) ? JSON.parse(buf.toString('utf8')) : undefined) : new Unpackr({ useRecords: false, mapsAsObjects: true }).unpack(buf);
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, 'id')) return undefined;
    return frameId(v as Record<string, unknown>);
  } catch {
    return undefined;
  }
}

/**
 * The id of a parsed frame or body, if it has a usable one (src/request-id.ts: what the envelope
 * accepts). Error frames and the id a refusal is logged under both take it from here.
 */
export function frameId(body: Record<string, unknown>): string | undefined {
  const id = body.id;
  return isRequestId(id) ? id : undefined;
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
  if (id === undefined) throw new SluiceError('SLUICE_ERR_WS_MESSAGE_INVALID', '"id" must be a non-empty, well-formed string of at most 256 characters');
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
