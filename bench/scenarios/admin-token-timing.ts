// Issue 15, control plane: does the admin token check take the same time whatever the guess? The
// check (src/transport/admin/auth.ts bearerCheck) hashes both sides and compares the digests with
// timingSafeEqual. Measured in process (a network round trip would bury nanoseconds in noise):
// ns per check for the right token, guesses wrong at the first or the last byte, a short guess,
// and no header; next to the naive `header === "Bearer " + token`, which stops at the first
// differing byte. Rounds alternate the candidates, and each figure is the median of the rounds.
import { randomBytes } from 'node:crypto';
import { bearerCheck } from '../../src/transport/admin/auth.js';
import { defineScenario, type Goal } from '../lib/registry.js';

const TOKEN = randomBytes(32).toString('hex'); // what `openssl rand -hex 32` gives: 64 characters

const CANDIDATES: [string, string][] = [
  ['right token', `Bearer ${TOKEN}`],
  ['first byte wrong', `Bearer ${TOKEN[0] === 'a' ? 'b' : 'a'}${TOKEN.slice(1)}`],
  ['last byte wrong', `Bearer ${TOKEN.slice(0, -1)}${TOKEN.at(-1) === 'a' ? 'b' : 'a'}`],
  ['8 characters', `Bearer ${TOKEN.slice(0, 8)}`],
  ['no header', ''],
];

/** ns per call of `check(value)`, over `calls` calls. */
function nsPerCall(check: (v: string) => boolean, value: string, calls: number): number {
  let yes = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) if (check(value)) yes++;
  const ns = Number(process.hrtime.bigint() - t0) / calls;
  if (yes < 0) throw new Error('unreachable');
  return ns;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default defineScenario({
  name: 'admin-token-timing',
  order: 90,
  description: 'Admin bearer-token check: ns per check by guess (right, first or last byte wrong, short, none), sluice vs a naive string comparison.',
  async run(ctx) {
    const sluice = bearerCheck(TOKEN);
    const expected = `Bearer ${TOKEN}`;
    const naive = (v: string): boolean => v === expected;
    const rounds = ctx.quick ? 11 : 31;
    const calls = ctx.quick ? 20_000 : 100_000;
    const figures = new Map<string, { sluice: number[]; naive: number[] }>(CANDIDATES.map(([name]) => [name, { sluice: [], naive: [] }]));
    for (let r = 0; r < rounds + 1; r++) {
      for (const [name, value] of CANDIDATES) {
        const s = nsPerCall(sluice, value, calls);
        const n = nsPerCall(naive, value, calls * 10);
        if (r === 0) continue; // warm-up round
        figures.get(name)!.sluice.push(s);
        figures.get(name)!.naive.push(n);
      }
    }
    const med = (name: string, who: 'sluice' | 'naive') => median(figures.get(name)![who]);
    const rows = CANDIDATES.map(([name]) => [name, med(name, 'sluice').toFixed(0), med(name, 'naive').toFixed(1)]);
    const wrong = CANDIDATES.slice(1).map(([name]) => med(name, 'sluice'));
    const spreadX = Math.max(...wrong) / Math.min(...wrong);
    const lastVsFirst = med('last byte wrong', 'sluice') / med('first byte wrong', 'sluice');
    ctx.log(`sluice: wrong guesses within ${spreadX.toFixed(3)}x of each other; last/first byte ${lastVsFirst.toFixed(3)}x`);
    const goals: Goal[] = [
      {
        name: 'the time of a wrong guess does not depend on where it is wrong',
        target: 'last-byte-wrong ÷ first-byte-wrong within 0.95–1.05x',
        measured: `${lastVsFirst.toFixed(3)}x (every wrong guess within ${spreadX.toFixed(3)}x of the others)`,
        met: lastVsFirst >= 0.95 && lastVsFirst <= 1.05,
      },
    ];
    return {
      summary:
        `In process, ${rounds} alternating rounds of ${calls.toLocaleString('en-US')} checks per candidate (the naive comparison ${(calls * 10).toLocaleString('en-US')}), ` +
        `a 64-character hex token; medians of the rounds.`,
      tables: [{ title: 'ns per check', columns: ['Authorization header', 'sluice bearerCheck', 'naive ==='], rows }],
      goals,
      charts: [],
      data: Object.fromEntries([...figures].map(([k, v]) => [k, { sluiceNs: median(v.sluice), naiveNs: median(v.naive) }])),
    };
  },
});
