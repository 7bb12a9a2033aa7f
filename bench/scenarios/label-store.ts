// What keeping every answer for a late label costs (src/labels/label-store.ts): the store records
// each answered request, up to 100k ids per model, so whatever it keeps per answer is copied by
// young-generation scavenges, promoted, and marked. Measured in process: sluice's store next to the
// plain way to write it (an object per entry in a Map, a FIFO array of ids, compacted when half of
// it is consumed), fed the same ids (36 characters, like the UUIDs sluice gives requests), with
// one in ten labelled soon after. Per store: µs per record, the slowest single record, GC time
// per 100k records (PerformanceObserver "gc" entries), and memory after a full GC (heap and
// ArrayBuffers) at a fifth of the records and at the end: bounded means they are equal.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { LabelStore } from '../../src/labels/label-store.js';
import { defineScenario, type Goal } from '../lib/registry.js';
import { median } from '../lib/stats.js';

const CAP = 100_000;
const P1 = { role: 'primary', version: '1' } as const;

interface Store {
  record(id: string, labels: number[]): void;
  label(id: string, truth: number): boolean;
}

/** The plain store: an object per entry, a Map, and a FIFO of ids compacted when half consumed. */
function plainStore(): Store {
  const entries = new Map<string, { createdMs: number; labels: number[] }>();
  let order: string[] = [];
  let head = 0;
  return {
    record(id, labels) {
      if (!entries.has(id)) {
        while (entries.size >= CAP && head < order.length) entries.delete(order[head++]!);
        entries.set(id, { createdMs: Date.now(), labels });
        order.push(id);
        if (head > order.length / 2) {
          order = order.slice(head);
          head = 0;
        }
      }
    },
    label(id, truth) {
      const e = entries.get(id);
      if (e === undefined) return false;
      entries.delete(id);
      return e.labels[0] === truth;
    },
  };
}

function sluiceStore(): Store {
  const store = new LabelStore({ maxEntries: CAP, maxAgeMs: 3_600_000 });
  return {
    record: (id, labels) => store.record(id, P1, labels, Date.now()),
    label: (id, truth) => store.label(id, truth, Date.now()).ok,
  };
}

const gc = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

interface Figures {
  usPerRecord: number;
  /** Records that took over 1 ms (a GC pause landing in one counts too). */
  recordsOver1Ms: number;
  worstRecordMs: number;
  gcMsPer100k: number;
  /** Heap used plus ArrayBuffers (typed arrays live outside the heap), after a full GC, MiB. */
  memoryAtFifthMiB: number;
  memoryAtEndMiB: number;
}

const memoryMiB = (): number => {
  gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 2 ** 20;
};

async function measure(make: () => Store, records: number): Promise<Figures> {
  gc();
  const store = make();
  // GC entries are delivered on later turns: each is counted by when it started, from the end of
  // the first fifth (after its forced GC) to the last record.
  let gcMs = 0;
  let fromMs = Infinity;
  let untilMs = Infinity;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.startTime >= fromMs && e.startTime <= untilMs) gcMs += e.duration;
  });
  obs.observe({ entryTypes: ['gc'] });
  const hex = (i: number) => (0x10000000 + i).toString(16);
  const idOf = (i: number) => `${hex(i)}-1b2c-4d5e-8f90-${hex(i * 7)}abcd`;
  let worst = 0;
  let over1Ms = 0;
  let labelled = 0;
  let elapsedMs = 0;
  let memoryAtFifthMiB = 0;
  for (let i = 0; i < records; i++) {
    if (i === records / 5) {
      memoryAtFifthMiB = memoryMiB();
      fromMs = performance.now();
    }
    const a = performance.now();
    store.record(idOf(i), [i % 10]);
    if (i % 10 === 0 && i >= 50) labelled += store.label(idOf(i - 50), (i - 50) % 10) ? 1 : 0;
    const d = performance.now() - a;
    elapsedMs += d;
    if (d > worst) worst = d;
    if (d > 1) over1Ms++;
  }
  untilMs = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 200));
  obs.disconnect();
  const gcMsPer100k = (gcMs * 100_000) / (records - records / 5);
  const memoryAtEndMiB = memoryMiB();
  // The store must be alive when its memory is measured, and must have joined labels.
  if (labelled === 0 || store.label(idOf(records - 1), (records - 1) % 10) !== true) throw new Error('the store lost its newest answer or joined no label');
  return { usPerRecord: (elapsedMs * 1000) / records, recordsOver1Ms: over1Ms, worstRecordMs: worst, gcMsPer100k, memoryAtFifthMiB, memoryAtEndMiB };
}

export default defineScenario({
  name: 'label-store',
  order: 95,
  description: 'The late-label store at its 100k cap: µs per record, slow records, GC ms per 100k records and memory after 400k and 2M records, sluice vs an object per entry in a Map.',
  async run(ctx) {
    const records = ctx.quick ? 400_000 : 2_000_000;
    const rounds = 3;
    const runs: { sluice: Figures[]; plain: Figures[] } = { sluice: [], plain: [] };
    for (let r = 0; r < rounds; r++) {
      runs.sluice.push(await measure(sluiceStore, records));
      runs.plain.push(await measure(plainStore, records));
      ctx.log(`round ${r + 1}/${rounds}: sluice ${JSON.stringify(runs.sluice.at(-1))} plain ${JSON.stringify(runs.plain.at(-1))}`);
    }
    const med = (who: 'sluice' | 'plain', k: keyof Figures) => median(runs[who].map((f) => f[k]));
    const ratio = (k: keyof Figures) => med('sluice', k) / med('plain', k);
    const keys: [keyof Figures, string, number][] = [
      ['usPerRecord', 'µs per record (and a label for one in ten)', 3],
      ['recordsOver1Ms', 'records over 1 ms', 0],
      ['worstRecordMs', 'slowest record, ms', 2],
      ['gcMsPer100k', 'GC ms per 100k records (after the first fifth)', 1],
      ['memoryAtFifthMiB', `heap + ArrayBuffers after ${(records / 5).toLocaleString('en-US')} records, MiB`, 1],
      ['memoryAtEndMiB', `heap + ArrayBuffers after ${records.toLocaleString('en-US')} records, MiB`, 1],
    ];
    const rows = keys.map(([k, label, digits]) => [label, med('sluice', k).toFixed(digits), med('plain', k).toFixed(digits), `${ratio(k).toFixed(2)}x`]);
    const goals: Goal[] = [
      {
        name: 'late-label store: GC time per record vs an object per entry',
        target: '≤ 0.5x',
        measured: `${ratio('gcMsPer100k').toFixed(2)}x (${med('sluice', 'gcMsPer100k').toFixed(1)} vs ${med('plain', 'gcMsPer100k').toFixed(1)} ms per 100k)`,
        met: ratio('gcMsPer100k') <= 0.5,
      },
      {
        name: 'late-label store: memory stays bounded at the cap',
        target: `after ${records.toLocaleString('en-US')} records ≤ 1.1x after ${(records / 5).toLocaleString('en-US')}`,
        measured: `${med('sluice', 'memoryAtEndMiB').toFixed(1)} vs ${med('sluice', 'memoryAtFifthMiB').toFixed(1)} MiB (${(med('sluice', 'memoryAtEndMiB') / med('sluice', 'memoryAtFifthMiB')).toFixed(2)}x)`,
        met: med('sluice', 'memoryAtEndMiB') <= 1.1 * med('sluice', 'memoryAtFifthMiB'),
      },
    ];
    return {
      summary:
        `In process, one store at a time: ${records.toLocaleString('en-US')} records of new 36-character ids at the ${CAP.toLocaleString('en-US')}-id cap, ` +
        `one in ten labelled 50 records later; ${rounds} rounds alternating sluice and the plain store, medians. ` +
        'GC time from PerformanceObserver "gc" entries (the whole process, so the loop’s own garbage is in both).',
      tables: [{ title: 'per store (median of rounds)', columns: ['figure', 'sluice LabelStore', 'object per entry + Map', 'sluice ÷ plain'], rows }],
      goals,
      charts: [],
      data: runs,
    };
  },
});
