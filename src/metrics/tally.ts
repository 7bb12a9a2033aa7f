// Metrics observed on every request, kept off prom-client's per-call path. prom-client's
// observe() and inc() validate the label names, hash the label object into a string and build a
// closure on every call: about 1 µs each, 7 calls per answered request, 14% of the main thread's
// time per digits request (bench/README.md, event-loop). Here a series is bound once and each
// observation is a few additions; prom-client still owns the registry and the text format.

import type { Counter, Metric, Registry } from 'prom-client';

/** One string per distinct label set: the values in `labelNames` order, NUL-separated. */
function seriesKey<L extends string>(labelNames: readonly L[], labels: Readonly<Record<L, string>>): string {
  let key = '';
  for (const n of labelNames) key += `${labels[n]}\u0000`;
  return key;
}

interface Cell {
  readonly labels: Readonly<Record<string, string>>;
  /** Per bucket (the last is +Inf), not cumulative. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A histogram registered on a prom-client Registry, exported exactly as prom-client's Histogram
 * is (`_bucket{le}` cumulative with `+Inf`, `_sum`, `_count`). Observe through `series()`.
 */
export class TallyHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly cells = new Map<string, Cell>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly L[],
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** The observer of one series, made once and held by the caller; non-finite values are ignored. */
  series(labels: Readonly<Record<L, string>>): (value: number) => void {
    const cell = this.cellOf(labels);
    return (value) => this.add(cell, value);
  }

  /** One observation without a held series: one lookup of the series by its label values. */
  observe(labels: Readonly<Record<L, string>>, value: number): void {
    this.add(this.cellOf(labels), value);
  }

  private cellOf(labels: Readonly<Record<L, string>>): Cell {
    const key = seriesKey(this.labelNames, labels);
    let cell = this.cells.get(key);
    if (cell === undefined) {
      const own: Record<string, string> = {};
      for (const n of this.labelNames) own[n] = labels[n];
      cell = { labels: own, counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 };
      this.cells.set(key, cell);
    }
    return cell;
  }

  private add(c: Cell, value: number): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.buckets;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    (c.counts[i] as number)++;
    c.sum += value;
    c.count++;
  }

  /** prom-client's metric interface: what the registry prints at a scrape. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: { labels: Record<string, string | number>; value: number; metricName: string }[] }> {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const c of this.cells.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += c.counts[i] as number;
        const le = i < this.buckets.length ? (this.buckets[i] as number) : '+Inf';
        values.push({ labels: { le, ...c.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { ...c.labels }, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...c.labels }, value: c.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Zeroes every series; held observers stay valid. */
  reset(): void {
    for (const c of this.cells.values()) {
      c.counts.fill(0);
      c.sum = 0;
      c.count = 0;
    }
  }
}

/**
 * Increments of a prom-client Counter gathered per series and added at the next read of the
 * counter: call `flush` from the counter's `collect` so every scrape (and `get()`) sees them all.
 */
export class CounterTally<L extends string> {
  private readonly pending = new Map<string, { labels: Record<L, string>; n: number }>();

  constructor(
    private readonly counter: () => Counter<L>,
    private readonly labelNames: readonly L[],
  ) {}

  /** Adds 1 to the series of `labels` (kept as given: the caller hands over a fresh object). */
  inc(labels: Record<L, string>): void {
    this.entryOf(labels).n++;
  }

  /** The incrementer of one series, made once and held by the caller (no lookup per increment). */
  series(labels: Record<L, string>): () => void {
    const p = this.entryOf(labels);
    return () => {
      p.n++;
    };
  }

  private entryOf(labels: Record<L, string>): { labels: Record<L, string>; n: number } {
    const key = seriesKey(this.labelNames, labels);
    let p = this.pending.get(key);
    if (p === undefined) {
      p = { labels, n: 0 };
      this.pending.set(key, p);
    }
    return p;
  }

  flush(): void {
    const counter = this.counter();
    for (const p of this.pending.values()) {
      if (p.n === 0) continue;
      counter.inc(p.labels, p.n);
      p.n = 0;
    }
  }
}
