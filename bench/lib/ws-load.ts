// WebSocket load generator for sluice's /v2/ws: msgpack binary frames, closed loop, pipelined.
// It runs as its own child process (bench/lib/child-run.ts), so its CPU is not the runner's and
// is reported beside the server's.
//
// Plan: `connections` sockets × `pipeline` slots = requests in flight. Each slot owns 16
// prebuilt msgpack bodies (real rows as Float32Array, packed once with moreTypes so the data
// travels as a msgpackr typed array) whose id is the slot ("q<slot>"); a slot resends as soon as
// its answer arrives, so ids match answers even though sluice answers in completion order. The
// id is read from the answer's bytes (key "id" as fixstr) instead of a full unpack, and an
// answer whose first key is not "model_name" is an error frame (counted; the first is unpacked
// for the report). Latency is per request, from the write to the answer's arrival.
//
// Two clients, one accounting (SlotLoop):
//  - 'raw' (the default, the lean one): plain `net` sockets that do the RFC 6455 handshake
//    themselves (ws-wire.ts), send frames masked once at build time, and answer every chunk of
//    answers with ONE socket write of the frames it frees (as wrk writes its pipelined requests),
//    reading only frame lengths and ids. Its CPU per request is of wrk's order, not a library's.
//  - 'ws': the `ws` package, one send() per request, every answer a 'message' event: what a
//    typical Node client costs; kept as a cross-check of the raw client's figures.
import { fileURLToPath } from 'node:url';
import { Packr, unpack } from 'msgpackr';
import WebSocket from 'ws';
import { childEntry, runChild } from './child-run.js';
import { benchModel, loadRows, rowBatches } from './data.js';
import type { LoadRun } from './load.js';
import { percentileSorted } from './stats.js';
import { FrameReader, maskedFrame, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, openWebSocket } from './ws-wire.js';

export type WsClientKind = 'raw' | 'ws';

export interface WsLoadOptions {
  /** ws://127.0.0.1:<port>/v2/ws */
  url: string;
  client: WsClientKind;
  model: string;
  rowsPerRequest: number;
  connections: number;
  /** Requests in flight per connection. */
  pipeline: number;
  durationS: number;
}

export const WS_GENERATOR: Record<WsClientKind, string> = {
  raw: 'ws-load raw (Node net, own process)',
  ws: 'ws-load ws package (Node, own process)',
};

/**
 * An HTTP load run's figures (LoadRun), where `requests` counts answers received within the
 * timed window (errors included) and `errors` counts error frames plus requests unanswered
 * when a socket closed.
 */
export interface WsLoadRun extends Omit<LoadRun, 'generator'> {
  generator: string;
  pipeline: number;
  firstError?: string;
  /** CPU seconds the generator process used in the window ÷ window seconds (1 = one core). */
  clientCores: number;
}

const SELF = fileURLToPath(import.meta.url);

/** Runs one timed WebSocket load in a child process and returns its figures. */
export function runWsLoad(opts: WsLoadOptions): Promise<WsLoadRun> {
  return runChild<WsLoadRun>(SELF, opts, (opts.durationS + 30) * 1000);
}

// ---- child process ---------------------------------------------------------------------

const ID_KEY = Buffer.from([0xa2, 0x69, 0x64]); // fixstr(2) "id"
const MODEL_NAME_KEY = Buffer.from([0xaa, ...Buffer.from('model_name')]); // first key of a success answer
const BODIES_PER_SLOT = 16;

/** The slot number of an answer ("q<slot>" after the "id" key), or -1. */
function slotOf(b: Buffer): number {
  const at = b.indexOf(ID_KEY);
  if (at < 0) return -1;
  let p = at + 3;
  let len: number;
  if ((b[p]! & 0xe0) === 0xa0) len = b[p++]! & 0x1f;
  else if (b[p] === 0xd9) {
    len = b[p + 1]!;
    p += 2;
  } else return -1;
  if (b[p] !== 0x71 /* q */) return -1;
  let n = 0;
  for (let i = p + 1; i < p + len; i++) n = n * 10 + (b[i]! - 48);
  return n;
}

const isAnswer = (b: Buffer): boolean => b.compare(MODEL_NAME_KEY, 0, MODEL_NAME_KEY.length, 1, 1 + MODEL_NAME_KEY.length) === 0;

function describe(b: Buffer): string {
  try {
    return JSON.stringify(unpack(b)).slice(0, 300);
  } catch {
    return `undecodable answer of ${b.length} bytes`;
  }
}

/** Closed-loop bookkeeping: one request in flight per slot, latencies of the timed window. */
class SlotLoop {
  readonly sentAt: Float64Array;
  private lat = new Float64Array(1 << 16);
  latCount = 0;
  errors = 0;
  firstError: string | undefined;
  outstanding = 0;
  sending = true;
  tEnd = Infinity;
  onIdle: (() => void) | undefined;

  constructor(readonly slots: number) {
    this.sentAt = new Float64Array(slots);
  }

  sent(s: number, now: number): void {
    this.sentAt[s] = now;
    this.outstanding++;
  }

  /**
   * An answer for slot `s` (-1: unreadable id) arrived at `now`; `error` describes it when it is
   * an error frame. Returns true when the slot should send again.
   */
  answered(s: number, now: number, error: (() => string) | undefined): boolean {
    this.outstanding--;
    if (error !== undefined) {
      this.errors++;
      this.firstError ??= error();
    }
    if (s < 0 || s >= this.slots) return false;
    if (now <= this.tEnd) {
      if (this.latCount === this.lat.length) {
        const grown = new Float64Array(this.lat.length * 2);
        grown.set(this.lat);
        this.lat = grown;
      }
      this.lat[this.latCount++] = (now - this.sentAt[s]!) * 1000;
    }
    if (this.sending) return true;
    if (this.outstanding === 0) this.onIdle?.();
    return false;
  }

  /** Requests lost with a socket that closed while the load ran. */
  lost(n: number): void {
    if (!this.sending) return;
    this.errors += n;
    this.firstError ??= 'a socket closed during the run';
  }

  sortedLatencies(): Float64Array {
    return this.lat.slice(0, this.latCount).sort();
  }
}

interface Client {
  /** Sends every slot's first request. */
  start(): void;
  close(): void;
}

/** `bodies[slot][k]`: the msgpack request bodies, built once. */
function buildBodies(opts: WsLoadOptions, slots: number): Buffer[][] {
  const model = benchModel(opts.model);
  const rows = loadRows(model);
  const packr = new Packr({ useRecords: false, moreTypes: true });
  const batches = rowBatches(rows, model.width, opts.rowsPerRequest, slots * BODIES_PER_SLOT);
  // Buffer.from copies: msgpackr may reuse its output buffer for the next pack.
  return Array.from({ length: slots }, (_, s) =>
    Array.from({ length: BODIES_PER_SLOT }, (_, k) =>
      Buffer.from(
        packr.pack({
          id: `q${s}`,
          model_name: model.name,
          inputs: [{ name: model.inputName, datatype: 'FP32', shape: [opts.rowsPerRequest, model.width], data: batches[s * BODIES_PER_SLOT + k]! }],
        }),
      ),
    ),
  );
}

async function rawClient(opts: WsLoadOptions, bodies: Buffer[][], loop: SlotLoop): Promise<Client> {
  const frames = bodies.map((perSlot) => perSlot.map((b) => maskedFrame(b)));
  const nextBody = new Uint32Array(loop.slots);
  const frameFor = (s: number): Buffer => {
    const k = nextBody[s]!;
    nextBody[s] = (k + 1) % BODIES_PER_SLOT;
    return frames[s]![k]!;
  };
  const url = new URL(opts.url);
  const sockets = await Promise.all(
    Array.from({ length: opts.connections }, async (_, c) => {
      const { socket, early } = await openWebSocket(Number(url.port), url.pathname);
      const freed: number[] = [];
      let now = 0;
      const reader = new FrameReader((opcode, payload) => {
        if (opcode === OP_BINARY) {
          const s = slotOf(payload);
          if (loop.answered(s, now, isAnswer(payload) && s >= 0 ? undefined : () => describe(payload))) freed.push(s);
        } else if (opcode === OP_PING) socket.write(maskedFrame(payload, OP_PONG));
        else if (opcode === OP_CLOSE) socket.destroy();
        else if (opcode !== OP_PONG) loop.answered(-1, now, () => `unexpected frame opcode ${opcode}`);
      });
      // One write for all the requests a chunk of answers freed (several frames coalesced).
      const sendSlots = (slots: readonly number[]): void => {
        const t = performance.now();
        const out: Buffer[] = [];
        for (const s of slots) {
          loop.sent(s, t);
          out.push(frameFor(s));
        }
        socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
      };
      const onData = (chunk: Buffer): void => {
        now = performance.now();
        reader.push(chunk);
        if (freed.length > 0) {
          sendSlots(freed);
          freed.length = 0;
        }
      };
      socket.on('data', onData);
      socket.on('error', () => undefined);
      socket.once('close', () => loop.lost(opts.pipeline));
      if (early.length > 0) onData(early);
      const mine = Array.from({ length: opts.pipeline }, (_, i) => c * opts.pipeline + i);
      return { socket, start: () => sendSlots(mine) };
    }),
  );
  return {
    start: () => sockets.forEach((s) => s.start()),
    close: () => sockets.forEach((s) => s.socket.destroy()),
  };
}

async function wsClient(opts: WsLoadOptions, bodies: Buffer[][], loop: SlotLoop): Promise<Client> {
  const sockets = await Promise.all(
    Array.from({ length: opts.connections }, () => new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(opts.url, { perMessageDeflate: false });
      ws.binaryType = 'nodebuffer';
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    })),
  );
  const nextBody = new Uint32Array(loop.slots);
  const send = (s: number): void => {
    const k = nextBody[s]!;
    nextBody[s] = (k + 1) % BODIES_PER_SLOT;
    loop.sent(s, performance.now());
    sockets[Math.floor(s / opts.pipeline)]!.send(bodies[s]![k]!);
  };
  for (const ws of sockets) {
    ws.on('message', (data: Buffer) => {
      const s = slotOf(data);
      if (loop.answered(s, performance.now(), isAnswer(data) && s >= 0 ? undefined : () => describe(data))) send(s);
    });
    ws.on('close', () => loop.lost(opts.pipeline));
  }
  return {
    start: () => {
      for (let s = 0; s < loop.slots; s++) send(s);
    },
    close: () => sockets.forEach((ws) => ws.terminate()),
  };
}

async function child(opts: WsLoadOptions): Promise<WsLoadRun> {
  const slots = opts.connections * opts.pipeline;
  const bodies = buildBodies(opts, slots);
  const loop = new SlotLoop(slots);
  const client = await (opts.client === 'raw' ? rawClient : wsClient)(opts, bodies, loop);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  loop.tEnd = t0 + opts.durationS * 1000;
  client.start();
  await new Promise((r) => setTimeout(r, opts.durationS * 1000));
  loop.sending = false;
  const cpu1 = process.cpuUsage(cpu0);
  const window = (performance.now() - t0) / 1000;
  // Let the last answers arrive (bounded), then close.
  await new Promise<void>((r) => {
    loop.onIdle = r;
    if (loop.outstanding === 0) r();
    setTimeout(r, 2000);
  });
  client.close();
  const sorted = loop.sortedLatencies();
  return {
    generator: WS_GENERATOR[opts.client],
    connections: opts.connections,
    pipeline: opts.pipeline,
    durationS: window,
    requests: loop.latCount,
    reqPerSec: loop.latCount / window,
    p50Us: percentileSorted(sorted, 50),
    p99Us: percentileSorted(sorted, 99),
    errors: loop.errors,
    ...(loop.firstError !== undefined ? { firstError: loop.firstError } : {}),
    clientCores: (cpu1.user + cpu1.system) / 1e6 / window,
  };
}

childEntry(SELF, child);
