// The CI benchmark gate's decision, without timing anything: measured ratios against floors,
// and the floors file itself (bench/floors.json must parse and cover the gate's ratios).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { evaluateGate, floorsFor } from '../bench/lib/gate.js';
import { parseWrk, wrkScript } from '../bench/lib/wrk.js';
import { parseProcStatTicks, parseProcStatTicksWithChildren } from '../bench/lib/cpu.js';
import { median, spread } from '../bench/lib/stats.js';
import { replaceSection } from '../bench/lib/results.js';

const floors = {
  'digits: sluice/naive-fastify req/s': { min: 1.5 },
  'digits: sluice/naive-uws req/s': { min: 1.1 },
};

describe('evaluateGate', () => {
  it('passes when every ratio is at or above its floor', () => {
    const v = evaluateGate({ 'digits: sluice/naive-fastify req/s': 2.4, 'digits: sluice/naive-uws req/s': 1.1 }, floors);
    expect(v.passed).toBe(true);
    expect(v.failures).toEqual([]);
    expect(v.lines.filter((l) => l.startsWith('ok'))).toHaveLength(2);
  });

  it('fails, naming the ratio, when one drops below its floor (batching disabled)', () => {
    const v = evaluateGate({ 'digits: sluice/naive-fastify req/s': 2.4, 'digits: sluice/naive-uws req/s': 0.62 }, floors);
    expect(v.passed).toBe(false);
    expect(v.failures).toEqual(['digits: sluice/naive-uws req/s: 0.62 < floor 1.1']);
  });

  it('fails when a floored ratio was not measured or is not a number', () => {
    expect(evaluateGate({ 'digits: sluice/naive-fastify req/s': 2 }, floors).failures).toEqual([
      'digits: sluice/naive-uws req/s: not measured',
    ]);
    const v = evaluateGate({ 'digits: sluice/naive-fastify req/s': NaN, 'digits: sluice/naive-uws req/s': 3 }, floors);
    expect(v.passed).toBe(false);
  });

  it('fails on failed requests even when the ratios pass; reports ratios without a floor', () => {
    const v = evaluateGate(
      { 'digits: sluice/naive-fastify req/s': 3, 'digits: sluice/naive-uws req/s': 2, 'digits: extra': 9 },
      floors,
      { 'digits: sluice': 12, 'digits: naive-uws': 0 },
    );
    expect(v.passed).toBe(false);
    expect(v.failures).toEqual(['digits: sluice: 12 failed requests']);
    expect(v.lines).toContain('info digits: extra: 9.00 (no floor)');
  });
});

describe('bench/floors.json', () => {
  const file = JSON.parse(readFileSync(fileURLToPath(new URL('../bench/floors.json', import.meta.url)), 'utf8'));

  it('has floors for both generators, covering the headline ratios', () => {
    for (const gen of ['wrk', 'autocannon']) {
      const f = floorsFor(file, gen);
      expect(Object.keys(f)).toEqual(
        expect.arrayContaining(['digits: sluice/naive-fastify req/s', 'digits: sluice/naive-uws req/s']),
      );
    }
  });

  it('every floor sits below the medians it was set from and above the slow-on-purpose scores', () => {
    for (const gen of ['wrk', 'autocannon']) {
      for (const [name, floor] of Object.entries(floorsFor(file, gen))) {
        expect(floor.setFrom?.length, `${gen} ${name}`).toBeGreaterThan(0);
        expect(Math.min(...floor.setFrom!), `${gen} ${name}`).toBeGreaterThan(floor.min * 1.2);
        expect(Math.max(...(floor.slowOnPurpose ?? [])), `${gen} ${name}`).toBeLessThan(floor.min);
        // The same evaluation the gate runs: the slowest slow-on-purpose score fails it.
        expect(evaluateGate({ [name]: Math.max(...floor.slowOnPurpose!) }, { [name]: floor }).passed).toBe(false);
      }
    }
  });

  it('rejects a malformed file', () => {
    expect(() => floorsFor({ floors: {} }, 'wrk')).toThrow(/generators/);
    expect(() => floorsFor({ generators: { wrk: { x: { min: -1 } } } }, 'wrk')).toThrow(/positive/);
    expect(() => floorsFor({ generators: { wrk: { x: { min: 1 } } } }, 'autocannon')).toThrow(/no floors/);
  });
});

describe('bench helpers', () => {
  it('reads wrk --latency output', () => {
    const out = `Running 2s test @ http://127.0.0.1:1/v2/models/digits/infer
  1 threads and 64 connections
  Latency Distribution
     50%  612.00us
     75%    1.02ms
     90%    2.10ms
     99%   12.34ms
  30123 requests in 2.00s, 9.1MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:  15061.50
`;
    expect(parseWrk(out)).toEqual({
      requests: 30123, seconds: 2, reqPerSec: 15061.5, p50Us: 612, p99Us: 12340, non2xx: 4, socketErrors: 3,
    });
    expect(() => parseWrk('garbage')).toThrow(/request count/);
  });

  it('quotes bodies so that JSON cannot end the Lua string', () => {
    const script = wrkScript(['{"data":[[1,2]]}']);
    expect(script).toContain('[===[{"data":[[1,2]]}]===]');
  });

  it('reads utime + stime from /proc/<pid>/stat, command names with spaces included', () => {
    const stat = '1234 (node worker) S 1 1234 1234 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 11 0 5 0 0';
    expect(parseProcStatTicks(stat)).toBe(300);
    // cutime + cstime (a finished wrk) are fields 16 and 17.
    expect(parseProcStatTicksWithChildren(stat)).toBe(300);
    const withChildren = '99 (bench run) S 1 99 99 0 -1 0 0 0 0 0 10 5 70 20 20 0 1 0 5 0 0';
    expect(parseProcStatTicksWithChildren(withChildren)).toBe(105);
  });

  it('median and spread', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(spread([5, NaN, 1, 3])).toEqual({ median: 3, min: 1, max: 5, n: 3 });
  });

  it('rewrites only its own README section, or appends it', () => {
    const doc = 'intro\n<!-- bench:a:begin -->\nold\n<!-- bench:a:end -->\ntail\n';
    expect(replaceSection(doc, 'a', 'new')).toBe('intro\n<!-- bench:a:begin -->\nnew\n<!-- bench:a:end -->\ntail\n');
    expect(replaceSection('intro\n', 'b', 'x')).toBe('intro\n\n<!-- bench:b:begin -->\nx\n<!-- bench:b:end -->\n');
  });
});
