// The way back of /v2/ws: a connection's finished answers, written in completion order.
//
// Contract: `add` files an answer; it leaves in the same event-loop turn's flush (scheduled once
// per turn, setImmediate by default), which corks each connection once and sends everything its
// outbox holds. While uWS's own buffer holds `maxBackpressureBytes` or more (uWS would drop a
// message sent past its limit), answers wait, in order, in a pending queue that `drain` empties
// as the buffer empties; when that queue passes `maxPendingBytes` the connection is ended with
// 1008 and its answers dropped (STYLE habit 3: bounded, close-on-overflow, metric via
// `onSlowReaderClosed`). A closed connection's socket is never touched again (uWS throws).
//
// Perf: corking per turn, not per answer, means the answers of a batch (they complete in the same
// turn) leave each socket in one write(2) instead of one each; a syscall per answer was the
// largest single cost of the WebSocket path. Cost: an answer waits for the end of the turn it
// completed in (microseconds), and an outbox holds at most a connection's in-flight cap of
// answers, for that one turn, before the pending-queue accounting sees them.

/** The part of a uWS WebSocket the answers need (tests stub it). */
export interface AnswerSocket {
  cork(cb: () => void): unknown;
  send(data: string | Uint8Array, isBinary: boolean): number;
  getBufferedAmount(): number;
  end(code: number, reason: string): void;
}

export interface Answer {
  data: string | Uint8Array;
  binary: boolean;
}

/** One connection's answer state; create with `AnswerQueue.newConn`. */
export interface ConnAnswers {
  /** Set by the owner when the connection opens; undefined before that and once closed. */
  socket: AnswerSocket | undefined;
  /** Answers finished this turn, in completion order. */
  outbox: Answer[];
  /** On this turn's flush list. */
  queued: boolean;
  /** Answers waiting for uWS's buffer to drain below `maxBackpressureBytes`. */
  pending: Answer[];
  pendingBytes: number;
}

export interface AnswerQueueOptions {
  maxBackpressureBytes: number;
  maxPendingBytes: number;
  /** A connection closed because it did not read its answers. */
  onSlowReaderClosed?(): void;
  /** Runs `flush` after the current turn; default setImmediate. */
  schedule?(flush: () => void): void;
}

export const CLOSE_POLICY = 1008;

export class AnswerQueue {
  private queued: ConnAnswers[] = [];
  private readonly schedule: (flush: () => void) => void;
  private readonly flushAll = (): void => {
    const conns = this.queued;
    this.queued = [];
    for (const conn of conns) {
      conn.queued = false;
      const socket = conn.socket;
      if (socket === undefined) continue;
      const answers = conn.outbox;
      conn.outbox = [];
      socket.cork(() => {
        for (const a of answers) this.send(socket, conn, a);
      });
    }
  };

  constructor(private readonly opts: AnswerQueueOptions) {
    this.schedule = opts.schedule ?? setImmediate;
  }

  static newConn(): ConnAnswers {
    return { socket: undefined, outbox: [], queued: false, pending: [], pendingBytes: 0 };
  }

  /** Files an answer for this turn's flush; dropped if the connection is not open. */
  add(conn: ConnAnswers, answer: Answer): void {
    if (conn.socket === undefined) return;
    conn.outbox.push(answer);
    if (conn.queued) return;
    conn.queued = true;
    if (this.queued.push(conn) === 1) this.schedule(this.flushAll);
  }

  /** uWS's buffer drained: sends pending answers while it has room. */
  drain(conn: ConnAnswers): void {
    const socket = conn.socket;
    if (socket === undefined) return;
    socket.cork(() => {
      while (conn.pending.length > 0 && socket.getBufferedAmount() < this.opts.maxBackpressureBytes) {
        const next = conn.pending.shift()!;
        conn.pendingBytes -= byteLength(next.data);
        socket.send(next.data, next.binary);
      }
    });
  }

  /** The connection closed: drops its answers; its socket is not used again. */
  close(conn: ConnAnswers): void {
    conn.socket = undefined;
    conn.outbox = [];
    conn.pending = [];
    conn.pendingBytes = 0;
  }

  /** Sends now, or queues behind earlier answers while uWS's buffer is full. Caller corks. */
  private send(socket: AnswerSocket, conn: ConnAnswers, answer: Answer): void {
    if (conn.socket === undefined) return;
    if (conn.pending.length === 0 && socket.getBufferedAmount() < this.opts.maxBackpressureBytes) {
      socket.send(answer.data, answer.binary);
      return;
    }
    conn.pending.push(answer);
    conn.pendingBytes += byteLength(answer.data);
    if (conn.pendingBytes > this.opts.maxPendingBytes) {
      this.close(conn);
      this.opts.onSlowReaderClosed?.();
      socket.end(CLOSE_POLICY, 'reader too slow: answers over the buffer limit');
    }
  }
}

function byteLength(data: string | Uint8Array): number {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}
