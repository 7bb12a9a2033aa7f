// Issue 15, what only a WebSocket can do: messages over the payload cap, fragmented messages,
// frames that break the protocol (unmasked, reserved bits, unknown opcodes) on a raw socket,
// idle peers, and thousands of connections that open and drop. After each, a fresh connection
// is answered.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { sleep, waitFor } from '../helpers/load.js';

let t: TestGateway;
let port: number;
const PAYLOAD_CAP = 64 * 1024;
const IDLE_S = 8;
const frame = (id: string): string =>
  JSON.stringify({ id, model_name: 'digits', inputs: [{ name: 'pixels', shape: [1, 64], datatype: 'FP32', data: Array.from({ length: 64 }, (_, i) => (i * 3) % 17) }] });

beforeAll(async () => {
  t = await startTestGateway({ models: ['digits'], config: { wsMaxPayloadBytes: PAYLOAD_CAP, wsIdleTimeoutS: IDLE_S } });
  port = Number(new URL(t.url).port);
});

afterAll(async () => {
  await t?.stop();
});

async function open(): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v2/ws`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return ws;
}

/** Sends one frame on a fresh connection and returns the answer's id. */
async function answeredId(id = 'fresh'): Promise<string | undefined> {
  const ws = await open();
  const answer = await new Promise<{ id?: string; outputs?: unknown[] }>((resolve) => {
    ws.once('message', (data: Buffer) => resolve(JSON.parse(data.toString('utf8')) as { id?: string }));
    ws.send(frame(id));
  });
  ws.close();
  expect(answer.outputs).toHaveLength(2);
  return answer.id;
}

const closeCode = (ws: WebSocket): Promise<number> => new Promise((resolve) => ws.once('close', (code: number) => resolve(code)));

/** A raw socket that has completed the WebSocket handshake. */
async function rawUpgrade(): Promise<{ s: net.Socket; closed: () => boolean }> {
  const s = net.connect(port, '127.0.0.1');
  let closed = false;
  let seen = '';
  s.on('close', () => (closed = true));
  s.on('error', () => undefined);
  await new Promise((resolve) => s.once('connect', resolve));
  s.write(
    'GET /v2/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await new Promise<void>((resolve) => {
    const onData = (d: Buffer): void => {
      seen += d.toString('latin1');
      if (seen.includes('\r\n\r\n')) {
        s.off('data', onData);
        resolve();
      }
    };
    s.on('data', onData);
  });
  expect(seen).toMatch(/^HTTP\/1\.1 101 /);
  return { s, closed: () => closed };
}

/** A client frame: FIN + opcode (+ rsv bits), masked unless `mask` is false. */
function wsFrame(opcode: number, payload: Buffer, opts: { mask?: boolean; rsv?: number } = {}): Buffer {
  const mask = opts.mask ?? true;
  const head = Buffer.from([0x80 | (opts.rsv ?? 0) | opcode, (mask ? 0x80 : 0) | payload.length]);
  if (!mask) return Buffer.concat([head, payload]);
  const key = Buffer.from([1, 2, 3, 4]);
  return Buffer.concat([head, key, Buffer.from(payload.map((b, i) => b ^ key[i % 4]!))]);
}

describe('WebSocket abuse', () => {
  it('a message over the payload cap closes its connection (1009 or a drop); a fresh connection is answered', async () => {
    const ws = await open();
    const code = closeCode(ws);
    ws.send(JSON.stringify({ id: 'big', model_name: 'digits', pad: 'x'.repeat(PAYLOAD_CAP) }));
    expect([1006, 1009]).toContain(await code);
    expect(await answeredId()).toBe('fresh');
  });

  it('a message sent in 100 fragments is answered like the whole message', async () => {
    const ws = await open();
    const text = frame('fragments');
    const step = Math.ceil(text.length / 100);
    const answer = new Promise<{ id?: string; outputs?: unknown[] }>((resolve) => ws.once('message', (d: Buffer) => resolve(JSON.parse(d.toString('utf8')) as { id?: string })));
    for (let i = 0; i < text.length; i += step) ws.send(text.slice(i, i + step), { fin: i + step >= text.length });
    const a = await answer;
    ws.close();
    expect(a.id).toBe('fragments');
    expect(a.outputs).toHaveLength(2);
  });

  it('frames that break the protocol (reserved bits, unknown opcode, a fragment with no start, an oversized control frame) close the connection and run nothing', async () => {
    const before = (await t.gw.metrics.requests.get()).values.reduce((n, v) => n + v.value, 0);
    const short = Buffer.from('{"id":"x"}');
    const breaks: [string, Buffer][] = [
      ['reserved bit RSV2 set', wsFrame(0x1, short, { rsv: 0x20 })],
      ['unknown opcode 0x3', wsFrame(0x3, short)],
      ['continuation with no message started', wsFrame(0x0, short)],
      ['control frame over 125 bytes', Buffer.concat([Buffer.from([0x89, 0x80 | 126, 0, 200]), Buffer.alloc(4), Buffer.alloc(200)])],
    ];
    for (const [name, bytes] of breaks) {
      const { s, closed } = await rawUpgrade();
      s.write(bytes);
      await waitFor(closed, 3000).catch(() => undefined);
      expect(closed(), name).toBe(true);
      s.destroy();
    }
    const after = (await t.gw.metrics.requests.get()).values.reduce((n, v) => n + v.value, 0);
    expect(after - before).toBe(0);
    expect(await answeredId()).toBe('fresh');
  });

  it('an unmasked client frame is not answered and runs nothing; the idle timeout closes the connection (uWS reads a mask that is not there and waits for the rest)', async () => {
    const before = (await t.gw.metrics.requests.get()).values.reduce((n, v) => n + v.value, 0);
    const { s, closed } = await rawUpgrade();
    let got = 0;
    s.on('data', (d: Buffer) => (got += d.length));
    s.write(wsFrame(0x1, Buffer.from('{"id":"x"}'), { mask: false }));
    await waitFor(closed, (IDLE_S + 8) * 1000, 200);
    const after = (await t.gw.metrics.requests.get()).values.reduce((n, v) => n + v.value, 0);
    expect(after - before).toBe(0);
    expect(got).toBeLessThanOrEqual(2 + 125); // at most a close frame
    expect(await answeredId()).toBe('fresh');
  }, 30_000);

  it(`an idle peer is closed after about ${IDLE_S} s; a peer that answers pings stays open`, async () => {
    // The raw socket never answers uWS's pings; the ws client does, automatically.
    const idle = await rawUpgrade();
    const live = await open();
    let liveClosed = false;
    live.on('close', () => (liveClosed = true));
    await waitFor(idle.closed, (IDLE_S + 8) * 1000, 200);
    expect(liveClosed).toBe(false);
    live.close();
    idle.s.destroy();
  }, 30_000);

  it('2,000 connections opened and dropped, and 300 dropped with a request in flight, leave the server serving, nothing logged as an error', async () => {
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        Array.from({ length: 200 }, async () => {
          const s = net.connect(port, '127.0.0.1');
          s.on('error', () => undefined);
          await new Promise((resolve) => s.once('connect', resolve));
          s.destroy();
        }),
      );
    }
    await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const ws = await open();
        ws.send(frame(`drop-${i}`));
        ws.terminate();
      }),
    );
    await sleep(500);
    expect(await answeredId()).toBe('fresh');
    expect(t.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
  }, 60_000);
});
