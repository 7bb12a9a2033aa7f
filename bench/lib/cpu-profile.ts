// Where a server's main thread spends its time, from a V8 .cpuprofile (node --cpu-prof): the
// self time of every sample inside a time window, grouped into request stages by the source file
// of the frame that ran. The profile's clock is CLOCK_MONOTONIC, like process.hrtime here.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Stage of a frame, first match wins: [stage, test on "url functionName"]. */
const STAGE_RULES: [string, RegExp][] = [
  ['idle', /^ \(idle\)$/],
  ['GC', /\(garbage collector\)$/],
  ['JSON decode (parse, lift, hardening)', /codec\/json-body|codec\/json-lift| (isUtf8|parse|liftData)$/],
  ['validation (schema, shapes, data)', /validation\/|ajv|validate\d+$/],
  ['JSON encode (answer text)', /codec\/(json-response|response-parts)| encodeData$/],
  ['native core fallback (TypeScript encode, binning)', /src\/native\//],
  ['HTTP writes (uWS cork/status/headers/end)', /transport\/http\/respond/],
  ['HTTP read and routing', /transport\/|uWebSockets/],
  ['batching (queue, merge, split)', /batching\//],
  ['inference on this thread (inline ORT)', /inference\/|onnxruntime/],
  ['metrics (prom-client)', /metrics\/|prom-client/],
  ['drift, shadow and label observers', /drift\/|shadow\/|src\/loop\.|observers\./],
  ['data plane (admission, events, routing)', /dataplane\/|routing\//],
  ['timers, microtasks, runtime', /^node:|^ \((program|root)\)$| (runMicrotasks|processImmediate|now)$/],
];

export interface StageTime {
  stage: string;
  us: number;
}

/** Self time per stage (µs) of the samples between fromUs and toUs (monotonic clock, µs). */
export function stageTimes(file: string, fromUs: number, toUs: number): StageTime[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const stageOf = new Map<number, string>();
  for (const n of prof.nodes) {
    const key = `${n.callFrame.url} ${n.callFrame.functionName}`;
    stageOf.set(n.id, STAGE_RULES.find(([, re]) => re.test(key))?.[0] ?? 'other');
  }
  const totals = new Map<string, number>();
  let t = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    t += dt;
    if (t < fromUs || t > toUs) continue;
    const stage = stageOf.get(prof.samples[i]!) ?? 'other';
    totals.set(stage, (totals.get(stage) ?? 0) + dt);
  }
  return [...totals].map(([stage, us]) => ({ stage, us })).sort((a, b) => b.us - a.us);
}

/** The monotonic clock in µs, as the profile's timestamps read it. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
