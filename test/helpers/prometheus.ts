// Reads a Prometheus text exposition back with parse-prometheus-text-format (CommonJS, untyped:
// its output is typed here) and answers questions about its series.
//
// Trap: the parser folds every series of a histogram into one object (its flattenMetrics drops
// the labels and lets the last series' buckets win), so a labelled histogram cannot be read from
// its output. Histogram TYPE lines are therefore read here and turned into `untyped` before
// parsing: each histogram then comes back as its sample names — `<name>_bucket` (with `le`),
// `<name>_sum`, `<name>_count` — with every label intact.
import { createRequire } from 'node:module';

/** One sample as the parser gives it: values are strings ("1", "+Inf", "5.11e-7"). */
export interface ParsedSample {
  labels?: Record<string, string>;
  value: string;
}

interface ParsedFamily {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: ParsedSample[];
}

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => ParsedFamily[];

const HISTOGRAM_TYPE_LINE = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) histogram$/gm;

export class Exposition {
  /** Declared families (HELP/TYPE) by name, with their type. */
  readonly types: ReadonlyMap<string, MetricType>;
  /** Samples by sample name (a histogram's are under `_bucket`, `_sum`, `_count`). */
  private readonly byName = new Map<string, ParsedSample[]>();

  constructor(readonly text: string) {
    const histograms = new Set([...text.matchAll(HISTOGRAM_TYPE_LINE)].map((m) => m[1]!));
    const types = new Map<string, MetricType>();
    // A histogram's series alternate _bucket, _sum, _count: the parser returns one family per run.
    for (const f of parse(text.replace(HISTOGRAM_TYPE_LINE, '# TYPE $1 untyped'))) {
      if (f.help !== '' || f.type !== 'UNTYPED' || histograms.has(f.name)) {
        types.set(f.name, histograms.has(f.name) ? 'histogram' : (f.type.toLowerCase() as MetricType));
      }
      if (f.metrics.length > 0) this.byName.set(f.name, [...(this.byName.get(f.name) ?? []), ...f.metrics]);
    }
    this.types = types;
  }

  /** Every sample name that has at least one sample. */
  sampleNames(): Set<string> {
    return new Set(this.byName.keys());
  }

  /** Samples named `name` whose labels include every pair of `labels`. */
  samples(name: string, labels: Record<string, string> = {}): ParsedSample[] {
    return (this.byName.get(name) ?? []).filter((m) => Object.entries(labels).every(([k, v]) => (m.labels ?? {})[k] === v));
  }

  /** Sum of the matching samples' values (0 when none match). */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.samples(name, labels).reduce((n, m) => n + Number(m.value), 0);
  }

  /** A histogram's matching series: summed count and sum, how many series, and the cumulative bucket counts by `le`. */
  histogram(name: string, labels: Record<string, string> = {}): { count: number; sum: number; series: number; buckets: Map<string, number> } {
    const buckets = new Map<string, number>();
    for (const b of this.samples(`${name}_bucket`, labels)) buckets.set(b.labels!.le!, (buckets.get(b.labels!.le!) ?? 0) + Number(b.value));
    return { count: this.value(`${name}_count`, labels), sum: this.value(`${name}_sum`, labels), series: this.samples(`${name}_count`, labels).length, buckets };
  }

  /** The label sets of `name`'s samples, as sorted "k=v,..." strings (for exact comparisons). */
  series(name: string): string[] {
    return (this.byName.get(name) ?? []).map((m) => Object.entries(m.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',')).sort();
  }
}

/** GET `url` (with a bearer token when given) and parse it; throws unless 200. */
export async function scrape(url: string, token?: string): Promise<Exposition> {
  const res = await fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${text.slice(0, 200)}`);
  return new Exposition(text);
}
