// WebSocket load generator for sluice's /v2/ws: msgpack binary frames, closed loop, pipelined.
// It runs as its own child process (this file is both the module and the child's entry), so
// its CPU is not the runner's and can be reported beside the server's.
//
// Plan: `connections` sockets × `pipeline` slots = requests in flight. Each slot owns 16
// prebuilt frames (real rows as Float32Array, packed once with moreTypes so the data travels as
// a msgpackr typed array) whose id is the slot ("q<slot>"); a slot resends as soon as its answer
// arrives, so ids match answers even though sluice answers in completion order. The id is read
// from the answer's bytes (key "id" as fixstr) instead of a full unpack: the client's own cost
// per answer stays small. Latency is measured per request from send to answer.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Packr, unpack } from 'msgpackr';
import WebSocket from 'ws';
import { benchModel, loadRows, rowBatches } from './data.js';
import { percentileSorted } from './stats.js';

export interface WsLoadOptions {
  /** ws://127.0.0.1:<port>/v2/ws */
  url: string;
  model: string;
  rowsPerRequest: number;
  connections: number;
  /** Requests in flight per connection. */
  pipeline: number;
  durationS: number;
}

export interface WsLoadRun {
  generator: 'ws-node';
  connections: number;
  pipeline: number;
  durationS: number;
  /** Answers received within the timed window (errors included). */
  requests: number;
  reqPerSec: number;
  p50Us: number;
  p99Us: number;
  /** Error frames, plus requests unanswered when a socket closed. */
  errors: number;
  firstError?: string;
  /** CPU seconds the generator process used in the window ÷ window seconds (1 = one core). */
  clientCores: number;
}

const SELF = fileURLToPath(import.meta.url);

/** Runs one timed WebSocket load in a child process and returns its figures. */
export function runWsLoad(opts: WsLoadOptions): Promise<WsLoadRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SELF, JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (opts.durationS + 30) * 1000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`ws-load exited ${code}:\n${err.slice(-2000)}${out.slice(-500)}`));
      else resolve(JSON.parse(last) as WsLoadRun);
    });
  });
}

// ---- child process ---------------------------------------------------------------------

const ID_KEY = Buffer.from([0xa2, 0x69, 0x64]); // fixstr(2) "id"
const MODEL_NAME_KEY = Buffer.from([0xaa, ...Buffer.from('model_name')]); // first key of a success answer

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

async function child(opts: WsLoadOptions): Promise<WsLoadRun> {
  const model = benchModel(opts.model);
  const rows = loadRows(model);
  const slots = opts.connections * opts.pipeline;
  const packr = new Packr({ useRecords: false, moreTypes: true });
  const perSlot = 16;
  const batches = rowBatches(rows, model.width, opts.rowsPerRequest, slots * perSlot);
  // Buffer.from copies: msgpackr may reuse its output buffer for the next pack.
  const frames: Buffer[][] = Array.from({ length: slots }, (_, s) =>
    Array.from({ length: perSlot }, (_, k) =>
      Buffer.from(
        packr.pack({
          id: `q${s}`,
          model_name: model.name,
          inputs: [{ name: model.inputName, datatype: 'FP32', shape: [opts.rowsPerRequest, model.width], data: batches[s * perSlot + k]! }],
        }),
      ),
    ),
  );
  const sockets = await Promise.all(
    Array.from({ length: opts.connections }, () => new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(opts.url, { perMessageDeflate: false });
      ws.binaryType = 'nodebuffer';
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    })),
  );
  const sentAt = new Float64Array(slots);
  const nextFrame = new Uint32Array(slots);
  const lat: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let outstanding = 0;
  let sending = true;
  let tEnd = Infinity;
  let onIdle: (() => void) | undefined;
  const send = (s: number): void => {
    const ws = sockets[Math.floor(s / opts.pipeline)]!;
    const k = nextFrame[s]!;
    nextFrame[s] = (k + 1) % perSlot;
    sentAt[s] = performance.now();
    outstanding++;
    ws.send(frames[s]![k]!);
  };
  for (const ws of sockets) {
    ws.on('message', (data: Buffer) => {
      const now = performance.now();
      outstanding--;
      const s = slotOf(data);
      if (data.compare(MODEL_NAME_KEY, 0, MODEL_NAME_KEY.length, 1, 1 + MODEL_NAME_KEY.length) !== 0 || s < 0) {
        errors++;
        firstError ??= JSON.stringify(unpack(data)).slice(0, 300);
      }
      if (s < 0 || s >= slots) return;
      if (now <= tEnd) lat.push((now - sentAt[s]!) * 1000);
      if (sending) send(s);
      else if (outstanding === 0) onIdle?.();
    });
    ws.on('close', () => {
      if (sending) errors += opts.pipeline;
    });
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  tEnd = t0 + opts.durationS * 1000;
  for (let s = 0; s < slots; s++) send(s);
  await new Promise((r) => setTimeout(r, opts.durationS * 1000));
  sending = false;
  const cpu1 = process.cpuUsage(cpu0);
  const window = (performance.now() - t0) / 1000;
  // Let the last answers arrive (bounded), then close.
  await new Promise<void>((r) => {
    onIdle = r;
    if (outstanding === 0) r();
    setTimeout(r, 2000);
  });
  for (const ws of sockets) ws.terminate();
  const sorted = Float64Array.from(lat).sort();
  return {
    generator: 'ws-node',
    connections: opts.connections,
    pipeline: opts.pipeline,
    durationS: window,
    requests: lat.length,
    reqPerSec: lat.length / window,
    p50Us: percentileSorted(sorted, 50),
    p99Us: percentileSorted(sorted, 99),
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
    clientCores: (cpu1.user + cpu1.system) / 1e6 / window,
  };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === SELF) {
  child(JSON.parse(process.argv[2]!) as WsLoadOptions).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
