// autocannon's programmatic API as a load generator (no wrk needed). It runs in the bench
// process itself, so on 2 cores it shares them with the server: its figures are lower than
// wrk's for fast servers, and its latencies have a coarser resolution.
import { createRequire } from 'node:module';
import type { LoadOptions, LoadRun } from './load.js';

/** The part of autocannon's result this bench reads (the package ships no types). */
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  latency: { p50: number; p99: number };
  requests: { total: number; average: number };
  '2xx': number;
}

type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export async function runAutocannon(opts: LoadOptions): Promise<LoadRun> {
  let next = 0;
  const result = await autocannon({
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
  const completed = result['2xx'] + result.non2xx;
  return {
    generator: 'autocannon',
    connections: opts.connections,
    durationS: result.duration,
    requests: completed,
    reqPerSec: completed / result.duration,
    // autocannon reports milliseconds.
    p50Us: result.latency.p50 * 1000,
    p99Us: result.latency.p99 * 1000,
    errors: result.non2xx + result.errors + result.timeouts,
  };
}
