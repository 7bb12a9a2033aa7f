// Every metric sluice exports, declared in this one module on one registry (DESIGN §2), and
// documented in docs/metrics.md. Engines never import prom-client; they receive the handles they
// need from the composition root. This module imports no engine: what is read at scrape time
// (queue depths, shadow agreement) comes through a source function the composition root sets.
//
// Cardinality: every label value is drawn from a bounded set — model names the repository knows
// (an unknown name in a URL is counted under UNKNOWN_MODEL, see observe.ts), versions loaded,
// the protocols, HTTP statuses and SLUICE_ERR_* codes, the stages below.
import { performance } from 'node:perf_hooks';
import { Registry, Counter, Gauge, collectDefaultMetrics } from 'prom-client';
import { CounterTally, TallyHistogram } from './tally.js';

/** The stages of one request, as `sluice_stage_seconds{stage}` (PredictionEvent timings). */
export const STAGES = ['decode', 'validate', 'queue', 'compute', 'encode', 'total'] as const;
export type Stage = (typeof STAGES)[number];

/**
 * The `model` label of a request whose URL named no model the repository knows: no model
 * directory can have an empty name, so it never collides with a real one, and a client cannot
 * make series by inventing names.
 */
export const UNKNOWN_MODEL = '';

/** One version's batcher queue, read at scrape time. */
export interface QueueDepthSample {
  readonly model: string;
  readonly version: string;
  /** Requests waiting (queued, or formed into a batch not yet handed to a worker). */
  readonly depth: number;
}

/** One (primary, shadow) pair's agreement since its model's last routing change, read at scrape time. */
export interface ShadowAgreementSample {
  readonly model: string;
  readonly primary: string;
  readonly shadow: string;
  /** Share (0..1) of compared rows on which both versions gave the same answer. */
  readonly agreement: number;
}

/** What the drift and accuracy series read at each scrape (the composition root sets it). */
export interface DriftSample {
  /** Overall drift score per version and window (count | time). */
  readonly scores: readonly { model: string; version: string; window: string; score: number }[];
  /** Per input feature (and `output:label`, `output:probabilities`), PSI over the count window. */
  readonly psi: readonly { model: string; version: string; feature: string; psi: number }[];
  /** Rows binned since the version loaded, per feature and bin: Prometheus sums a fleet's. */
  readonly bins: readonly { model: string; version: string; feature: string; bin: string; rows: number }[];
  /** Live accuracy over each version's window of labelled rows. */
  readonly accuracy: readonly { model: string; version: string; accuracy: number }[];
  /** Each input feature's reference share per bin (reference.json): what fleet PSI is computed against. */
  readonly shares: readonly { model: string; version: string; feature: string; bin: string; share: number }[];
}

export interface Metrics {
  readonly registry: Registry;
  /**
   * Answered primary inference requests (successes and refusals; shadow copies are not counted
   * here) by model, version that answered ('' when none was routed), protocol, HTTP status and
   * code ("OK" or SLUICE_ERR_*).
   */
  readonly requests: Counter<'model' | 'version' | 'protocol' | 'status' | 'code'>;
  /** The per-request way to count `requests` (tally.ts): added to the counter at each read. */
  readonly requestTally: CounterTally<'model' | 'version' | 'protocol' | 'status' | 'code'>;
  /** Seconds per stage of answered (200) primary requests; `stage="total"` is read start to answer handed over. */
  readonly stageSeconds: TallyHistogram<'model' | 'stage'>;
  /** Answers 429, 503 and 504 by model and reason (their SLUICE_ERR_* code). */
  readonly admissionRefusals: Counter<'model' | 'reason'>;
  /** Increments of `admissionRefusals`, added at its next read (tally.ts): one per refused request under overload. */
  readonly refusalTally: CounterTally<'model' | 'reason'>;
  /** Rows per executed batch. */
  readonly batchRows: TallyHistogram<'model' | 'version'>;
  /** Rows per executed batch over the version's maxBatchSize (not observed when it is 0). */
  readonly batchFillRatio: TallyHistogram<'model' | 'version'>;
  readonly batches: Counter<'model' | 'version' | 'where'>;
  /** Increments of `batches`, added at its next read (tally.ts). */
  readonly batchTally: CounterTally<'model' | 'version' | 'where'>;
  /** Requests waiting in a READY version's batcher queue; set at scrape time (setQueueDepthSource). */
  readonly queueDepth: Gauge<'model' | 'version'>;
  /** Worker threads that died and were replaced. */
  readonly workerRestarts: Counter<'device'>;
  /** 1 for the state a version is in (UNKNOWN..UNAVAILABLE), 0 otherwise. */
  readonly modelState: Gauge<'model' | 'version' | 'state'>;
  /** 1 per (device, provider) actually used by a pool: "cpu" after a CUDA fallback. */
  readonly executionProvider: Gauge<'device' | 'provider'>;
  /** WebSocket connections closed because their reader let answers pile up. */
  readonly wsSlowReadersClosed: Counter<string>;
  /**
   * Shadow copies by (model, primary version, shadow version) and outcome: mirrored, compared,
   * errored (answers that could not be compared), dropped_queue_full|deadline|shutting_down|error.
   */
  readonly shadowCopies: Counter<'model' | 'primary' | 'shadow' | 'outcome'>;
  /** Increments of `shadowCopies`, added at its next read (tally.ts): one per mirrored copy. */
  readonly shadowCopyTally: CounterTally<'model' | 'primary' | 'shadow' | 'outcome'>;
  /** Agreement of each compared shadow pair; set at scrape time (setShadowAgreementSource). */
  readonly shadowAgreement: Gauge<'model' | 'primary' | 'shadow'>;
  /** Prediction log lines formed, by kind (primary | shadow); written = formed − dropped. */
  readonly predictionLogLines: Counter<'kind'>;
  /** Prediction log lines lost, by reason: buffer_full, write_error, closed. */
  readonly predictionLogDropped: Counter<'reason'>;
  /** Bytes of prediction log lines written to the destination. */
  readonly predictionLogBytes: Counter<string>;
  /** Bytes of prediction log lines waiting for the destination now. */
  readonly predictionLogBufferedBytes: Gauge<string>;
  /** Share of wall time the event loop was busy since the previous scrape (0..1). */
  readonly eventLoopUtilization: Gauge<string>;
  /** sluice_drift_score{model,version,window}: mean PSI over input features (docs/drift.md). */
  readonly driftScore: Gauge<'model' | 'version' | 'window'>;
  readonly driftFeaturePsi: Gauge<'model' | 'version' | 'feature'>;
  /** Counter, set from the monitors' cumulative counts at each scrape (restarts at a version load). */
  readonly driftBinRows: Counter<'model' | 'version' | 'feature' | 'bin'>;
  readonly liveAccuracy: Gauge<'model' | 'version'>;
  /** reference.json's share of each bin, so a fleet's PSI is computable in PromQL from the summed bin counters. */
  readonly driftReferenceShare: Gauge<'model' | 'version' | 'feature' | 'bin'>;
  /** Feedback labels by outcome: accepted (joined an answer) or refused (its reason). */
  readonly feedbackLabels: Counter<'model' | 'outcome'>;
  readonly feedbackLogDropped: Counter<'reason'>;
  /** Retrain events fired, by reason (drift | accuracy | schedule | admin). */
  readonly retrainEvents: Counter<'model' | 'reason'>;
  /** Conditions that would have fired but for the cooldown. */
  readonly retrainSuppressed: Counter<'model' | 'reason'>;
  /** Retrain actions by kind (webhook | command) and outcome (ok | failed | not_allowed | busy). */
  readonly retrainActions: Counter<'model' | 'action' | 'outcome'>;
  /** What the drift and accuracy series read at each scrape (replaces the previous source). */
  setDriftSource(read: () => DriftSample): void;
  /** What `sluice_queue_depth` reads at each scrape (replaces the previous source). */
  setQueueDepthSource(read: () => Iterable<QueueDepthSample>): void;
  /** What `sluice_shadow_agreement` reads at each scrape (replaces the previous source). */
  setShadowAgreementSource(read: () => Iterable<ShadowAgreementSample>): void;
}

const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const FILL_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
/**
 * Seconds, 10 µs to 10 s: a small model's decode, validate and encode stages take tens of µs,
 * a request that waits out its deadline seconds.
 */
const STAGE_BUCKETS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  // Process metrics, event-loop delay included (sluice_process_nodejs_eventloop_lag_{min,max,mean,p50,p90,p99}_seconds,
  // from monitorEventLoopDelay, reset at each scrape).
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'sluice_process_' });
  const registers = [registry];
  let queueDepthSource: () => Iterable<QueueDepthSample> = () => [];
  let agreementSource: () => Iterable<ShadowAgreementSample> = () => [];
  const noDrift: DriftSample = { scores: [], psi: [], bins: [], accuracy: [], shares: [] };
  let driftSource: () => DriftSample = () => noDrift;
  // Utilisation between scrapes: what default metrics do not have. Two scrapers share one window.
  let lastElu = performance.eventLoopUtilization();
  // Counters incremented per request or per batch: prom-client's inc() with a label object costs
  // ~2 µs and leaves an object that survives the next scavenge, so they count through a tally.
  const [requests, requestTally] = talliedCounter(registers, 'sluice_requests_total', 'Primary inference requests answered, by model, version, protocol, HTTP status and code', [
    'model', 'version', 'protocol', 'status', 'code',
  ]);
  const [batches, batchTally] = talliedCounter(registers, 'sluice_batches_total', 'Executed batches by where they ran: a pool worker, or inline on the main thread', ['model', 'version', 'where']);
  const [admissionRefusals, refusalTally] = talliedCounter(registers, 'sluice_admission_refusals_total', 'Requests answered 429, 503 or 504, by model and reason (error code)', ['model', 'reason']);
  const [shadowCopies, shadowCopyTally] = talliedCounter(registers, 'sluice_shadow_copies_total', 'Shadow copies of requests by outcome', ['model', 'primary', 'shadow', 'outcome']);
  return {
    registry,
    requests,
    requestTally,
    batches,
    batchTally,
    admissionRefusals,
    refusalTally,
    shadowCopies,
    shadowCopyTally,
    stageSeconds: new TallyHistogram(
      'sluice_stage_seconds',
      'Seconds per stage (decode, validate, queue, compute, encode, total) of answered primary requests',
      ['model', 'stage'],
      STAGE_BUCKETS,
      registry,
    ),
    batchRows: new TallyHistogram('sluice_batch_rows', 'Rows per executed batch', ['model', 'version'], BATCH_BUCKETS, registry),
    batchFillRatio: new TallyHistogram(
      'sluice_batch_fill_ratio',
      'Rows per executed batch over the version maxBatchSize',
      ['model', 'version'],
      FILL_BUCKETS,
      registry,
    ),
    queueDepth: new Gauge({
      name: 'sluice_queue_depth',
      help: 'Requests waiting in a READY version batcher, at scrape time',
      labelNames: ['model', 'version'],
      registers,
      collect() {
        this.reset(); // versions unloaded since the last scrape leave no stale series
        for (const s of queueDepthSource()) this.set({ model: s.model, version: s.version }, s.depth);
      },
    }),
    shadowAgreement: new Gauge({
      name: 'sluice_shadow_agreement',
      help: 'Share of compared rows on which primary and shadow agree, since the last routing change',
      labelNames: ['model', 'primary', 'shadow'],
      registers,
      collect() {
        this.reset();
        for (const s of agreementSource()) this.set({ model: s.model, primary: s.primary, shadow: s.shadow }, s.agreement);
      },
    }),
    workerRestarts: new Counter({ name: 'sluice_worker_restarts_total', help: 'Worker threads that died and were replaced', labelNames: ['device'], registers }),
    modelState: new Gauge({ name: 'sluice_model_state', help: '1 for the current state of a model version', labelNames: ['model', 'version', 'state'], registers }),
    wsSlowReadersClosed: new Counter({ name: 'sluice_ws_slow_readers_closed_total', help: 'WebSocket connections closed for not reading their answers', registers }),
    predictionLogLines: new Counter({ name: 'sluice_prediction_log_lines_total', help: 'Prediction log lines formed, by kind', labelNames: ['kind'], registers }),
    predictionLogDropped: new Counter({ name: 'sluice_prediction_log_dropped_total', help: 'Prediction log lines dropped, by reason', labelNames: ['reason'], registers }),
    predictionLogBytes: new Counter({ name: 'sluice_prediction_log_bytes_total', help: 'Bytes of prediction log lines written', registers }),
    predictionLogBufferedBytes: new Gauge({ name: 'sluice_prediction_log_buffered_bytes', help: 'Bytes of prediction log lines waiting for the destination', registers }),
    executionProvider: new Gauge({ name: 'sluice_execution_provider', help: 'Execution provider active per device pool', labelNames: ['device', 'provider'], registers }),
    eventLoopUtilization: new Gauge({
      name: 'sluice_event_loop_utilization_ratio',
      help: 'Share of wall time the event loop was busy since the previous scrape',
      registers,
      collect() {
        const now = performance.eventLoopUtilization();
        this.set(performance.eventLoopUtilization(now, lastElu).utilization);
        lastElu = now;
      },
    }),
    driftScore: new Gauge({
      name: 'sluice_drift_score',
      help: 'Drift score (mean PSI over the input features) per version and window',
      labelNames: ['model', 'version', 'window'],
      registers,
      collect() {
        this.reset();
        for (const s of driftSource().scores) this.set({ model: s.model, version: s.version, window: s.window }, s.score);
      },
    }),
    driftFeaturePsi: new Gauge({
      name: 'sluice_drift_feature_psi',
      help: 'Population stability index of each feature over the count window',
      labelNames: ['model', 'version', 'feature'],
      registers,
      collect() {
        this.reset();
        for (const s of driftSource().psi) this.set({ model: s.model, version: s.version, feature: s.feature }, s.psi);
      },
    }),
    driftBinRows: new Counter({
      name: 'sluice_drift_bin_rows_total',
      help: 'Rows binned per feature and reference bin since the version loaded',
      labelNames: ['model', 'version', 'feature', 'bin'],
      registers,
      collect() {
        this.reset();
        for (const s of driftSource().bins) this.inc({ model: s.model, version: s.version, feature: s.feature, bin: s.bin }, s.rows);
      },
    }),
    liveAccuracy: new Gauge({
      name: 'sluice_live_accuracy',
      help: 'Accuracy over the last labelled rows of each version (feedback labels)',
      labelNames: ['model', 'version'],
      registers,
      collect() {
        this.reset();
        for (const s of driftSource().accuracy) this.set({ model: s.model, version: s.version }, s.accuracy);
      },
    }),
    driftReferenceShare: new Gauge({
      name: 'sluice_drift_reference_share',
      help: 'Share of the reference (training) rows in each drift bin of each input feature',
      labelNames: ['model', 'version', 'feature', 'bin'],
      registers,
      collect() {
        this.reset();
        for (const s of driftSource().shares) this.set({ model: s.model, version: s.version, feature: s.feature, bin: s.bin }, s.share);
      },
    }),
    feedbackLabels: new Counter({ name: 'sluice_feedback_labels_total', help: 'Feedback labels by outcome', labelNames: ['model', 'outcome'], registers }),
    feedbackLogDropped: new Counter({ name: 'sluice_feedback_log_dropped_total', help: 'Feedback log lines dropped, by reason', labelNames: ['reason'], registers }),
    retrainEvents: new Counter({ name: 'sluice_retrain_events_total', help: 'Retrain events fired, by reason', labelNames: ['model', 'reason'], registers }),
    retrainSuppressed: new Counter({ name: 'sluice_retrain_suppressed_total', help: 'Retrain conditions held back by the cooldown', labelNames: ['model', 'reason'], registers }),
    retrainActions: new Counter({ name: 'sluice_retrain_actions_total', help: 'Retrain actions run, by kind and outcome', labelNames: ['model', 'action', 'outcome'], registers }),
    setDriftSource(read) {
      driftSource = read;
    },
    setQueueDepthSource(read) {
      queueDepthSource = read;
    },
    setShadowAgreementSource(read) {
      agreementSource = read;
    },
  };
}

/** A counter with its tally (tally.ts): increments go to the tally and reach the counter at each read. */
function talliedCounter<L extends string>(registers: Registry[], name: string, help: string, labelNames: readonly L[]): [Counter<L>, CounterTally<L>] {
  const tally: CounterTally<L> = new CounterTally<L>(() => counter, labelNames);
  const counter: Counter<L> = new Counter<L>({ name, help, labelNames: [...labelNames], registers, collect: (): void => tally.flush() });
  return [counter, tally];
}
