// Reads a request body under a byte cap. uWS has no cap of its own and hands out chunks
// that are only valid during the callback, so each one is copied (STYLE habit 4).
import type { HttpResponse } from 'uWebSockets.js';
import { SluiceError } from '../../errors.js';

export interface BodyState {
  aborted: boolean;
}

/**
 * Collects the body of `res`. Resolves with the whole body; rejects with
 * SLUICE_ERR_BODY_TOO_LARGE once more than `limitBytes` arrived. The caller must have set
 * res.onAborted before calling (state.aborted is what it sets); an aborted request's
 * promise never settles, which is fine: nothing waits on a client that went away.
 */
export function readBody(res: HttpResponse, limitBytes: number, contentLength: number | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (contentLength !== undefined && contentLength > limitBytes) {
      reject(tooLarge(limitBytes));
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
        reject(received + n > limitBytes ? tooLarge(limitBytes) : new SluiceError('SLUICE_ERR_REQUEST_INVALID', 'body longer than Content-Length'));
        return;
      }
      if (buffer) buffer.set(new Uint8Array(chunk), received);
      else (chunks as Buffer[]).push(Buffer.from(new Uint8Array(chunk).slice()));
      received += n;
      if (isLast) {
        if (buffer) resolve(received === buffer.length ? buffer : buffer.subarray(0, received));
        else resolve(Buffer.concat(chunks as Buffer[], received));
        buffer = undefined;
        chunks = undefined;
      }
    });
  });
}

function tooLarge(limitBytes: number): SluiceError {
  return new SluiceError('SLUICE_ERR_BODY_TOO_LARGE', `request body is over the ${limitBytes}-byte limit`);
}
