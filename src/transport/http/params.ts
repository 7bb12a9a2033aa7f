// Path parameters as uWS hands them out (still percent-encoded), turned into request values.
import { SluiceError } from '../../errors.js';

/** A `{v}` path segment: a positive integer; anything else is a version that cannot exist (404). */
export function parseVersion(raw: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(raw)) {
    throw new SluiceError('SLUICE_ERR_MODEL_VERSION_NOT_FOUND', `"${raw.slice(0, 32)}" is not a model version`);
  }
  return Number(raw);
}

/** Percent-decodes a path segment; a malformed escape is kept as it came. */
export function decodeParam(raw: string): string {
  if (!raw.includes('%')) return raw; // nothing to decode: skips the runtime call on every request
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
