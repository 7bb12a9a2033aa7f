// autocannon's programmatic API as a load generator (no wrk needed). It runs in the bench
// process itself, so on 2 cores it shares them with the server: its figures are lower than
// wrk's for fast servers. Its own latency histogram counts whole milliseconds (a 300 µs p50
// reads 0), so percentiles come from the per-response times it emits (float ms, hrtime).
import { createRequire } from 'node:module';
import type { LoadOptions, LoadRun } from './load-run.js';
import { percentileSorted } from './stats.js';

/** The part of autocannon's result this bench reads (the package ships no types). */
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  requests: { total: number; average: number };
  '2xx': number;
}

/** The returned instance is an event emitter and a promise of the result. */
interface AutocannonInstance extends Promise<AutocannonResult> {
  on(event: 'response', fn: (client: unknown, status: number, bytes: number, responseTimeMs: number) => void): void;
}

type Autocannon = (opts: Record<string, unknown>) => AutocannonInstance;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export async function runAutocannon(opts: LoadOptions): Promise<LoadRun> {
  let next = 0;
  const instance = autocannon({
    url: opts.url,
    connections: opts.connections,
    duration: opts.durationS,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    timeout: 10,
    requests: [
      {
        setupRequest: (req: Record<string, unknown>) => {
          next = (next + 1) % opts.bodies.length;
          return { ...req, body: opts.bodies[next] };
        },
      },
    ],
  });
  const latenciesMs: number[] = [];
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latenciesMs.push(ms);
  });
  const result = await instance;
  const sorted = Float64Array.from(latenciesMs).sort();
  const completed = result['2xx'] + result.non2xx;
  return {
    generator: 'autocannon',
    connections: opts.connections,
    durationS: result.duration,
    requests: completed,
    reqPerSec: completed / result.duration,
    p50Us: percentileSorted(sorted, 50) * 1000,
    p99Us: percentileSorted(sorted, 99) * 1000,
    errors: result.non2xx + result.errors + result.timeouts,
  };
}
