// Issue 15: request ids follow one rule on every transport — HTTP JSON, HTTP msgpack, the HTTP
// binary tensor extension (JSON header), WebSocket JSON text and msgpack binary frames.
//
// The rule (docs/protocol.md "Request ids", src/request-id.ts): an id is a non-empty,
// well-formed (no lone surrogate) string of at most 256 characters, counted in code points (an
// astral character such as 😀 is one, whatever its UTF-16 length). Over HTTP a body `id` that is
// not one is refused with SLUICE_ERR_REQUEST_INVALID; over WebSocket a frame without one is
// refused with SLUICE_ERR_WS_MESSAGE_INVALID (the frame rule decides before the envelope). The
// answer's body echoes the id; `x-request-id` gets it only when it is 1..256 printable ASCII (no
// response splitting); with no body id the client's plausible `x-request-id` is the id. A
// refusal carries the body's id whenever one can be read — also from a body or frame the decoder
// refused (read again leniently) — else, over HTTP, the client's header.
//
// Each id's expected outcome is derived from that rule once (want() below) and every transport
// is compared with it, not merely with each other.
import { Packr, unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { digitsRows } from '../helpers/ort.js';

const packr = new Packr({ useRecords: false, moreTypes: true });
const ROW = digitsRows(1)[0]!;
/** The client's own x-request-id, sent with every HTTP request. */
const HDR = 'client-hdr-1';
const ABSENT = Symbol('absent');

/** The matrix. `jsonOnly`: not expressible in msgpack (its strings must be UTF-8). */
const IDS: { name: string; id: unknown; jsonOnly?: boolean }[] = [
  { name: 'plain ASCII', id: 'req-42' },
  { name: '256 ASCII', id: 'a'.repeat(256) },
  { name: '257 ASCII', id: 'a'.repeat(257) },
  { name: '256 × é (2 UTF-8 bytes)', id: 'é'.repeat(256) },
  { name: '257 × é', id: 'é'.repeat(257) },
  { name: '128 × 😀 (256 UTF-16 units)', id: '😀'.repeat(128) },
  { name: '129 × 😀 (258 UTF-16 units, 129 code points)', id: '😀'.repeat(129) },
  { name: '256 × 😀 (512 UTF-16 units)', id: '😀'.repeat(256) },
  { name: '257 × 😀', id: '😀'.repeat(257) },
  { name: 'lone surrogate', id: 'x\ud800y', jsonOnly: true },
  { name: 'CR/LF', id: 'a\r\nx-evil: 1' },
  { name: 'empty string', id: '' },
  { name: 'a number', id: 7 },
  { name: 'null', id: null },
  { name: 'an object', id: { a: 1 } },
  { name: 'absent', id: ABSENT },
];

type Kind = 'valid' | 'wrong shape' | 'undecodable';
const KINDS: Kind[] = ['valid', 'wrong shape', 'undecodable'];
const TRANSPORTS = ['http-json', 'http-msgpack', 'http-binary', 'ws-json', 'ws-msgpack'] as const;
type Transport = (typeof TRANSPORTS)[number];
/** What a client sees: `code` is 'OK' for an answer; `id` is the body's (HTTP errors carry none). */
interface Outcome {
  code: string;
  id?: unknown;
  header?: string | null;
}

const isPrintableAscii = (s: string) => /^[\x20-\x7e]{1,256}$/.test(s);

/** The rule, stated once: what `transport` must answer to a `kind` request carrying `id`. */
function want(id: unknown, kind: Kind, transport: Transport): Outcome {
  const usable = typeof id === 'string' && id !== '' && id.isWellFormed() && [...id].length <= 256 ? id : undefined;
  const deep = transport.endsWith('msgpack') ? 'SLUICE_ERR_MSGPACK_TOO_DEEP' : 'SLUICE_ERR_JSON_TOO_DEEP';
  if (transport.startsWith('ws')) {
    if (kind === 'undecodable') return { code: deep, id: usable };
    if (usable === undefined) return { code: 'SLUICE_ERR_WS_MESSAGE_INVALID' };
    return { code: kind === 'valid' ? 'OK' : 'SLUICE_ERR_INPUT_SHAPE', id: usable };
  }
  const headerOf = (s: string) => (isPrintableAscii(s) ? s : null);
  // A refusal is answered under the body's id when it has one (read again when the decoder refused the body).
  const refusedHeader = usable === undefined ? HDR : headerOf(usable);
  if (kind === 'undecodable') return { code: deep, header: refusedHeader };
  if (id !== ABSENT && usable === undefined) return { code: 'SLUICE_ERR_REQUEST_INVALID', header: HDR };
  const answerId = usable ?? HDR;
  if (kind === 'valid') return { code: 'OK', id: answerId, header: headerOf(answerId) };
  return { code: 'SLUICE_ERR_INPUT_SHAPE', header: refusedHeader };
}

/** The request object of `kind` with `id` (model_name too: frames need it, HTTP accepts it). */
function request(id: unknown, kind: Kind): { body: Record<string, unknown>; pixels: number[] } {
  const pixels = kind === 'wrong shape' ? ROW.slice(0, 63) : ROW;
  const body: Record<string, unknown> = {
    ...(id === ABSENT ? {} : { id }),
    model_name: 'digits',
    inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, pixels.length], data: pixels }],
  };
  // 20 levels of nesting: over the decoders' limit of 16, refused before validation.
  if (kind === 'undecodable') body.parameters = { deep: Array.from({ length: 20 }).reduce<unknown[]>((a) => [a], []) };
  return { body, pixels };
}

let t: TestGateway;
const sockets: Partial<Record<'json' | 'msgpack', WebSocket>> = {};

async function http(transport: Transport, id: unknown, kind: Kind): Promise<Outcome> {
  const { body, pixels } = request(id, kind);
  const headers: Record<string, string> = { 'x-request-id': HDR };
  let payload: Uint8Array | string;
  if (transport === 'http-json') {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  } else if (transport === 'http-msgpack') {
    headers['content-type'] = 'application/msgpack';
    payload = packr.pack(body);
  } else {
    // Binary extension: the tensor leaves the JSON header and follows it as little-endian FP32.
    const data = Buffer.from(Float32Array.from(pixels).buffer);
    const header = Buffer.from(JSON.stringify({ ...body, inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, pixels.length], parameters: { binary_data_size: data.length } }] }));
    headers['content-type'] = 'application/octet-stream';
    headers['inference-header-content-length'] = String(header.length);
    payload = Buffer.concat([header, data]);
  }
  const res = await fetch(`${t.url}/v2/models/digits/infer`, { method: 'POST', headers, body: payload });
  const bytes = Buffer.from(await res.arrayBuffer());
  // No id, however written, adds a header of its own.
  expect(res.headers.get('x-evil')).toBeNull();
  const answer = (res.headers.get('content-type') === 'application/msgpack' ? unpack(bytes) : JSON.parse(bytes.toString('utf8'))) as Record<string, unknown>;
  const code = res.status === 200 ? 'OK' : String(answer.code);
  return { code, id: answer.id, header: res.headers.get('x-request-id') };
}

/** One frame on the format's connection, and its answer (one frame in flight at a time). */
function ws(transport: Transport, id: unknown, kind: Kind): Promise<Outcome> {
  const binary = transport === 'ws-msgpack';
  const socket = sockets[binary ? 'msgpack' : 'json']!;
  const { body } = request(id, kind);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within 5 s (${transport})`)), 5000);
    socket.once('message', (data: Buffer, isBinary: boolean) => {
      clearTimeout(timer);
      const a = (isBinary ? unpack(data) : JSON.parse(data.toString('utf8'))) as Record<string, unknown>;
      resolve({ code: a.outputs !== undefined ? 'OK' : String(a.code), id: a.id });
    });
    socket.send(binary ? packr.pack(body) : JSON.stringify(body), { binary });
  });
}

beforeAll(async () => {
  t = await startTestGateway({ models: ['digits'] });
  for (const format of ['json', 'msgpack'] as const) {
    const socket = new WebSocket(`${t.url.replace('http', 'ws')}/v2/ws`);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    sockets[format] = socket;
  }
});
afterAll(async () => {
  for (const s of Object.values(sockets)) s?.close();
  await t?.stop();
});

describe('request ids: one rule on every transport', () => {
  it.each(IDS)('$name', async ({ id, jsonOnly }) => {
    const transports = TRANSPORTS.filter((tr) => !(jsonOnly && tr.endsWith('msgpack')));
    const got: Record<string, Outcome> = {};
    const expected: Record<string, Outcome> = {};
    for (const kind of KINDS) {
      for (const tr of transports) {
        const key = `${tr} ${kind}`;
        expected[key] = want(id, kind, tr);
        got[key] = await (tr.startsWith('ws') ? ws(tr, id, kind) : http(tr, id, kind));
      }
    }
    // An expected `id: undefined` means no id: a parsed frame cannot hold undefined, so only a
    // frame without an `id` key matches it.
    expect(got).toEqual(expected);
    // The sockets are still open and serving after every refusal.
    for (const s of Object.values(sockets)) expect(s!.readyState).toBe(WebSocket.OPEN);
  });
});
