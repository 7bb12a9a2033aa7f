// Issue 15, the hostile-payload corpus (bench/lib/hostile-corpus.ts) over WebSocket: JSON cases as text frames,
// msgpack cases as binary frames, on one connection, one frame at a time. Every frame gets one
// answer; a frame whose id can be read gets that id back on its error frame; the code is the one
// the same body gets over HTTP (hostile-payloads.test.ts), except where WebSocket's own frame
// rules decide first; the connection stays open and serves a valid frame afterwards.
import { isUtf8 } from 'node:buffer';
import { Packr, unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ERROR_CODES } from '../../src/errors.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { hostileCorpus, type HostileCase } from '../../bench/lib/hostile-corpus.js';

const packr = new Packr({ useRecords: false, moreTypes: true });
const ALL = hostileCorpus(15, 1500).filter((c) => c.format !== 'binary');
/** A text frame must be UTF-8 (RFC 6455 §8.1): those the protocol itself refuses, by closing. */
const NOT_UTF8 = ALL.filter((c) => c.format === 'json' && !isUtf8(c.body));
const CORPUS = ALL.filter((c) => !NOT_UTF8.includes(c));

/** The frame for a case: the body with model_name added (JSON: as a first key when the text opens an object). */
function frameOf(c: HostileCase): { data: Buffer; binary: boolean } {
  if (c.format === 'msgpack') {
    let v: unknown;
    try {
      v = unpack(c.body);
    } catch {
      return { data: Buffer.from(c.body), binary: true };
    }
    const withModel = v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v) ? { model_name: 'digits', ...(v as object) } : v;
    return { data: Buffer.from(packr.pack(withModel)), binary: true };
  }
  const text = Buffer.from(c.body).toString('latin1');
  const at = text.indexOf('{');
  const data = at === -1 || text.slice(0, at).trim() !== '' ? Buffer.from(c.body) : Buffer.concat([Buffer.from(c.body).subarray(0, at + 1), Buffer.from('"model_name":"digits",'), Buffer.from(c.body).subarray(at + 1)]);
  return { data, binary: false };
}

/** The id a correct server can read from a frame: a well-formed string of 1..256 code points at the top level. */
function readableId(data: Buffer, binary: boolean): string | undefined {
  try {
    const v = (binary ? unpack(data) : JSON.parse(data.toString('utf8'))) as { id?: unknown };
    const id = v?.id;
    return typeof id === 'string' && id !== '' && id.isWellFormed() && [...id].length <= 256 ? id : undefined;
  } catch {
    return undefined;
  }
}

let t: TestGateway;
let ws: WebSocket;

async function connect(): Promise<WebSocket> {
  const socket = new WebSocket(`${t.url.replace('http', 'ws')}/v2/ws`);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  return socket;
}
const answers: { id?: string; code?: string; outputs?: unknown }[] = [];
let valid: { id?: string; outputs?: unknown[] } | undefined;
let closed = false;

function next(frame: { data: Buffer; binary: boolean }): Promise<{ id?: string; code?: string; outputs?: unknown[] }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000);
    ws.once('message', (data: Buffer, isBinary: boolean) => {
      clearTimeout(timer);
      resolve((isBinary ? unpack(data) : JSON.parse(data.toString('utf8'))) as { id?: string; code?: string });
    });
    ws.send(frame.data, { binary: frame.binary });
  });
}

beforeAll(async () => {
  t = await startTestGateway({ models: ['digits'] });
  ws = await connect();
  ws.on('close', () => {
    closed = true;
  });
  for (const c of CORPUS) {
    try {
      answers.push(await next(frameOf(c)));
    } catch (err) {
      throw new Error(`${c.name}: ${(err as Error).message} (closed: ${closed})`);
    }
  }
  valid = await next({ data: Buffer.from(JSON.stringify({ id: 'after', model_name: 'digits', inputs: [{ name: 'pixels', shape: [1, 64], datatype: 'FP32', data: new Array(64).fill(3) }] })), binary: false });
}, 240_000);

afterAll(async () => {
  ws?.close();
  await t?.stop();
});

describe('hostile payloads over WebSocket (JSON text and msgpack binary frames)', () => {
  it(`${CORPUS.length} frames, one answer each, the connection open throughout, a valid frame answered after`, () => {
    expect(answers).toHaveLength(CORPUS.length);
    expect(closed).toBe(false);
    expect(valid?.id).toBe('after');
    expect(valid?.outputs).toHaveLength(2);
  });

  it('every refused frame with a readable id gets that id back; every code is known and not a 5xx', () => {
    const wrong: string[] = [];
    CORPUS.forEach((c, i) => {
      const a = answers[i]!;
      const f = frameOf(c);
      const id = readableId(f.data, f.binary);
      if (a.code === undefined) {
        if (!c.mayPass) wrong.push(`${c.name}: answered, expected ${c.code}`);
        return;
      }
      if (!(a.code in ERROR_CODES) || ERROR_CODES[a.code as keyof typeof ERROR_CODES].status >= 500) wrong.push(`${c.name}: ${a.code}`);
      if (a.id !== id) wrong.push(`${c.name}: id ${String(a.id)}, readable ${String(id)}`);
    });
    expect(wrong).toEqual([]);
  });

  it('a text frame that is not UTF-8 fails its connection (RFC 6455 §8.1: uWS drops it, 1006), and a new connection serves', async () => {
    expect(NOT_UTF8.length).toBeGreaterThan(0);
    for (const c of NOT_UTF8) {
      const socket = await connect();
      const code = await new Promise<number>((resolve) => {
        socket.once('close', (n: number) => resolve(n));
        socket.send(frameOf(c).data, { binary: false });
      });
      expect([1006, 1007], c.name).toContain(code);
    }
    const socket = await connect();
    const answer = await new Promise<{ id?: string }>((resolve) => {
      socket.once('message', (data: Buffer) => resolve(JSON.parse(data.toString('utf8')) as { id?: string }));
      socket.send(JSON.stringify({ id: 'again', model_name: 'digits', inputs: [{ name: 'pixels', shape: [1, 64], datatype: 'FP32', data: new Array(64).fill(1) }] }));
    });
    socket.close();
    expect(answer.id).toBe('again');
  });

  it('each hand-made case gets the code it gets over HTTP, unless the frame rules refuse its id first', () => {
    const wrong: string[] = [];
    CORPUS.forEach((c, i) => {
      if (c.code === undefined) return;
      const a = answers[i]!;
      const f = frameOf(c);
      const idRefused = readableId(f.data, f.binary) === undefined && a.code === 'SLUICE_ERR_WS_MESSAGE_INVALID';
      if (a.code !== c.code && !idRefused) wrong.push(`${c.name}: ${a.code}, over HTTP ${c.code}`);
    });
    expect(wrong).toEqual([]);
  });
});
