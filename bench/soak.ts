// `npm run soak [-- --duration-s 600 --slice-s 30]`: sluice under steady load and hostile input for
// a long while (issue 15). Each slice runs the load generator on digits at 32 connections while
// two loops send the hostile corpus (bench/lib/hostile-corpus.ts) over HTTP and over a WebSocket;
// after each slice the server's RSS is read. Fails (exit 1) on any 5xx or dropped connection from
// the load, any hostile case answered 5xx, a server that died, or RSS that kept growing (the last
// slice more than 1.5x the second one, plus 64 MiB).
import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { hostileCorpus, hostileHeaders, type HostileCase } from './lib/hostile-corpus.js';
import { benchModel, inferBodies, loadRows } from './lib/data.js';
import { pickGenerator, runLoad } from './lib/load.js';
import { privateRepository, removeRepository, startSluice } from './lib/servers.js';

const { values } = parseArgs({ options: { 'duration-s': { type: 'string', default: '600' }, 'slice-s': { type: 'string', default: '30' } } });
const durationS = Number(values['duration-s']);
const sliceS = Number(values['slice-s']);
if (!(durationS > 0 && sliceS > 0)) throw new Error('--duration-s and --slice-s must be positive numbers');

const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

async function hostileHttp(origin: string, corpus: HostileCase[], until: number, tally: Map<number, number>): Promise<void> {
  for (let i = 0; Date.now() < until; i++) {
    const c = corpus[i % corpus.length]!;
    const headers = hostileHeaders(c);
    const res = await fetch(`${origin}/v2/models/digits/infer`, { method: 'POST', headers, body: c.body, signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    tally.set(res.status, (tally.get(res.status) ?? 0) + 1);
  }
}

async function hostileWs(origin: string, corpus: HostileCase[], until: number, tally: Map<string, number>): Promise<void> {
  const ws = new WebSocket(`${origin.replace('http', 'ws')}/v2/ws`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  // Text frames must be UTF-8 (a frame that is not fails the connection: test/reliability covers it).
  const frames = corpus.filter((c) => c.format === 'json' && isUtf8(c.body) && Buffer.from(c.body).toString('utf8').startsWith('{'));
  for (let i = 0; Date.now() < until; i++) {
    const c = frames[i % frames.length]!;
    const data = Buffer.concat([Buffer.from('{"model_name":"digits",'), Buffer.from(c.body).subarray(1)]);
    const answer = await new Promise<{ code?: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no WebSocket answer to ${c.name}`)), 10_000);
      ws.once('message', (d: Buffer) => {
        clearTimeout(timer);
        resolve(JSON.parse(d.toString('utf8')) as { code?: string });
      });
      ws.send(data, { binary: false });
    });
    const key = answer.code ?? 'OK';
    tally.set(key, (tally.get(key) ?? 0) + 1);
  }
  ws.close();
}

const model = benchModel('digits');
const bodies = inferBodies(model, loadRows(model), 1);
const corpus = hostileCorpus(15, 1500);
const generator = pickGenerator();
const repo = privateRepository(['digits']);
const server = await startSluice(repo);
const rows: string[] = [];
let failed = false;
const rss: number[] = [];
try {
  console.log(`soak: ${durationS} s in ${sliceS} s slices, ${generator} at 32 connections + hostile HTTP and WebSocket`);
  for (let elapsed = 0; elapsed < durationS; elapsed += sliceS) {
    const until = Date.now() + sliceS * 1000;
    const http = new Map<number, number>();
    const ws = new Map<string, number>();
    const [load] = await Promise.all([
      runLoad(generator, { url: `${server.origin}/v2/models/digits/infer`, bodies, connections: 32, durationS: sliceS }),
      hostileHttp(server.origin, corpus, until, http),
      hostileWs(server.origin, corpus, until, ws),
    ]);
    rss.push(rssMiB(server.pid));
    const fivexx = [...http].filter(([s]) => s >= 500).reduce((a, [, n]) => a + n, 0);
    const line =
      `${String(elapsed + sliceS).padStart(5)} s  load ${Math.round(load.reqPerSec)} req/s, ${load.errors} errors  ` +
      `hostile HTTP ${[...http.values()].reduce((a, n) => a + n, 0)} (${fivexx} 5xx)  WS ${[...ws.values()].reduce((a, n) => a + n, 0)}  RSS ${rss.at(-1)!.toFixed(0)} MiB`;
    console.log(line);
    rows.push(line);
    if (load.errors > 0 || fivexx > 0) failed = true;
  }
  const growth = rss.length >= 3 ? rss.at(-1)! - rss[1]! : 0;
  if (rss.length >= 3 && rss.at(-1)! > rss[1]! * 1.5 + 64) {
    console.log(`RSS grew from ${rss[1]!.toFixed(0)} to ${rss.at(-1)!.toFixed(0)} MiB`);
    failed = true;
  }
  console.log(`soak ${failed ? 'FAILED' : 'passed'}: RSS ${rss[0]?.toFixed(0)} → ${rss.at(-1)?.toFixed(0)} MiB (after the 2nd slice: ${growth >= 0 ? '+' : ''}${growth.toFixed(0)} MiB)`);
} finally {
  await server.stop();
  removeRepository(repo);
}
process.exit(failed ? 1 : 0);
