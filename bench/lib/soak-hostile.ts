// The hostile side of `npm run soak`: two loops that send the seeded hostile corpus
// (hostile-corpus.ts) to digits, one request at a time, until a deadline — one over HTTP, one
// over a WebSocket in JSON text frames. Each tallies the answers (HTTP status; WS error code,
// or OK) and sends `clientId` as x-client-id, so the soak can find their prediction-log lines.
import { isUtf8 } from 'node:buffer';
import WebSocket from 'ws';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js';
import { hostileHeaders, type HostileCase } from './hostile-corpus.js';

export interface HostileTally {
  /** Answers by HTTP status (WS: the status of the frame's error code; 200 for an answer). */
  byStatus: Map<number, number>;
  answered: number;
}

export const newTally = (): HostileTally => ({ byStatus: new Map(), answered: 0 });

const count = (t: HostileTally, status: number): void => {
  t.byStatus.set(status, (t.byStatus.get(status) ?? 0) + 1);
  t.answered++;
};

export async function hostileHttp(origin: string, corpus: readonly HostileCase[], until: number, clientId: string, tally: HostileTally): Promise<void> {
  for (let i = 0; Date.now() < until; i++) {
    const c = corpus[i % corpus.length]!;
    const res = await fetch(`${origin}/v2/models/digits/infer`, {
      method: 'POST',
      headers: { ...hostileHeaders(c), 'x-client-id': clientId },
      body: c.body,
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    count(tally, res.status);
  }
}

/** Cases that can be a text frame: UTF-8 JSON objects (a frame that is not UTF-8 fails the connection; test/reliability covers that). */
export function wsFrames(corpus: readonly HostileCase[]): Buffer[] {
  return corpus
    .filter((c) => c.format === 'json' && isUtf8(c.body) && Buffer.from(c.body).toString('utf8').startsWith('{'))
    .map((c) => Buffer.concat([Buffer.from('{"model_name":"digits",'), Buffer.from(c.body).subarray(1)]));
}

export async function hostileWs(origin: string, frames: readonly Buffer[], until: number, clientId: string, tally: HostileTally): Promise<void> {
  const ws = new WebSocket(`${origin.replace('http', 'ws')}/v2/ws`, { headers: { 'x-client-id': clientId } });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  for (let i = 0; Date.now() < until; i++) {
    const frame = frames[i % frames.length]!;
    const answer = await new Promise<{ code?: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no WebSocket answer to frame ${i % frames.length}`)), 10_000);
      ws.once('message', (d: Buffer) => {
        clearTimeout(timer);
        resolve(JSON.parse(d.toString('utf8')) as { code?: string });
      });
      ws.send(frame, { binary: false });
    });
    count(tally, answer.code === undefined ? 200 : ((ERROR_CODES[answer.code as ErrorCode] as { status: number } | undefined)?.status ?? 599));
  }
  ws.close();
}

export const fiveXx = (t: HostileTally): number => [...t.byStatus].filter(([s]) => s >= 500).reduce((a, [, n]) => a + n, 0);
