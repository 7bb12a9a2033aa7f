// What a load run is asked and what it measured, shared by the runner (load.ts) and the
// generators (wrk.ts, autocannon.ts).

export type GeneratorName = 'wrk' | 'autocannon';

export interface LoadOptions {
  url: string;
  /** POST bodies (application/json), sent in rotation. */
  bodies: readonly string[];
  connections: number;
  durationS: number;
}

export interface LoadRun {
  generator: GeneratorName;
  connections: number;
  durationS: number;
  /** Completed requests (any status). */
  requests: number;
  reqPerSec: number;
  p50Us: number;
  p99Us: number;
  /** Non-2xx answers plus socket errors and timeouts. */
  errors: number;
}
