// Open-loop HTTP load: requests are sent on a fixed schedule (request i at t0 + i/rate) whether
// or not earlier ones were answered — what overload looks like to a server, unlike wrk and
// autocannon which wait for an answer before sending again (closed loop). Runs as its own child
// process (this file is the module and the child's entry), over a pool of keep-alive sockets
// written with prebuilt request bytes and a minimal response reader (status, Content-Length).
//
// Latency is measured from the *scheduled* time, so a request that waited for a free socket in
// the generator counts that wait (no coordinated omission); `lateP99Us` says how far behind
// schedule the generator itself sent, and `maxBacklog` how many requests ever waited for a socket.
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { childEntry, runChild } from './child-run.js';
import { benchModel, inferBodies, loadRows } from './data.js';
import { percentileSorted } from './stats.js';

export interface OpenLoopOptions {
  port: number;
  path: string;
  /** Extra request headers, e.g. { 'x-timeout-ms': '200' }. */
  headers: Record<string, string>;
  model: string;
  rowsPerRequest: number;
  /** Requests per second to send. */
  rate: number;
  durationS: number;
  /** Keep-alive sockets opened up front (at most one request in flight on each). */
  connections: number;
  /** After the schedule ends, how long to wait for the last answers. */
  drainMs: number;
}

export interface StatusFigures {
  count: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  /** 429/503 answers without a Retry-After header. */
  missingRetryAfter: number;
}

export interface OpenLoopRun {
  generator: 'open-loop (Node, own process)';
  rate: number;
  durationS: number;
  connections: number;
  sent: number;
  /** Sent ÷ schedule length: equals `rate` unless the generator fell behind. */
  sentPerSec: number;
  byStatus: Record<string, StatusFigures>;
  /** Requests sent but not answered within the drain time, plus those lost to closed sockets. */
  unanswered: number;
  socketErrors: number;
  lateP99Us: number;
  maxBacklog: number;
  clientCores: number;
}

const SELF = fileURLToPath(import.meta.url);

export function runOpenLoop(opts: OpenLoopOptions): Promise<OpenLoopRun> {
  return runChild<OpenLoopRun>(SELF, opts, opts.durationS * 1000 + opts.drainMs + 30_000);
}

// ---- child process ---------------------------------------------------------------------

interface Conn {
  socket: net.Socket;
  /** Scheduled time of the request in flight (ms, performance.now), or -1 when idle. */
  due: number;
  buf: Buffer;
}

const CRLF2 = Buffer.from('\r\n\r\n');

async function child(o: OpenLoopOptions): Promise<OpenLoopRun> {
  const model = benchModel(o.model);
  const extra = Object.entries(o.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const requests = inferBodies(model, loadRows(model), o.rowsPerRequest, 64).map((body) =>
    Buffer.from(
      `POST ${o.path} HTTP/1.1\r\nHost: 127.0.0.1:${o.port}\r\nContent-Type: application/json\r\n${extra}` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    ),
  );
  const lat = new Map<string, number[]>();
  const noRetryAfter = new Map<string, number>();
  const idle: Conn[] = [];
  const backlog: number[] = []; // scheduled times waiting for a socket
  const late: number[] = [];
  let sent = 0;
  let answered = 0;
  let socketErrors = 0;
  let maxBacklog = 0;
  let next = 0;
  let lost = 0;

  const dispatch = (c: Conn, due: number): void => {
    c.due = due;
    late.push((performance.now() - due) * 1000);
    c.socket.write(requests[sent++ % requests.length]!);
  };
  const onFree = (c: Conn): void => {
    c.due = -1;
    const due = backlog.shift();
    if (due !== undefined) dispatch(c, due);
    else idle.push(c);
  };
  const onData = (c: Conn, chunk: Buffer): void => {
    c.buf = c.buf.length === 0 ? chunk : Buffer.concat([c.buf, chunk]);
    const end = c.buf.indexOf(CRLF2);
    if (end < 0) return;
    const head = c.buf.subarray(0, end).toString('latin1');
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const total = end + 4 + Number(m?.[1] ?? 0);
    if (c.buf.length < total) return;
    const status = head.slice(9, 12);
    c.buf = c.buf.subarray(total);
    (lat.get(status) ?? lat.set(status, []).get(status)!).push((performance.now() - c.due) * 1000);
    if ((status === '429' || status === '503') && !/\r\nretry-after:/i.test(head)) noRetryAfter.set(status, (noRetryAfter.get(status) ?? 0) + 1);
    answered++;
    onFree(c);
  };
  const open = (): Promise<Conn> =>
    new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port: o.port, noDelay: true });
      const c: Conn = { socket, due: -1, buf: Buffer.alloc(0) };
      socket.once('connect', () => resolve(c));
      socket.once('error', reject);
      socket.on('data', (d: Buffer) => onData(c, d));
      socket.once('close', () => {
        socketErrors++;
        const i = idle.indexOf(c);
        if (i >= 0) idle.splice(i, 1);
        if (c.due >= 0) lost++;
      });
    });
  idle.push(...(await Promise.all(Array.from({ length: o.connections }, open))));
  for (const c of idle) c.socket.on('error', () => undefined);

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const total = Math.round(o.rate * o.durationS);
  await new Promise<void>((done) => {
    const tick = (): void => {
      const now = performance.now();
      while (next < total && t0 + (next * 1000) / o.rate <= now) {
        const due = t0 + (next++ * 1000) / o.rate;
        const c = idle.pop();
        if (c) dispatch(c, due);
        else {
          backlog.push(due);
          maxBacklog = Math.max(maxBacklog, backlog.length);
        }
      }
      if (next < total) setTimeout(tick, 1);
      else done();
    };
    tick();
  });
  const scheduleS = (performance.now() - t0) / 1000;
  const drainUntil = performance.now() + o.drainMs;
  while (answered + lost < total && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 5));
  const cpu = process.cpuUsage(cpu0);
  const byStatus: Record<string, StatusFigures> = {};
  for (const [status, values] of lat) {
    const sorted = Float64Array.from(values).sort();
    byStatus[status] = {
      count: values.length,
      p50Us: percentileSorted(sorted, 50),
      p99Us: percentileSorted(sorted, 99),
      maxUs: sorted[sorted.length - 1] ?? NaN,
      missingRetryAfter: noRetryAfter.get(status) ?? 0,
    };
  }
  const errorsBeforeClose = socketErrors;
  for (const c of [...idle]) c.socket.destroy();
  return {
    generator: 'open-loop (Node, own process)',
    rate: o.rate,
    durationS: scheduleS,
    connections: o.connections,
    sent,
    sentPerSec: sent / scheduleS,
    byStatus,
    unanswered: total - answered,
    socketErrors: errorsBeforeClose,
    lateP99Us: percentileSorted(Float64Array.from(late).sort(), 99),
    maxBacklog,
    clientCores: (cpu.user + cpu.system) / 1e6 / ((performance.now() - t0) / 1000),
  };
}

childEntry(SELF, child);
