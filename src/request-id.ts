// What a request id may be, on every transport (docs/protocol.md "Request ids"): a string of
// 1..256 code points that is well-formed Unicode. One module, so that the OIP envelope, the /v1
// features schema, WebSocket frames and the lenient read of a refused body measure an id alike.

/** Longest accepted request id, in code points. */
export const MAX_REQUEST_ID_LENGTH = 256;

/**
 * JSON Schema `pattern` (ECMA-262, read with the `u` flag as ajv does) that a well-formed id
 * matches: no lone surrogate. A lone surrogate cannot be written as UTF-8, so an answer encoded
 * as msgpack, or a log line, would carry U+FFFD instead of the id the client sent.
 */
export const REQUEST_ID_PATTERN = '^[^\\uD800-\\uDFFF]*$';

/**
 * Whether `id` is within MAX_REQUEST_ID_LENGTH as a schema's `maxLength` counts it: in code
 * points (ajv's `unicode` default; a surrogate pair is one, as the string iterator counts them).
 */
function withinRequestIdLength(id: string): boolean {
  if (id.length <= MAX_REQUEST_ID_LENGTH) return true;
  // Over 512 UTF-16 units is over 256 code points whatever it holds; only shorter ids are counted.
  return id.length <= 2 * MAX_REQUEST_ID_LENGTH && [...id].length <= MAX_REQUEST_ID_LENGTH;
}

/** Whether `id` is a usable request id: a non-empty, well-formed string within the length cap. */
export function isRequestId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.isWellFormed() && withinRequestIdLength(id);
}
