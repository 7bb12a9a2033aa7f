// The MLOps loop, wired in one place (DESIGN §8): drift monitors and live accuracy fed by the data
// plane's events, feedback labels credited and logged for the retraining job, the retrain trigger
// and the runner of its actions. Part of the composition root (like observers.ts): the only other
// module that knows these layers.
//
// Per event (a tick after its answer, on the event loop): the answer's predicted classes are kept
// by request id for late labels (one LabelBook: a label is joined once, and its result credited to
// live accuracy and to the shadow board), and the tracked input is binned on the version's reference edges
// (drift/monitor.ts). Every `drift.windowRows` rows a version's count window closes; a primary's
// closed window goes to the trigger.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import type { SluiceConfig } from './config/config.js';
import { effectivePrimary } from './dataplane/admin-routing.js';
import type { FeedbackSink } from './dataplane/feedback.js';
import type { PredictionEvent, TensorCopy } from './dataplane/prediction-event.js';
import type { Servable } from './dataplane/servable.js';
import { LiveAccuracy } from './drift/accuracy.js';
import { DriftBook, type Tracked } from './drift/book.js';
import type { Logger } from './logging/logger.js';
import type { DriftSample, Metrics } from './metrics/metrics.js';
import { FeedbackLog } from './predlog/feedback-log.js';
import { driftSettings } from './repository/mlops-config.js';
import type { ModelRepository } from './repository/repository.js';
import { SluiceError } from './errors.js';
import { retrainAlerts } from './retrain/alerts.js';
import { RetrainRunner, type RecordedEvent } from './retrain/runner.js';
import { RetrainTrigger } from './retrain/trigger.js';
import type { RoutingBook } from './routing/book.js';
import type { ShadowBoard } from './shadow/board.js';
import type { LabelBook } from './labels/label-book.js';
import { classIndicesOf, type GroundTruth } from './labels/label-store.js';

export interface LoopDeps {
  readonly config: SluiceConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly repository: ModelRepository<Servable>;
  readonly routing: RoutingBook;
  readonly shadowBoard: ShadowBoard;
  /** Answers kept for late labels, shared with the shadow board's report. */
  readonly labels: LabelBook;
}

export interface Loop {
  /** The data plane observer (tensors: 'tracked': it reads outputs only of events that carry a tracked input). */
  observe(event: PredictionEvent): void;
  /** True when the model's events should carry its features input (EventPolicy.trackInput). */
  tracks(model: string): boolean;
  /** Where feedback labels go: the shadow board, live accuracy, the feedback log. */
  readonly feedback: FeedbackSink;
  driftReport(model: string): unknown;
  retrainNow(model: string): RecordedEvent;
  /** POST /admin/alerts: fires each alert's model once (fleet mode); what fired and what did not, and why. */
  alerts(bytes: Uint8Array): { fired: RecordedEvent[]; skipped: { model: string; alertname: string; reason: string }[] };
  retrainEvents(model?: string): RecordedEvent[];
  /** Flushes the feedback log; running retrain actions are left to finish on their own. */
  close(): Promise<void>;
}

const TICK_MS = 1000;
const MAX_SEEN_ALERTS = 10_000;

export function startLoop(deps: LoopDeps): Loop {
  const { config, logger, metrics, repository, routing, shadowBoard, labels } = deps;
  const fileOf = (model: string) => repository.get(model)?.file;
  const driftOf = (model: string) => fileOf(model)?.drift ?? driftSettings(undefined);
  const primaryOf = (model: string): string | null => {
    const entry = repository.get(model);
    const v = entry === undefined ? undefined : effectivePrimary(entry, routing.table(model));
    return v === undefined ? null : String(v);
  };
  const accuracy = new LiveAccuracy({ windowRows: (model) => fileOf(model)?.retrain?.accuracyWindowRows ?? 500 });
  const book = new DriftBook({
    readReference(model, version) {
      try {
        return readFileSync(path.join(config.modelsDir, model, String(version), 'reference.json'), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
    settingsOf: driftOf,
    onRefused: (model, version, reason) => logger.warn({ model, version }, `drift tracking off for this version: ${reason}`),
  });
  const runner = new RetrainRunner({
    log: logger,
    webhookAllow: config.retrainWebhookAllow.split(',').map((s) => s.trim()).filter((s) => s !== ''),
    webhookSecret: config.retrainWebhookSecret,
    settingsOf: (model) => fileOf(model)?.retrain,
    commandEnv: { ...config.childEnv, SLUICE_MODELS: config.modelsDir, SLUICE_PREDICTION_LOG: config.predictionLog, SLUICE_FEEDBACK_LOG: config.feedbackLog },
    onEvent: (e) => metrics.retrainEvents.inc({ model: e.model, reason: e.reason }),
    onAction: (model, action, outcome) => metrics.retrainActions.inc({ model, action, outcome }),
  });
  const trigger = new RetrainTrigger({
    nowMs: Date.now,
    localConditionsOff: config.fleetMode,
    policyOf(model) {
      const f = fileOf(model);
      return f?.retrain === undefined ? undefined : { drift: f.drift, retrain: f.retrain };
    },
    primaryOf,
    fire: (event) => runner.fire(event),
    suppressed: (model, reason) => metrics.retrainSuppressed.inc({ model, reason }),
  });
  const feedbackLog = FeedbackLog.open({
    settings: config,
    appLog: logger,
    nowMs: Date.now,
    onDropped: (reason, lines) => metrics.feedbackLogDropped.inc({ reason }, lines),
  });

  const sampler = new DriftSampler(() => performance.now());
  /** Alert instances already fired (Alertmanager repeats a firing alert); the newest MAX_SEEN_ALERTS. */
  const seenAlerts = new Set<string>();

  const observe = (e: PredictionEvent): void => {
    if (!e.modelKnown || e.code !== 'OK' || e.version === null || e.id === null) return;
    const now = Date.now();
    const version = String(e.version);
    if (e.predicted !== null) labels.record(e.model, e.id, { role: e.shadow ? 'shadow' : 'primary', version }, e.predicted, now);
    if (e.tracked === undefined || e.tracked.truncated || config.disableDrift) return;
    const t = book.entry(e.model, e.version, e.sha256);
    if (t.monitor === null) return;
    const [rows, cols] = e.tracked.shape.length === 2 ? [e.tracked.shape[0]!, e.tracked.shape[1]!] : [1, e.tracked.data.length];
    const out = t.reference.outputs;
    const label = find(e.outputs, out?.label?.tensor ?? 'label');
    const probs = find(e.outputs, out?.probabilities?.tensor ?? 'probabilities');
    t.monitor.observeInputs(e.tracked.data as ArrayLike<number>, rows, cols, now);
    t.monitor.observeOutputs(label?.data as ArrayLike<number | bigint> | undefined, probs?.data as ArrayLike<number> | undefined, rows, probs?.shape[1] ?? 0, now);
    t.rows += rows;
    const windowRows = driftOf(e.model).windowRows;
    if (t.monitor.rowsSinceEvaluation < windowRows) return;
    const score = t.monitor.takeScore();
    DriftBook.remember(t, { time: new Date(now).toISOString(), rows: t.rows, score });
    if (!e.shadow) trigger.driftWindow(e.model, version, score, windowRows);
  };

  const feedback: FeedbackSink = {
    label(model, id, truth) {
      const joined = labels.label(model, id, truth, Date.now());
      if (joined.ok) {
        shadowBoard.credit(model, joined);
        for (const v of accuracy.credit(model, joined)) trigger.accuracy(model, v.version, v.accuracy, v.labeled);
      }
      const indices = classIndices(truth, fileOf(model)?.classes);
      if (indices !== null) feedbackLog?.write(model, id, indices);
      const result = joined.ok ? ({ ok: true } as const) : { ok: false as const, reason: joined.reason };
      metrics.feedbackLabels.inc({ model, outcome: result.ok ? 'accepted' : result.reason });
      return result;
    },
  };

  metrics.setDriftSource(() => driftSample(repository, book, accuracy));
  const tick = setInterval(() => {
    const models = repository.list().map((m) => m.name);
    trigger.tick(models);
    book.prune((model, version) => repository.get(model)?.versions.get(version)?.state === 'READY');
  }, TICK_MS);
  tick.unref();

  return {
    observe,
    tracks: (model) => !config.disableDrift && sampler.take(model, driftOf(model)),
    feedback,
    driftReport: (model) => driftReport(model, { repository, book, accuracy, primaryOf, shadowsOf: (m) => routing.table(m).shadows.map((s) => s.version), driftOf, hasRetrain: (m) => fileOf(m)?.retrain !== undefined, disabled: config.disableDrift }),
    retrainNow(model) {
      const id = trigger.manual(model).id;
      return runner.list(model).find((e) => e.id === id)!;
    },
    alerts(bytes) {
      const fired: RecordedEvent[] = [];
      const skipped: { model: string; alertname: string; reason: string }[] = [];
      for (const a of retrainAlerts(bytes)) {
        if (seenAlerts.has(a.key)) {
          skipped.push({ model: a.model, alertname: a.alertname, reason: 'already fired for this alert' });
          continue;
        }
        if (repository.get(a.model) === undefined) {
          skipped.push({ model: a.model, alertname: a.alertname, reason: 'SLUICE_ERR_MODEL_NOT_FOUND' });
          continue;
        }
        try {
          const id = trigger.manual(a.model, { reason: 'alert', detail: `Alertmanager alert ${a.alertname}` }).id;
          fired.push(runner.list(a.model).find((e) => e.id === id)!);
          seenAlerts.add(a.key);
          if (seenAlerts.size > MAX_SEEN_ALERTS) seenAlerts.delete(seenAlerts.values().next().value!);
        } catch (err) {
          if (!(err instanceof SluiceError)) throw err;
          skipped.push({ model: a.model, alertname: a.alertname, reason: err.code });
        }
      }
      return { fired, skipped };
    },
    retrainEvents: (model) => runner.list(model),
    async close() {
      clearInterval(tick);
      await feedbackLog?.close();
    },
  };
}

/**
 * drift.maxSampledPerSecond as a token bucket per model, one second deep: under the cap every
 * request is binned; over it, an even share of them (tokens accrue continuously, so the admitted
 * requests are spread through each second, not its first ones).
 */
class DriftSampler {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(private readonly nowMs: () => number) {}

  take(model: string, s: { enabled: boolean; maxSampledPerSecond: number }): boolean {
    if (!s.enabled) return false;
    const cap = s.maxSampledPerSecond;
    if (cap === 0) return true;
    const now = this.nowMs();
    let b = this.buckets.get(model);
    if (b === undefined) this.buckets.set(model, (b = { tokens: cap, atMs: now }));
    b.tokens = Math.min(cap, b.tokens + ((now - b.atMs) * cap) / 1000);
    b.atMs = now;
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  }
}

function find(outputs: readonly TensorCopy[], name: string): TensorCopy | undefined {
  return outputs.find((t) => t.name === name);
}

/** A label as class indices for the feedback log (names through `classes`); null when one is not a class. */
function classIndices(truth: GroundTruth | readonly GroundTruth[], classes: readonly string[] | undefined): number[] | null {
  const indices = classIndicesOf(truth, new Map((classes ?? []).map((c, i) => [c, i])));
  return typeof indices === 'string' || indices.some((i) => i < 0) ? null : indices;
}

interface ReportDeps {
  repository: ModelRepository<Servable>;
  book: DriftBook;
  accuracy: LiveAccuracy;
  primaryOf(model: string): string | null;
  shadowsOf(model: string): number[];
  driftOf(model: string): ReturnType<typeof driftSettings>;
  hasRetrain(model: string): boolean;
  disabled: boolean;
}

/** GET /v2/models/{m}/drift: every READY version, primary first role-wise, with why one has no monitor. */
function driftReport(model: string, d: ReportDeps): unknown {
  const now = Date.now();
  const primary = d.primaryOf(model);
  const settings = d.driftOf(model);
  const tracked = new Map(d.book.versions(model));
  const shadows = new Set(d.shadowsOf(model));
  const ready = [...(d.repository.get(model)?.versions.values() ?? [])].filter((v) => v.state === 'READY').map((v) => v.version).sort((a, b) => a - b);
  const versions = ready.map((version) => {
    const t: Tracked | undefined = tracked.get(version);
    const role = String(version) === primary ? 'primary' : shadows.has(version) ? 'shadow' : 'idle';
    const base = { version: String(version), role, accuracy: d.accuracy.reportOf(model, String(version)) };
    if (d.disabled) return { ...base, tracking: false, reason: 'drift tracking is off (--disable-drift)' };
    if (t === undefined) return { ...base, tracking: false, reason: 'no prediction seen yet since the version loaded' };
    if (t.monitor === null) return { ...base, tracking: false, reason: t.reason };
    return { ...base, tracking: true, rows: t.rows, ...t.monitor.report(now), history: t.history };
  });
  return { model, primary, settings, retrain: d.hasRetrain(model), versions };
}

function driftSample(repository: ModelRepository<Servable>, book: DriftBook, accuracy: LiveAccuracy): DriftSample {
  const now = Date.now();
  const sample: { -readonly [K in keyof DriftSample]: DriftSample[K][number][] } = { scores: [], psi: [], bins: [], accuracy: [], shares: [] };
  for (const m of repository.list()) {
    for (const a of accuracy.report(m.name)) if (a.accuracy !== null) sample.accuracy.push({ model: m.name, version: a.version, accuracy: a.accuracy });
    for (const [v, t] of book.versions(m.name)) {
      if (t.monitor === null) continue;
      const version = String(v);
      const r = t.monitor.report(now);
      for (const w of [r.windows.count, r.windows.time]) if (w.score !== null) sample.scores.push({ model: m.name, version, window: w.kind, score: w.score });
      for (const f of r.windows.count.features) if (f.psi !== null) sample.psi.push({ model: m.name, version, feature: f.name, psi: f.psi });
      for (const [name, p] of Object.entries(r.windows.count.outputs)) if (p && p.psi !== null) sample.psi.push({ model: m.name, version, feature: `output:${name}`, psi: p.psi });
      for (const c of t.monitor.cumulativeCounts()) c.counts.forEach((rows, bin) => sample.bins.push({ model: m.name, version, feature: c.feature, bin: String(bin), rows }));
      for (const f of t.reference.features) f.shares.forEach((share, bin) => sample.shares.push({ model: m.name, version, feature: f.name, bin: String(bin), share }));
    }
  }
  return sample;
}

