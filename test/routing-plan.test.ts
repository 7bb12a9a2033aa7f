// The routing step: primary from the table (or the explicit version), shadows by a stable hash of
// the request id. Pure functions, driven directly.
import { describe, expect, it } from 'vitest';
import { prng } from './helpers/third-party.js';
import { cohortPoint, DEFAULT_ROUTING, planRoute, type VersionSource } from '../src/routing/index.js';

/** Versions 1..3 serve; "newest READY" is 3; 4 is known but not READY (no shadow copy). */
const source: VersionSource<string> = {
  primary: (v) => {
    if (v === undefined) return 'v3';
    if (v > 3) throw new Error(`version ${v} is not READY`);
    return `v${v}`;
  },
  shadow: (v) => (v <= 3 ? `v${v}` : undefined),
};

describe('planRoute', () => {
  it('the default table: newest READY primary, no shadows', () => {
    expect(planRoute(DEFAULT_ROUTING, source, 'any-id', undefined)).toEqual({ primary: 'v3', shadows: [] });
  });

  it('an explicit version bypasses the table and is never mirrored', () => {
    const table = { primary: 1, shadows: [{ version: 2, percent: 100 }] };
    expect(planRoute(table, source, 'x', 3)).toEqual({ primary: 'v3', shadows: [] });
    expect(planRoute(table, source, 'x', undefined)).toEqual({ primary: 'v1', shadows: ['v2'] });
  });

  it('skips a shadow that cannot take a copy and a shadow equal to the primary; refusals of the primary pass through', () => {
    expect(planRoute({ primary: 2, shadows: [{ version: 4, percent: 100 }, { version: 2, percent: 100 }, { version: 1, percent: 100 }] }, source, 'x', undefined)).toEqual({
      primary: 'v2',
      shadows: ['v1'],
    });
    expect(() => planRoute({ primary: 4, shadows: [] }, source, 'x', undefined)).toThrow('version 4 is not READY');
  });

  it('over 10,000 ids, a 25% share mirrors 25% +/- 1 point, the same ids on a second pass, 0% none and 100% all', () => {
    // UUID-shaped ids from a seeded generator: random ones made this test fail about one run in
    // fifty (the share's standard deviation over 10,000 ids is 0.43 points).
    const rand = prng(25);
    const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
    const ids = Array.from({ length: 10_000 }, () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`);
    const table = { primary: 1, shadows: [{ version: 2, percent: 25 }] };
    const first = ids.map((id) => planRoute(table, source, id, undefined).shadows.length === 1);
    const share = first.filter(Boolean).length / ids.length;
    expect(share).toBeGreaterThanOrEqual(0.24);
    expect(share).toBeLessThanOrEqual(0.26);
    const second = ids.map((id) => planRoute(table, source, id, undefined).shadows.length === 1);
    expect(second).toEqual(first);
    const none = ids.filter((id) => planRoute({ primary: 1, shadows: [{ version: 2, percent: 0 }] }, source, id, undefined).shadows.length > 0);
    expect(none).toEqual([]);
    const all = ids.filter((id) => planRoute({ primary: 1, shadows: [{ version: 2, percent: 100 }] }, source, id, undefined).shadows.length === 1);
    expect(all).toHaveLength(ids.length);
  });

  it('fractional shares and sequential ids spread evenly; cohorts are nested', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `req-${i}`);
    const at = (p: number) => ids.filter((id) => cohortPoint(id) < p);
    expect(at(2.5).length / ids.length).toBeCloseTo(0.025, 2);
    const ten = new Set(at(10));
    expect(ten.size / ids.length).toBeGreaterThan(0.09);
    expect(ten.size / ids.length).toBeLessThan(0.11);
    expect(at(5).every((id) => ten.has(id))).toBe(true);
    for (const id of ids.slice(0, 100)) {
      expect(cohortPoint(id)).toBeGreaterThanOrEqual(0);
      expect(cohortPoint(id)).toBeLessThan(100);
    }
  });
});
