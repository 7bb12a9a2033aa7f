// The admin API's request values: path versions and the small bodies of promote, rollback,
// load and unload. Strict: an unknown key is refused, not ignored (a typo must not pass as "{}").
import { parseJsonBody } from '../codec/json-body.js';
import { SluiceError } from '../errors.js';

const VERSION = /^[1-9][0-9]{0,8}$/;

/** A `{v}` path segment. */
export function parsePathVersion(raw: string): number {
  if (!VERSION.test(raw)) throw requestInvalid(`"${raw.slice(0, 32)}" is not a version: a positive integer such as 2`, '/version: must be a positive integer');
  return Number(raw);
}

/** The promote body: exactly `{"version": "<positive integer>"}`. */
export function parseVersionBody(body: Uint8Array): number {
  const raw = parseJsonBody(body);
  const extra = Object.keys(raw).find((k) => k !== 'version');
  if (extra !== undefined) throw requestInvalid(`promote takes only "version"`, `(root): unknown property "${extra.slice(0, 64)}"`);
  const v = raw.version;
  if (typeof v !== 'string' || !VERSION.test(v)) throw requestInvalid('promote needs {"version": "<version>"}', '/version: must be a version: a positive integer as a string, such as "2"');
  return Number(v);
}

/** A body that must say nothing: empty, whitespace, or `{}`. */
export function parseEmptyBody(body: Uint8Array, what: string): void {
  if (body.every((b) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d)) return;
  const extra = Object.keys(parseJsonBody(body))[0];
  if (extra !== undefined) throw requestInvalid(`${what} takes no body (or {})`, `(root): unknown property "${extra.slice(0, 64)}"`);
}

function requestInvalid(message: string, detail: string): SluiceError {
  return new SluiceError('SLUICE_ERR_ADMIN_REQUEST_INVALID', message, { details: [detail] });
}
