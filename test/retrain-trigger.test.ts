// The retrain trigger's rules (retrain/trigger.ts) on an injected clock: hysteresis over K
// consecutive drifted windows, re-arming, the cooldown, a new primary starting over, the accuracy
// floor, the schedule and the admin call's refusals.
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../src/errors.js';
import { driftSettings, retrainSettings } from '../src/repository/mlops-config.js';
import { RetrainTrigger, type RetrainEvent, type TriggerPolicy } from '../src/retrain/trigger.js';

function setup(over: { drift?: object; retrain?: object } = {}, configured = true) {
  let now = 1_000_000;
  let primary = '1';
  const fired: RetrainEvent[] = [];
  const suppressed: string[] = [];
  const policy: TriggerPolicy = {
    drift: driftSettings({ threshold: 0.2, consecutiveWindows: 3, ...over.drift }),
    retrain: retrainSettings({ cooldownSeconds: 60, ...over.retrain })!,
  };
  const trigger = new RetrainTrigger({
    nowMs: () => now,
    policyOf: () => (configured ? policy : undefined),
    primaryOf: () => primary,
    fire: (e) => fired.push(e),
    suppressed: (_m, reason) => suppressed.push(reason),
  });
  return {
    trigger,
    fired,
    suppressed,
    advance: (ms: number) => (now += ms),
    setPrimary: (v: string) => (primary = v),
    windows: (scores: number[], version = '1') => scores.forEach((s) => trigger.driftWindow('m', version, s, 1000)),
  };
}

describe('drift trigger', () => {
  it('fires after K consecutive windows at or over the threshold, with its numbers', () => {
    const t = setup();
    t.windows([0.3, 0.25]);
    expect(t.fired).toHaveLength(0);
    t.windows([0.2]);
    expect(t.fired).toHaveLength(1);
    expect(t.fired[0]).toMatchObject({ model: 'm', version: '1', reason: 'drift', numbers: { score: 0.2, threshold: 0.2, windows: 3, windowRows: 1000 } });
    expect(t.fired[0]!.detail).toBe('drift score 0.2 >= threshold 0.2 for 3 consecutive windows of 1000 rows');
    expect(new Date(t.fired[0]!.time).getTime()).toBe(t.fired[0]!.timeMs);
  });

  it('a window under the threshold breaks the streak', () => {
    const t = setup();
    t.windows([0.3, 0.3, 0.19, 0.3, 0.3]);
    expect(t.fired).toHaveLength(0);
    t.windows([0.3]);
    expect(t.fired).toHaveLength(1);
  });

  it('hysteresis: after firing it re-arms only once a window scores under rearmBelow', () => {
    const t = setup({ retrain: { cooldownSeconds: 0 } });
    t.windows([0.5, 0.5, 0.5]);
    expect(t.fired).toHaveLength(1);
    // Still drifted, between rearmBelow (0.1) and the threshold, then drifted again: no new event.
    t.windows([0.5, 0.5, 0.5, 0.15, 0.5, 0.5, 0.5]);
    expect(t.fired).toHaveLength(1);
    t.windows([0.05, 0.5, 0.5, 0.5]);
    expect(t.fired).toHaveLength(2);
  });

  it('the cooldown holds a persisting condition back, counted, and lets it fire when it ends', () => {
    const t = setup();
    t.windows([0.5, 0.5, 0.5]);
    t.windows([0.01]); // re-armed
    t.windows([0.5, 0.5, 0.5, 0.5]);
    expect(t.fired).toHaveLength(1);
    expect(t.suppressed).toEqual(['drift', 'drift']);
    t.advance(60_001);
    t.windows([0.5]);
    expect(t.fired).toHaveLength(2);
  });

  it('only the primary fires, and a new primary starts its streak over', () => {
    const t = setup();
    t.windows([0.5, 0.5, 0.5], '2');
    expect(t.fired).toHaveLength(0);
    t.windows([0.5, 0.5]);
    t.setPrimary('2');
    t.windows([0.5, 0.5], '2');
    expect(t.fired).toHaveLength(0);
    t.windows([0.5], '2');
    expect(t.fired[0]).toMatchObject({ version: '2' });
  });

  it('onDrift false, a null score or an unconfigured model never fire', () => {
    const off = setup({ retrain: { onDrift: false } });
    off.windows([1, 1, 1, 1]);
    expect(off.fired).toHaveLength(0);
    const t = setup();
    for (let i = 0; i < 5; i++) t.trigger.driftWindow('m', '1', null, 1000);
    expect(t.fired).toHaveLength(0);
    const none = setup({}, false);
    none.windows([1, 1, 1]);
    expect(none.fired).toHaveLength(0);
  });
});

describe('accuracy, schedule and admin triggers', () => {
  it('accuracy under the floor fires once enough rows are labelled, and re-arms at the floor', () => {
    const t = setup({ retrain: { accuracyFloor: 0.9, minLabeledRows: 50, cooldownSeconds: 0 } });
    t.trigger.accuracy('m', '1', 0.5, 49);
    expect(t.fired).toHaveLength(0);
    t.trigger.accuracy('m', '1', 0.85, 50);
    expect(t.fired[0]).toMatchObject({ reason: 'accuracy', numbers: { accuracy: 0.85, floor: 0.9, labeled: 50 } });
    t.trigger.accuracy('m', '1', 0.8, 60);
    expect(t.fired).toHaveLength(1);
    t.trigger.accuracy('m', '1', 0.95, 70);
    t.trigger.accuracy('m', '1', 0.8, 80);
    expect(t.fired).toHaveLength(2);
    // A shadow's accuracy never fires.
    t.trigger.accuracy('m', '2', 0.1, 1000);
    expect(t.fired).toHaveLength(2);
  });

  it('the schedule fires every scheduleSeconds from the first tick', () => {
    const t = setup({ retrain: { scheduleSeconds: 10, cooldownSeconds: 0 } });
    t.trigger.tick(['m']);
    expect(t.fired).toHaveLength(0);
    t.advance(9_999);
    t.trigger.tick(['m']);
    expect(t.fired).toHaveLength(0);
    t.advance(1);
    t.trigger.tick(['m']);
    t.trigger.tick(['m']);
    expect(t.fired.map((e) => e.reason)).toEqual(['schedule']);
  });

  it('an admin call fires at once, then is refused with 409 and Retry-After during the cooldown', () => {
    const t = setup();
    const e = t.trigger.manual('m');
    expect(e).toMatchObject({ reason: 'admin', model: 'm', version: '1' });
    expect(t.fired).toEqual([e]);
    t.advance(15_000);
    let err: unknown;
    try {
      t.trigger.manual('m');
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).code).toBe('SLUICE_ERR_RETRAIN_COOLDOWN');
    expect((err as SluiceError).status).toBe(409);
    expect((err as SluiceError).retryAfterS).toBe(45);
    t.advance(45_000);
    expect(t.trigger.manual('m').id).not.toBe(e.id);
  });

  it('an admin call for a model without a retrain section is 409 not configured', () => {
    const t = setup({}, false);
    expect(() => t.trigger.manual('m')).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_RETRAIN_NOT_CONFIGURED', status: 409 }));
  });
});
