// One timed load run against one URL, by whichever generator is chosen: wrk when installed
// (it can saturate uWS on 2 cores; autocannon cannot), autocannon otherwise. Both keep
// `connections` requests in flight (closed loop) and rotate through the given bodies.
import { runAutocannon } from './autocannon.js';
import { wrkVersion } from './machine.js';
import { runWrk } from './wrk.js';
import type { GeneratorName, LoadOptions, LoadRun } from './load-run.js';

export type { GeneratorName, LoadOptions, LoadRun } from './load-run.js';

let wrkInstalled: boolean | undefined;

/** wrk when installed, unless SLUICE_BENCH_GENERATOR=autocannon (or `preferred`) says otherwise. */
export function pickGenerator(preferred?: string): GeneratorName {
  const want = preferred ?? process.env.SLUICE_BENCH_GENERATOR;
  if (want === 'autocannon') return 'autocannon';
  wrkInstalled ??= wrkVersion() !== null;
  if (want === 'wrk' && !wrkInstalled) throw new Error('wrk was asked for but is not installed (apt-get install -y wrk)');
  return wrkInstalled ? 'wrk' : 'autocannon';
}

export function runLoad(generator: GeneratorName, opts: LoadOptions): Promise<LoadRun> {
  return generator === 'wrk' ? runWrk(opts) : runAutocannon(opts);
}
