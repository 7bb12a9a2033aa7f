// Issue 15, hostile HTTP on raw sockets: framing the parser must refuse, thousands of tiny chunks,
// slowloris headers and bodies, clients that disconnect mid-upload or before their answer, and
// pipelining. After each, the server answers a normal request correctly.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { sleep, waitFor } from '../helpers/load.js';

let t: TestGateway;
let port: number;
const BODY = JSON.stringify({ id: 'r', inputs: [{ name: 'pixels', shape: [1, 64], datatype: 'FP32', data: Array.from({ length: 64 }, (_, i) => (i * 5) % 17) }] });
let expected: string;

beforeAll(async () => {
  t = await startTestGateway({ models: ['digits'] });
  port = Number(new URL(t.url).port);
  expected = await infer();
});

afterAll(async () => {
  await t?.stop();
});

/** A normal request through fetch: the answer's text (status must be 200). */
async function infer(body = BODY): Promise<string> {
  const res = await fetch(`${t.url}/v2/models/digits/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(5000) });
  expect(res.status).toBe(200);
  return res.text();
}

interface Raw {
  text: string;
  closed: boolean;
}

/** Writes `parts` on a fresh socket (gapMs between them), then reads for `waitMs` or until `done`. */
async function raw(parts: (string | Buffer)[], waitMs = 800, gapMs = 0, done: (text: string) => boolean = () => false): Promise<Raw> {
  const s = net.connect(port, '127.0.0.1');
  let text = '';
  let closed = false;
  s.on('data', (d) => (text += d.toString('latin1')));
  s.on('close', () => (closed = true));
  s.on('error', () => undefined);
  await new Promise((resolve) => s.once('connect', resolve));
  for (const p of parts) {
    if (closed) break;
    s.write(p);
    if (gapMs > 0) await sleep(gapMs);
  }
  const until = Date.now() + waitMs;
  while (Date.now() < until && !closed && !done(text)) await sleep(20);
  s.destroy();
  return { text, closed };
}

const head = (extra: string): string => `POST /v2/models/digits/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extra}\r\n`;
const chunked = (body: string, size: number): string[] => {
  const out: string[] = [];
  for (let i = 0; i < body.length; i += size) {
    const c = body.slice(i, i + size);
    out.push(`${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`);
  }
  return [...out, '0\r\n\r\n'];
};
const answers = (r: Raw): number => (r.text.match(/HTTP\/1\.1 \d{3} /g) ?? []).length;

describe('hostile HTTP on raw sockets', () => {
  it('a body in thousands of 1-byte chunks is answered like the same body sent at once', async () => {
    const padded = JSON.stringify({ ...JSON.parse(BODY), parameters: { pad: 'x'.repeat(3000) } });
    const r = await raw([head('Transfer-Encoding: chunked\r\n'), ...chunked(padded, 1)], 10_000, 0, (text) => text.endsWith(expected));
    expect(answers(r)).toBe(1);
    expect(r.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)).toBe(expected);
  });

  it('framing a parser must refuse — Content-Length with Transfer-Encoding or repeated, a transfer coding other than chunked, bad chunk sizes, bad lengths, headers past the limits of uWS — closes the connection, and nothing reaches a model', async () => {
    const cases: [string, string][] = [
      ['Content-Length and Transfer-Encoding', head(`Content-Length: ${BODY.length}\r\nTransfer-Encoding: chunked\r\n`) + chunked(BODY, 4096).join('')],
      ['a chunk size that is not hex', `${head('Transfer-Encoding: chunked\r\n')}zz\r\nabc\r\n0\r\n\r\n`],
      ['a negative Content-Length', head('Content-Length: -5\r\n') + BODY],
      ['a Content-Length that is not a number', head('Content-Length: 12abc\r\n') + BODY],
      ['a 1 MiB header', head(`X-Big: ${'a'.repeat(1024 * 1024)}\r\nContent-Length: ${BODY.length}\r\n`) + BODY],
      ['500 headers', head(`${Array.from({ length: 500 }, (_, i) => `X-H${i}: v\r\n`).join('')}Content-Length: ${BODY.length}\r\n`) + BODY],
    ];
    const before = (await t.gw.metrics.requests.get()).values.reduce((n, v) => n + v.value, 0);
    for (const [name, bytes] of cases) {
      const r = await raw([bytes]);
      expect(r.closed, name).toBe(true);
      expect(r.text, name).not.toMatch(/^HTTP\/1\.1 200 /);
    }
    // Several Content-Length headers (uWS would take the first; a proxy in front might take the
    // last): refused by sluice itself with 400 and a close, before the body is read, agreeing or not.
    for (const lengths of [[BODY.length, 5], [5, BODY.length], [BODY.length, BODY.length]]) {
      const r = await raw([head(lengths.map((n) => `Content-Length: ${n}\r\n`).join('')) + BODY]);
      expect(r.closed, String(lengths)).toBe(true);
      expect(r.text, String(lengths)).toMatch(/^HTTP\/1\.1 400 [^]*\r\nx-request-id: [^]*"code":"SLUICE_ERR_HTTP_FRAMING_INVALID"/);
      expect(answers(r)).toBe(1);
    }
    // A transfer coding sluice does not implement (uWS would read `gzip, chunked` as chunked and
    // hand over the still-compressed body): 501 and a close.
    for (const coding of ['gzip, chunked', 'deflate', 'chunked, chunked']) {
      const r = await raw([head(`Transfer-Encoding: ${coding}\r\n`) + chunked(BODY, 4096).join('')]);
      expect(r.closed, coding).toBe(true);
      expect(r.text, coding).toMatch(/^HTTP\/1\.1 501 [^]*"code":"SLUICE_ERR_HTTP_TRANSFER_CODING"/);
    }
    const after = (await t.gw.metrics.requests.get()).values.reduce((n, v) => n + v.value, 0);
    expect(after - before).toBe(0);
    expect(await infer()).toBe(expected);
  });

  it('slowloris: 200 connections that never finish their headers or bodies, or hold a NUL byte, do not delay others and are closed unanswered (uWS idle timeout, 10 s)', async () => {
    const loris = [
      'POST /v2/models/digits/infer HTTP/1.1\r\nHost: x\r\n',
      `${head('Content-Length: 1000\r\n')}{"inputs":`,
      // uWS's parser takes a NUL for the end of the data it has and waits for more: a complete
      // request with one is held like an unfinished one, and closed by the same timeout.
      head('Authorization: Bearer sec\0ret\r\nContent-Length: 0\r\n'),
      'GET /v2/models/dig\0its HTTP/1.1\r\nHost: x\r\n\r\n',
    ];
    const sockets: { s: net.Socket; closed: boolean; answered: boolean }[] = [];
    for (let i = 0; i < 200; i++) {
      const s = net.connect(port, '127.0.0.1');
      const entry = { s, closed: false, answered: false };
      s.on('close', () => (entry.closed = true));
      s.on('data', () => (entry.answered = true));
      s.on('error', () => undefined);
      sockets.push(entry);
      s.once('connect', () => s.write(loris[i % loris.length]!, 'latin1'));
    }
    await waitFor(() => sockets.every((e) => e.s.writableLength === 0 && !e.s.connecting), 5000);
    const t0 = performance.now();
    expect(await infer()).toBe(expected);
    expect(performance.now() - t0).toBeLessThan(1000);
    await waitFor(() => sockets.every((e) => e.closed), 20_000, 200);
    expect(sockets.filter((e) => e.answered).length).toBe(0);
    expect(await infer()).toBe(expected);
  }, 40_000);

  it('clients that disconnect mid-upload, or right after sending, cost nothing lasting: no error logged, the next request answers', async () => {
    const cut = Math.floor(BODY.length / 2);
    const midUpload = Array.from({ length: 50 }, () => raw([head(`Content-Length: ${BODY.length}\r\n`) + BODY.slice(0, cut)], 0));
    const beforeAnswer = Array.from({ length: 200 }, () => raw([head(`Content-Length: ${BODY.length}\r\n`) + BODY], 0));
    await Promise.all([...midUpload, ...beforeAnswer]);
    await sleep(300);
    expect(await infer()).toBe(expected);
    expect(t.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
  });

  it('pipelining: requests sent one after another on a keep-alive connection are all answered; two in one write get the connection closed with nothing half-written (uWS does not pipeline behind an async answer)', async () => {
    const one = head(`Content-Length: ${BODY.length}\r\n`) + BODY;
    const sequential = await raw([one, one, one], 1500, 100);
    expect(answers(sequential)).toBe(3);
    expect(sequential.closed).toBe(false);
    const together = await raw([one + one], 1500);
    expect(together.closed).toBe(true);
    expect(together.text).toBe('');
    expect(await infer()).toBe(expected);
  });
});
