// The hot-path metric forms (src/metrics/tally.ts) print exactly what prom-client's own
// Histogram and Counter print for the same observations.
import { Counter, Histogram, Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { CounterTally, TallyHistogram } from '../src/metrics/tally.js';
import { prng } from './helpers/third-party.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];

it('TallyHistogram: the same exposition text as a prom-client Histogram, after reset too', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const tally = new TallyHistogram('x_seconds', 'help text', ['model', 'stage'], BUCKETS, ours);
  const hist = new Histogram({ name: 'x_seconds', help: 'help text', labelNames: ['model', 'stage'], buckets: BUCKETS, registers: [theirs] });
  const rnd = prng(5);
  const a = tally.series({ model: 'm', stage: 'decode' });
  for (let i = 0; i < 500; i++) {
    const v = rnd() < 0.1 ? BUCKETS[Math.floor(rnd() * 4)]! : rnd() ** 4 * 3; // bucket edges included
    const stage = rnd() < 0.5 ? 'decode' : 'total';
    if (stage === 'decode') a(v);
    else tally.observe({ model: 'm', stage }, v);
    hist.observe({ model: 'm', stage }, v);
  }
  a(Number.NaN); // ignored (prom-client throws)
  expect(await ours.metrics()).toBe(await theirs.metrics());
  tally.reset();
  hist.reset();
  a(0.5);
  hist.observe({ model: 'm', stage: 'decode' }, 0.5);
  // prom-client forgets a reset series; ours keeps it at zero (its observers stay bound).
  const oursText = await ours.metrics();
  expect(oursText).toContain('x_seconds_count{model="m",stage="total"} 0');
  expect(oursText.split('\n').filter((l) => !l.includes('stage="total"')).join('\n')).toBe(await theirs.metrics());
});

it('CounterTally: every increment is in the counter at its next read', async () => {
  const registry = new Registry();
  const tally: CounterTally<'a' | 'b'> = new CounterTally<'a' | 'b'>(() => counter, ['a', 'b']);
  const counter: Counter<'a' | 'b'> = new Counter<'a' | 'b'>({ name: 'n_total', help: 'h', labelNames: ['a', 'b'], registers: [registry], collect: (): void => tally.flush() });
  for (let i = 0; i < 7; i++) tally.inc({ a: 'x', b: '1' });
  tally.inc({ a: 'y', b: '2' });
  expect((await counter.get()).values.map((v) => [v.labels, v.value])).toEqual([[{ a: 'x', b: '1' }, 7], [{ a: 'y', b: '2' }, 1]]);
  tally.inc({ a: 'x', b: '1' });
  expect(await registry.metrics()).toContain('n_total{a="x",b="1"} 8');
});
