// The hot-path metric forms (src/metrics/tally.ts) print exactly what prom-client's own
// Histogram and Counter print for the same observations.
import { Counter, Histogram, Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { createMetrics, UNKNOWN_MODEL } from '../src/metrics/metrics.js';
import { batchObserver, observePredictions, type ObservedBatch, type ObservedPrediction } from '../src/metrics/observe.js';
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

it('observePredictions counts each answer under its own label set when label sets alternate', async () => {
  const metrics = createMetrics();
  const observe = observePredictions(metrics);
  const event = (over: Partial<ObservedPrediction>): ObservedPrediction => ({
    shadow: false, model: 'm', modelKnown: true, version: 1, protocol: 'http_json', status: 200, code: 'OK',
    timings: { decodeUs: 1, validateUs: 1, queueUs: 1, computeUs: 1, encodeUs: 1, totalUs: 5 },
    ...over,
  });
  const queueFull = { status: 429, code: 'SLUICE_ERR_QUEUE_FULL' };
  const sent: Partial<ObservedPrediction>[] = [{}, {}, { status: 400, code: 'SLUICE_ERR_INPUT_SHAPE' }, {}, { version: 2 }, { protocol: 'ws_json' }, { model: 'other', modelKnown: false, version: null }, {}, queueFull, queueFull];
  for (const over of sent) observe(event(over));
  const text = await metrics.registry.metrics();
  const count = (labels: string): string | undefined => text.split('\n').find((l) => l.startsWith(`sluice_requests_total{${labels}}`))?.split(' ')[1];
  expect(count('model="m",version="1",protocol="http_json",status="200",code="OK"')).toBe('4');
  expect(count('model="m",version="1",protocol="http_json",status="400",code="SLUICE_ERR_INPUT_SHAPE"')).toBe('1');
  expect(count('model="m",version="2",protocol="http_json",status="200",code="OK"')).toBe('1');
  expect(count('model="m",version="1",protocol="ws_json",status="200",code="OK"')).toBe('1');
  expect(count(`model="${UNKNOWN_MODEL}",version="",protocol="http_json",status="200",code="OK"`)).toBe('1');
  expect(count('model="m",version="1",protocol="http_json",status="429",code="SLUICE_ERR_QUEUE_FULL"')).toBe('2');
  expect(text).toContain('sluice_admission_refusals_total{model="m",reason="SLUICE_ERR_QUEUE_FULL"} 2');
});

it('batchObserver counts each batch under its own model, version and place when they alternate', async () => {
  const metrics = createMetrics();
  const observe = batchObserver(metrics);
  const batch = (over: Partial<ObservedBatch>): ObservedBatch => ({ model: 'm', version: 1, rows: 4, where: 'inline', maxBatchSize: 8, ...over });
  for (const over of [{}, {}, { where: 'worker' }, {}, { version: 2, rows: 8 }, { model: 'n', maxBatchSize: 0 }]) observe(batch(over));
  const text = await metrics.registry.metrics();
  const value = (series: string): string | undefined => text.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1];
  expect(value('sluice_batches_total{model="m",version="1",where="inline"}')).toBe('3');
  expect(value('sluice_batches_total{model="m",version="1",where="worker"}')).toBe('1');
  expect(value('sluice_batches_total{model="m",version="2",where="inline"}')).toBe('1');
  expect(value('sluice_batches_total{model="n",version="1",where="inline"}')).toBe('1');
  expect(value('sluice_batch_rows_sum{model="m",version="1"}')).toBe('16');
  expect(value('sluice_batch_fill_ratio_count{model="m",version="1"}')).toBe('4');
  expect(value('sluice_batch_fill_ratio_count{model="n",version="1"}')).toBeUndefined(); // does not batch: no fill ratio
  expect(value('sluice_batch_rows_count{model="n",version="1"}')).toBe('1');
});
