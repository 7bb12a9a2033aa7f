// False alarms and detection delay of the drift trigger, measured (docs/drift.md): for each of N
// seeds, a fresh split of the real breast-cancer rows, version 1 trained on its training half and
// profiled (the reference.json the trainer writes), then two replays through the same DriftMonitor
// and RetrainTrigger the gateway runs, with the demo's settings:
// - unshifted: `unshiftedRequests` rows drawn from the held-out traffic rows; any event is a false alarm;
// - shifted: `warmupRequests` unshifted rows, then the scanner shift until the trigger fires; the
//   delay is the shifted requests sent until then.
// In process (no HTTP): the statistics and the trigger are the gateway's own code, and 20 replays
// take a second instead of minutes.
import { predictProba, roundToFloat32, argmaxRows } from '../train/dense.js';
import { rawFeatureNet, trainClassifier } from '../train/classifier.js';
import { loadCsvDataset, type Dataset } from '../train/dataset.js';
import { Prng } from '../train/prng.js';
import { buildReferenceProfile } from '../train/reference.js';
import { BREAST_CANCER } from '../train/specs.js';
import { DriftMonitor } from '../drift/monitor.js';
import { parseDriftReference, type DriftReference } from '../drift/reference.js';
import { driftSettings, retrainSettings, type DriftSettings } from '../repository/mlops-config.js';
import { RetrainTrigger } from '../retrain/trigger.js';
import { rowOf, splitRows } from './split.js';

export interface AlarmOptions {
  readonly dataPath: string;
  readonly seeds: number;
  readonly drift: Partial<DriftSettings>;
  readonly unshiftedRequests: number;
  readonly warmupRequests: number;
  /** Give up on a shifted replay after this many shifted requests (delay null). */
  readonly maxShiftedRequests: number;
}

export interface SeedResult {
  readonly seed: number;
  readonly falseAlarms: number;
  /** Highest window score of the unshifted replay. */
  readonly maxUnshiftedScore: number;
  /** Lowest window score once the shift started (until the trigger fired). */
  readonly minShiftedScore: number;
  readonly delayRequests: number | null;
}

export const DEMO_DRIFT: Partial<DriftSettings> = Object.freeze({ windowRows: 250, threshold: 0.45, consecutiveWindows: 3 });

export function measureAlarms(opts: AlarmOptions): SeedResult[] {
  const data = loadCsvDataset(opts.dataPath, BREAST_CANCER.format).dataset;
  const results: SeedResult[] = [];
  for (let seed = 1; seed <= opts.seeds; seed++) {
    const split = splitRows(data, seed);
    const reference = referenceOf(split.train);
    const quiet = replay(reference, split.traffic, opts, seed, opts.unshiftedRequests, 0);
    const shifted = replay(reference, split.traffic, opts, seed + 1000, opts.warmupRequests, opts.maxShiftedRequests);
    const detected = shifted.fired.find((at) => at > opts.warmupRequests);
    results.push({
      seed,
      falseAlarms: quiet.fired.length + shifted.fired.filter((at) => at <= opts.warmupRequests).length,
      maxUnshiftedScore: quiet.maxScore,
      minShiftedScore: shifted.minShiftedScore,
      delayRequests: detected === undefined ? null : detected - opts.warmupRequests,
    });
  }
  return results;
}

/** The reference.json version 1 would get: the trainer's profile of its training rows. */
function referenceOf(train: Dataset): DriftReference {
  const net = roundToFloat32(rawFeatureNet(trainClassifier(BREAST_CANCER.classifier, train)));
  const probabilities = predictProba(net, train.x, train.rows);
  const labels = argmaxRows(probabilities, train.rows, train.classCount);
  const profile = buildReferenceProfile({ data: train, featureNames: BREAST_CANCER.featureNames, classNames: BREAST_CANCER.classNames, probabilities, labels });
  return parseDriftReference(JSON.stringify(profile));
}

/** `unshifted` requests, then `shifted` ones (stopping at the first event after the shift); request numbers of events. */
function replay(reference: DriftReference, traffic: Dataset, opts: AlarmOptions, seed: number, unshifted: number, shifted: number): { fired: number[]; maxScore: number; minShiftedScore: number } {
  const drift = driftSettings(opts.drift);
  const monitor = new DriftMonitor(reference, { windowRows: drift.windowRows, windowMs: 300_000 });
  const fired: number[] = [];
  let sent = 0;
  let maxScore = 0;
  let minShiftedScore = Number.POSITIVE_INFINITY;
  const trigger = new RetrainTrigger({
    nowMs: () => sent * 10, // 100 requests/s
    policyOf: () => ({ drift, retrain: retrainSettings({ cooldownSeconds: 0 })! }),
    primaryOf: () => '1',
    fire: () => fired.push(sent),
  });
  const prng = new Prng(seed);
  const row = new Float64Array(traffic.cols);
  for (; sent < unshifted + shifted; ) {
    const isShifted = sent >= unshifted;
    row.set(rowOf(traffic, prng.nextInt(traffic.rows), isShifted));
    sent++;
    monitor.observe(row, 1, traffic.cols, sent * 10);
    if (monitor.rowsSinceEvaluation < drift.windowRows) continue;
    const score = monitor.takeScore();
    if (!isShifted && score !== null) maxScore = Math.max(maxScore, score);
    if (isShifted && score !== null) minShiftedScore = Math.min(minShiftedScore, score);
    trigger.driftWindow('m', '1', score, drift.windowRows);
    if (isShifted && fired.some((at) => at > unshifted)) break;
  }
  return { fired, maxScore, minShiftedScore };
}
