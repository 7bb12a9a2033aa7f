// When a model should be retrained (DESIGN §8, docs/drift.md). Four sources, each turned into one
// RetrainEvent with its reason and the numbers behind it:
// - drift: the primary version's count-window score at or over `drift.threshold` for
//   `drift.consecutiveWindows` windows in a row (the windows are consecutive, non-overlapping runs
//   of `drift.windowRows` rows). Hysteresis: after firing, drift cannot fire again until a window
//   scores under `drift.rearmBelow` (or the primary changes): a model that stays drifted while its
//   retrained version is being built and checked raises one event, not one per window.
// - accuracy: the primary's live accuracy over its last `accuracyWindowRows` labelled rows falls
//   under `accuracyFloor`, once at least `minLabeledRows` were labelled; re-arms at the floor.
// - schedule: every `scheduleSeconds` (tick() checks).
// - admin: POST /admin/models/{m}/retrain.
// A cooldown (`cooldownSeconds` after the model's last event) holds back every source: a drift or
// accuracy condition that persists fires once the cooldown ends; an admin call is refused (409).
// Pure: the clock is injected, nothing here runs an action (runner.ts does).
import { randomBytes } from 'node:crypto';
import { SluiceError } from '../errors.js';
import type { DriftSettings, RetrainSettings } from '../types.js';

export type RetrainReason = 'drift' | 'accuracy' | 'schedule' | 'admin' | 'alert';

export interface RetrainEvent {
  /** Unique per event (also sent to webhooks as x-sluice-event-id, so retries can be deduplicated). */
  readonly id: string;
  readonly time: string;
  readonly timeMs: number;
  readonly model: string;
  /** The primary version when it fired (null: none routed). */
  readonly version: string | null;
  readonly reason: RetrainReason;
  /** One sentence: what crossed what. */
  readonly detail: string;
  readonly numbers: Readonly<Record<string, number | null>>;
}

export interface TriggerPolicy {
  readonly drift: DriftSettings;
  readonly retrain: RetrainSettings;
}

export interface TriggerDeps {
  nowMs(): number;
  /** Fleet mode: drift, accuracy and schedule never fire here (manual() still does). */
  readonly localConditionsOff?: boolean;
  /** The model's policy; undefined when its model.json has no `retrain` (nothing fires). */
  policyOf(model: string): TriggerPolicy | undefined;
  primaryOf(model: string): string | null;
  /** Told of each event as it fires (the runner records it and runs the actions). */
  fire(event: RetrainEvent): void;
  /** A condition that would have fired, held back by the cooldown (for a metric). */
  suppressed?(model: string, reason: RetrainReason): void;
}

interface ModelState {
  version: string | null;
  streak: number;
  driftArmed: boolean;
  accuracyArmed: boolean;
  lastEventMs: number;
  lastScheduleMs: number;
}

export class RetrainTrigger {
  private readonly states = new Map<string, ModelState>();

  constructor(private readonly deps: TriggerDeps) {}

  /** A count window of `version` closed with `score` (null: no scorable feature). */
  driftWindow(model: string, version: string, score: number | null, rows: number): void {
    const policy = this.deps.policyOf(model);
    if (policy === undefined || score === null || version !== this.deps.primaryOf(model)) return;
    const s = this.state(model, version);
    const { threshold, consecutiveWindows, rearmBelow } = policy.drift;
    if (score >= threshold) s.streak++;
    else s.streak = 0;
    if (score < rearmBelow) s.driftArmed = true;
    if (!policy.retrain.onDrift || !s.driftArmed || s.streak < consecutiveWindows || this.deps.localConditionsOff) return;
    const fired = this.tryFire(model, s, policy, 'drift', `drift score ${round(score)} >= threshold ${threshold} for ${s.streak} consecutive windows of ${rows} rows`, {
      score,
      threshold,
      windows: s.streak,
      windowRows: rows,
    });
    if (fired) {
      s.driftArmed = false;
      s.streak = 0;
    }
  }

  /** `version` was credited with labels: its live accuracy over its window is `accuracy`. */
  accuracy(model: string, version: string, accuracy: number | null, labeled: number): void {
    const policy = this.deps.policyOf(model);
    const floor = policy?.retrain.accuracyFloor;
    if (policy === undefined || floor === undefined || accuracy === null || version !== this.deps.primaryOf(model)) return;
    const s = this.state(model, version);
    if (accuracy >= floor) {
      s.accuracyArmed = true;
      return;
    }
    if (!s.accuracyArmed || labeled < policy.retrain.minLabeledRows || this.deps.localConditionsOff) return;
    if (this.tryFire(model, s, policy, 'accuracy', `live accuracy ${round(accuracy)} < floor ${floor} over ${labeled} labelled rows`, { accuracy, floor, labeled })) {
      s.accuracyArmed = false;
    }
  }

  /** Fires each model whose schedule is due (call every few seconds). */
  tick(models: readonly string[]): void {
    if (this.deps.localConditionsOff) return;
    const now = this.deps.nowMs();
    for (const model of models) {
      const policy = this.deps.policyOf(model);
      const everyS = policy?.retrain.scheduleSeconds ?? 0;
      if (policy === undefined || everyS === 0) continue;
      const s = this.state(model, this.deps.primaryOf(model));
      if (now - s.lastScheduleMs < everyS * 1000) continue;
      s.lastScheduleMs = now;
      this.tryFire(model, s, policy, 'schedule', `scheduled every ${everyS} s`, { scheduleSeconds: everyS });
    }
  }

  /** POST /admin/models/{m}/retrain (reason admin) or an Alertmanager alert (reason alert). Throws 409 when unconfigured or cooling down. */
  manual(model: string, via: { reason: 'admin' | 'alert'; detail: string; numbers?: Record<string, number | null> } = { reason: 'admin', detail: 'asked through the admin API' }): RetrainEvent {
    const policy = this.deps.policyOf(model);
    if (policy === undefined) throw new SluiceError('SLUICE_ERR_RETRAIN_NOT_CONFIGURED', `model "${model}" has no "retrain" section in its model.json`);
    const s = this.state(model, this.deps.primaryOf(model));
    const leftMs = this.cooldownLeftMs(s, policy);
    if (leftMs > 0) {
      throw new SluiceError('SLUICE_ERR_RETRAIN_COOLDOWN', `model "${model}" had a retrain event ${Math.round((policy.retrain.cooldownSeconds * 1000 - leftMs) / 1000)} s ago; its cooldown is ${policy.retrain.cooldownSeconds} s`, {
        retryAfterS: leftMs / 1000,
      });
    }
    return this.fireNow(model, s, via.reason, via.detail, via.numbers ?? {});
  }

  /** Forget a model (removed from the repository). */
  forget(model: string): void {
    this.states.delete(model);
  }

  private tryFire(model: string, s: ModelState, policy: TriggerPolicy, reason: RetrainReason, detail: string, numbers: Record<string, number | null>): boolean {
    if (this.cooldownLeftMs(s, policy) > 0) {
      this.deps.suppressed?.(model, reason);
      return false;
    }
    this.fireNow(model, s, reason, detail, numbers);
    return true;
  }

  private fireNow(model: string, s: ModelState, reason: RetrainReason, detail: string, numbers: Record<string, number | null>): RetrainEvent {
    const now = this.deps.nowMs();
    s.lastEventMs = now;
    const event: RetrainEvent = Object.freeze({
      id: randomBytes(8).toString('hex'),
      time: new Date(now).toISOString(),
      timeMs: now,
      model,
      version: s.version,
      reason,
      detail,
      numbers: Object.freeze({ ...numbers }),
    });
    this.deps.fire(event);
    return event;
  }

  private cooldownLeftMs(s: ModelState, policy: TriggerPolicy): number {
    return Math.max(0, s.lastEventMs + policy.retrain.cooldownSeconds * 1000 - this.deps.nowMs());
  }

  /** The model's state; a new primary starts its streaks over (the old one's windows judged another model). */
  private state(model: string, version: string | null): ModelState {
    let s = this.states.get(model);
    if (s === undefined) {
      s = { version, streak: 0, driftArmed: true, accuracyArmed: true, lastEventMs: Number.NEGATIVE_INFINITY, lastScheduleMs: this.deps.nowMs() };
      this.states.set(model, s);
    } else if (s.version !== version) {
      Object.assign(s, { version, streak: 0, driftArmed: true, accuracyArmed: true });
    }
    return s;
  }
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
