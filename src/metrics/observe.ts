// What the metrics make of each answered request and each executed batch. The composition root
// registers `observePredictions(metrics)` as a data-plane observer and calls `observeBatch` from
// its servables' onBatch hook.
//
// The event type is declared here structurally (the fields read, nothing more): metrics/ sits
// below dataplane/ (DESIGN §2) and imports nothing from it; dataplane's PredictionEvent fits it.
import type { StageTimings } from '../types.js';
import { UNKNOWN_MODEL, type Metrics, type Stage } from './metrics.js';

/** The fields of a dataplane PredictionEvent that the metrics read. */
export interface ObservedPrediction {
  readonly shadow: boolean;
  readonly model: string;
  /** False: the URL named no model the repository knows; counted under UNKNOWN_MODEL. */
  readonly modelKnown: boolean;
  readonly version: number | null;
  readonly protocol: string;
  readonly status: number;
  readonly code: string;
  readonly timings: StageTimings;
}

/** Timing field → stage label (metrics.ts STAGES). */
const STAGE_KEYS = [
  ['decodeUs', 'decode'],
  ['validateUs', 'validate'],
  ['queueUs', 'queue'],
  ['computeUs', 'compute'],
  ['encodeUs', 'encode'],
  ['totalUs', 'total'],
] as const satisfies readonly (readonly [keyof ObservedPrediction['timings'], Stage])[];

/** Statuses counted as refusals under load (sluice_admission_refusals_total). */
const REFUSAL_STATUSES = new Set([429, 503, 504]);

/**
 * The observer: counts every primary answer (`sluice_requests_total`, and 429/503/504 under
 * `sluice_admission_refusals_total`), and records the stage timings of successful ones
 * (`sluice_stage_seconds`; a refusal's stages would mix fast 400s into the latency). Shadow
 * answers are skipped: their copies are counted by the shadow board (`sluice_shadow_copies_total`).
 * Never throws on a well-formed event.
 */
export function observePredictions(metrics: Metrics): (event: ObservedPrediction) => void {
  // The six stage observers per model, bound once (tally.ts). Bounded: only known model names reach here.
  const stageSeries = new Map<string, ((seconds: number) => void)[]>();
  const seriesOf = (model: string): ((seconds: number) => void)[] => {
    let s = stageSeries.get(model);
    if (s === undefined) {
      s = STAGE_KEYS.map(([, stage]) => metrics.stageSeconds.series({ model, stage }));
      stageSeries.set(model, s);
    }
    return s;
  };
  // The request counter's series of the last event: answers come in runs of one label set, so
  // most events increment it without building a label object or a series key.
  let last: { model: string; version: number | null; protocol: string; status: number; code: string; inc: () => void } | undefined;
  return (event) => {
    if (event.shadow) return;
    const model = event.modelKnown ? event.model : UNKNOWN_MODEL;
    const { version, protocol, status, code } = event;
    if (last === undefined || last.model !== model || last.version !== version || last.protocol !== protocol || last.status !== status || last.code !== code) {
      const labels = { model, version: version === null ? '' : String(version), protocol, status: String(status), code };
      last = { model, version, protocol, status, code, inc: metrics.requestTally.series(labels) };
    }
    last.inc();
    if (REFUSAL_STATUSES.has(status)) metrics.refusalTally.inc({ model, reason: code });
    if (status !== 200 || !event.modelKnown) return;
    const series = seriesOf(model);
    const t = event.timings;
    for (let i = 0; i < STAGE_KEYS.length; i++) {
      const us = t[STAGE_KEYS[i]![0]];
      if (us !== null) series[i]!(us / 1e6);
    }
  };
}

export interface ObservedBatch {
  readonly model: string;
  readonly version: number;
  readonly rows: number;
  readonly where: string;
  /** The version's configured maxBatchSize; 0 (does not batch): no fill ratio. */
  readonly maxBatchSize: number;
}

/**
 * The observer of executed batches: each one's rows, where it ran, and how full it was. It holds
 * the series of the last (model, version, where): at low load every request is a batch of its own,
 * and prom-client's inc() with a label object cost ~2 µs and ~0.4 KB of garbage per call.
 */
export function batchObserver(metrics: Metrics): (batch: ObservedBatch) => void {
  let last: { model: string; version: number; where: string; maxBatchSize: number; rows: (n: number) => void; fill?: (r: number) => void; inc: () => void } | undefined;
  return (batch) => {
    const { model, version, where } = batch;
    if (last === undefined || last.model !== model || last.version !== version || last.where !== where || last.maxBatchSize !== batch.maxBatchSize) {
      const labels = { model, version: String(version) };
      last = {
        model,
        version,
        where,
        maxBatchSize: batch.maxBatchSize,
        rows: metrics.batchRows.series(labels),
        // A version that does not batch has no fill ratio, not even an empty series.
        ...(batch.maxBatchSize > 0 ? { fill: metrics.batchFillRatio.series(labels) } : {}),
        inc: metrics.batchTally.series({ ...labels, where }),
      };
    }
    last.rows(batch.rows);
    last.inc();
    last.fill?.(batch.rows / batch.maxBatchSize);
  };
}
