// False alarms and detection delay of the drift trigger with the demo's settings, over 20 seeds
// (demo/alarms.ts; the figures are reported in docs/drift.md): unshifted replays of held-out rows
// never fire; under the scanner shift every replay fires within DELAY_BOUND shifted requests.
import path from 'node:path';
import { expect, it } from 'vitest';
import { DEMO_DRIFT, measureAlarms } from '../src/demo/alarms.js';
import { BREAST_CANCER } from '../src/train/specs.js';

/** The bound docs/drift.md states: K = 3 windows of 250 rows, plus at most one window of lag. */
const DELAY_BOUND = 1000;

it('20 unshifted replays never fire; every shifted replay fires within the stated delay', () => {
  const results = measureAlarms({
    dataPath: path.join(process.cwd(), BREAST_CANCER.dataPath),
    seeds: 20,
    drift: DEMO_DRIFT,
    unshiftedRequests: 5000,
    warmupRequests: 1500,
    maxShiftedRequests: 5000,
  });
  expect(results).toHaveLength(20);
  expect(results.map((r) => r.falseAlarms)).toEqual(new Array(20).fill(0));
  for (const r of results) {
    expect(r.maxUnshiftedScore).toBeLessThan(DEMO_DRIFT.threshold!);
    expect(r.delayRequests).not.toBeNull();
    expect(r.delayRequests!).toBeGreaterThanOrEqual(3 * 250 - 250);
    expect(r.delayRequests!).toBeLessThanOrEqual(DELAY_BOUND);
  }
});
