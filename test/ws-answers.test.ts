// The /v2/ws answer path (src/transport/ws/answers.ts) against a stub socket: one cork per
// connection per turn, completion order, backpressure queueing and drain, the slow-reader close,
// and no socket access once a connection is closed.
import { describe, expect, it } from 'vitest';
import { AnswerQueue, CLOSE_POLICY, type AnswerSocket, type ConnAnswers } from '../src/transport/ws/answers.js';

class StubSocket implements AnswerSocket {
  /** What each cork sent, in order. */
  corks: string[][] = [];
  buffered = 0;
  ended: [number, string] | undefined;
  gone = false;
  private corked: string[] | undefined;

  cork(cb: () => void): void {
    this.touch();
    this.corked = [];
    cb();
    this.corks.push(this.corked);
    this.corked = undefined;
  }
  send(data: string | Uint8Array): number {
    this.touch();
    if (this.corked === undefined) throw new Error('send outside cork');
    this.corked.push(typeof data === 'string' ? data : `bin:${data.byteLength}`);
    return 1;
  }
  getBufferedAmount(): number {
    this.touch();
    return this.buffered;
  }
  end(code: number, reason: string): void {
    this.touch();
    this.ended = [code, reason];
  }
  /** uWS throws on a closed socket; so does the stub once `gone`. */
  private touch(): void {
    if (this.gone) throw new Error('Invalid access of closed uWS.WebSocket');
  }
}

function setup(limits = { maxBackpressureBytes: 100, maxPendingBytes: 250 }) {
  const turns: (() => void)[] = [];
  let slowClosed = 0;
  const queue = new AnswerQueue({ ...limits, onSlowReaderClosed: () => slowClosed++, schedule: (f) => turns.push(f) });
  const conn = (): [ConnAnswers, StubSocket] => {
    const c = AnswerQueue.newConn();
    const s = new StubSocket();
    c.socket = s;
    return [c, s];
  };
  const endTurn = (): void => turns.splice(0).forEach((f) => f());
  return { queue, conn, endTurn, turns, slowClosed: () => slowClosed };
}

const text = (s: string) => ({ data: s, binary: false });

describe('WebSocket answer queue', () => {
  it('sends the answers of one turn in one cork per connection, in completion order, with one flush scheduled', () => {
    const { queue, conn, endTurn, turns } = setup();
    const [a, sa] = conn();
    const [b, sb] = conn();
    queue.add(a, text('a1'));
    queue.add(b, text('b1'));
    queue.add(a, text('a2'));
    queue.add(a, { data: new Uint8Array(7), binary: true });
    expect(turns).toHaveLength(1);
    expect(sa.corks).toEqual([]); // nothing leaves before the turn ends
    endTurn();
    expect(sa.corks).toEqual([['a1', 'a2', 'bin:7']]);
    expect(sb.corks).toEqual([['b1']]);
    queue.add(b, text('b2'));
    expect(turns).toHaveLength(1);
    endTurn();
    expect(sb.corks).toEqual([['b1'], ['b2']]);
  });

  it('drops the answers of a connection closed before its flush without touching its socket', () => {
    const { queue, conn, endTurn } = setup();
    const [a, sa] = conn();
    const [b, sb] = conn();
    queue.add(a, text('a1'));
    queue.add(b, text('b1'));
    queue.close(a);
    sa.gone = true;
    queue.add(a, text('a2'));
    endTurn();
    expect(sa.corks).toEqual([]);
    expect(sb.corks).toEqual([['b1']]);
    queue.drain(a); // a late drain event is harmless too
  });

  it('queues behind backpressure, keeps order, and sends the queue on drain while there is room', () => {
    const { queue, conn, endTurn } = setup();
    const [a, sa] = conn();
    queue.add(a, text('x1'));
    endTurn();
    sa.buffered = 100; // at uWS's limit: a send now would be dropped by uWS
    queue.add(a, text('x2'));
    queue.add(a, text('x3'));
    endTurn();
    expect(sa.corks).toEqual([['x1'], []]);
    expect(a.pending.map((p) => p.data)).toEqual(['x2', 'x3']);
    expect(a.pendingBytes).toBe(4);
    sa.buffered = 0;
    queue.add(a, text('x4')); // behind the queue, even though the buffer has room now
    endTurn();
    expect(sa.corks.at(-1)).toEqual([]);
    queue.drain(a);
    expect(sa.corks.at(-1)).toEqual(['x2', 'x3', 'x4']);
    expect(a.pendingBytes).toBe(0);
  });

  it('ends a reader whose queue passes maxPendingBytes with 1008, once, and drops what follows', () => {
    const { queue, conn, endTurn, slowClosed } = setup();
    const [a, sa] = conn();
    sa.buffered = 1000;
    for (let i = 0; i < 3; i++) queue.add(a, text('y'.repeat(100)));
    endTurn();
    expect(sa.ended).toEqual([CLOSE_POLICY, expect.stringContaining('too slow')]);
    expect(slowClosed()).toBe(1);
    expect(a.socket).toBeUndefined();
    expect(a.pending).toEqual([]);
    sa.gone = true;
    queue.add(a, text('late'));
    endTurn();
    expect(slowClosed()).toBe(1);
  });
});
