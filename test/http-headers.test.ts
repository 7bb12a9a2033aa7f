// One pass over a request's headers (src/transport/http/headers.ts) must read what uWS's own
// getHeader reads: on a real uWS app, raw HTTP requests with repeated, mixed-case and absent
// headers are answered with both readings side by side.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHeaders, type RequestHeaders } from '../src/transport/http/headers.js';
import { loadUws } from '../src/transport/http/uws.js';

const uws = loadUws(false, () => {});

const NAMES: Record<Exclude<keyof RequestHeaders, 'contentLengths'>, string> = {
  contentType: 'content-type',
  contentLength: 'content-length',
  transferEncoding: 'transfer-encoding',
  accept: 'accept',
  authorization: 'authorization',
  timeoutMs: 'x-timeout-ms',
  requestId: 'x-request-id',
  clientId: 'x-client-id',
  inferenceHeaderLength: 'inference-header-content-length',
};

let app: ReturnType<typeof uws.App>;
let listen: unknown;
let port = 0;

beforeAll(async () => {
  app = uws.App();
  app.any('/*', (res, req) => {
    const once = readHeaders(req);
    const each = Object.fromEntries(Object.entries(NAMES).map(([field, name]) => [field, req.getHeader(name)]));
    let lengths = 0;
    req.forEach((name) => {
      if (name === 'content-length') lengths++;
    });
    res.onAborted(() => {});
    res.onData((_chunk, last) => {
      if (last) res.cork(() => res.end(JSON.stringify({ once, each: { ...each, contentLengths: lengths } })));
    });
  });
  await new Promise<void>((resolve) =>
    app.listen('127.0.0.1', 0, (s) => {
      listen = s;
      port = uws.us_socket_local_port(s);
      resolve();
    }),
  );
});

afterAll(() => {
  if (listen) uws.us_listen_socket_close(listen as never);
});

/** Sends one raw request (head lines as given) and returns the answer's JSON body. */
function raw(lines: string[], body = ''): Promise<{ once: RequestHeaders; each: RequestHeaders }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(`${lines.join('\r\n')}\r\n\r\n${body}`));
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => {
      const at = got.indexOf('\r\n\r\n');
      try {
        resolve(JSON.parse(got.slice(at + 4)) as { once: RequestHeaders; each: RequestHeaders });
      } catch (err) {
        reject(new Error(`no JSON answer: ${got.slice(0, 300)} (${String(err)})`));
      }
    });
  });
}

describe('readHeaders: one forEach pass reads what getHeader reads', () => {
  it('every field, with repeated and mixed-case headers, and none present', async () => {
    const full = await raw(
      [
        'POST /x HTTP/1.1',
        'Host: a',
        'Content-Type: application/json; charset=utf-8',
        'content-type: text/plain',
        'Accept: application/msgpack',
        'X-Request-Id: first-id',
        'x-request-id: second-id',
        'X-Client-Id: app-1',
        'X-Timeout-Ms: 250',
        'Authorization: Bearer t0k',
        'Inference-Header-Content-Length: 12',
        'Content-Length: 2',
        'Connection: close',
      ],
      '{}',
    );
    expect(full.once).toEqual(full.each);
    expect(full.once.requestId).toBe('first-id');
    expect(full.once.contentType).toBe('application/json; charset=utf-8');
    expect(full.once.contentLengths).toBe(1);

    const bare = await raw(['GET /x HTTP/1.1', 'Host: a', 'Connection: close']);
    expect(bare.once).toEqual(bare.each);
    expect(bare.once).toMatchObject({ contentType: '', contentLength: '', contentLengths: 0, requestId: '' });
  });
});
