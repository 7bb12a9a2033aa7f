// Reads a request body under a byte cap. uWS has no cap of its own and hands out chunks
// that are only valid during the callback, so each one is copied (STYLE habit 4).
import type { HttpResponse } from 'uWebSockets.js';
import { SluiceError } from '../../errors.js';

export interface BodyState {
  aborted: boolean;
}

/**
 * Collects the body of `res` and calls `onBody` with the whole of it, or `onError` with
 * SLUICE_ERR_BODY_TOO_LARGE once more than `limitBytes` arrived (or a body longer than its
 * Content-Length); at most one of them, once, from inside uWS's onData callback. The caller must
 * have set res.onAborted before calling; for an aborted request neither may be called, which is
 * fine: nothing waits on a client that went away. Callbacks, not a promise: the body is handed on
 * in the same turn, without the promise hops a request would otherwise pay for.
 */
export function readBody(
  res: HttpResponse,
  limitBytes: number,
  contentLength: number | undefined,
  onBody: (body: Buffer) => void,
  onError: (err: SluiceError) => void,
): void {
  if (contentLength !== undefined && contentLength > limitBytes) {
    onError(tooLarge(limitBytes));
    return;
  }
  // With a known length the body lands in one exact-sized buffer: no concat, one copy.
  let buffer = contentLength !== undefined ? Buffer.allocUnsafe(contentLength) : undefined;
  let chunks: Buffer[] | undefined = buffer ? undefined : [];
  let received = 0;
  let failed = false;
  res.onData((chunk, isLast) => {
    if (failed) return;
    const n = chunk.byteLength;
    if (received + n > limitBytes || (buffer && received + n > buffer.length)) {
      failed = true;
      onError(received + n > limitBytes ? tooLarge(limitBytes) : new SluiceError('SLUICE_ERR_REQUEST_INVALID', 'body longer than Content-Length'));
      return;
    }
    if (buffer) buffer.set(new Uint8Array(chunk), received);
    else (chunks as Buffer[]).push(Buffer.from(new Uint8Array(chunk).slice()));
    received += n;
    if (isLast) {
      const body = buffer ? (received === buffer.length ? buffer : buffer.subarray(0, received)) : Buffer.concat(chunks as Buffer[], received);
      buffer = undefined;
      chunks = undefined;
      onBody(body);
    }
  });
}

function tooLarge(limitBytes: number): SluiceError {
  return new SluiceError('SLUICE_ERR_BODY_TOO_LARGE', `request body is over the ${limitBytes}-byte limit`);
}
