// Joining late ground-truth labels to the answers they judge (src/labels/label-store.ts): which
// sides get credit, the two bounds and their counters, refusals, and string class names.
import { describe, expect, it } from 'vitest';
import { createComparer } from '../src/shadow/compare.js';
import { LabelStore, MAX_SHADOWS_PER_ENTRY } from '../src/labels/label-store.js';
import { PairStats } from '../src/shadow/pair-stats.js';

const P1 = { role: 'primary', version: '1' } as const;
const S2 = { role: 'shadow', version: '2' } as const;
const S3 = { role: 'shadow', version: '3' } as const;

/** An injected clock the test moves by hand. */
function clock(startMs = 1_000_000) {
  let now = startMs;
  return { nowMs: () => now, advance: (ms: number) => void (now += ms) };
}

describe('late labels', () => {
  it('credit each side with what it got right, per pair, and feed PairStats', () => {
    const c = clock();
    const store = new LabelStore({ maxEntries: 10, maxAgeMs: 60_000 });
    store.record('r1', P1, [1, 0, 2], c.nowMs());
    store.record('r1', S2, [1, 1, 2], c.nowMs());
    store.record('r1', S3, [0, 1, 0], c.nowMs());
    c.advance(5_000);
    const res = store.label('r1', [1, 0, 2], c.nowMs());
    expect(res).toEqual({
      ok: true,
      primary: { version: '1', labeled: 3, correct: 3 },
      pairs: [
        { primary: '1', shadow: '2', labeled: 3, primaryCorrect: 3, shadowCorrect: 2 },
        { primary: '1', shadow: '3', labeled: 3, primaryCorrect: 3, shadowCorrect: 0 },
      ],
      recordedMs: 1_000_000,
    });
    const stats = new PairStats('1', '2', c.nowMs());
    if (!res.ok) throw new Error('unreachable');
    const pair = res.pairs.find((p) => p.shadow === '2')!;
    stats.recordLabeled(pair.labeled, pair.primaryCorrect, pair.shadowCorrect);
    expect(stats.report()).toMatchObject({ labeled: 3, accuracy: { primary: 1, shadow: 2 / 3 } });
  });

  it('a single label judges a one-row request; predicted labels come from the comparer (INT64 too)', () => {
    const cmp = createComparer();
    const store = new LabelStore({ maxEntries: 10, maxAgeMs: 1000 });
    const label = (v: bigint) => ({ name: 'label', datatype: 'INT64' as const, shape: [1], data: BigInt64Array.of(v) });
    store.record('a', P1, cmp.predictedLabels([label(4n)])!, 0);
    store.record('a', S2, cmp.predictedLabels([label(5n)])!, 0);
    expect(store.label('a', 5, 10)).toMatchObject({ ok: true, primary: { correct: 0 }, pairs: [{ shadow: '2', primaryCorrect: 0, shadowCorrect: 1 }] });
  });

  it('a shadow without the primary gets no pair credit; a side with other row counts is left out', () => {
    const store = new LabelStore({ maxEntries: 10, maxAgeMs: 1000 });
    store.record('a', S2, [1], 0);
    expect(store.label('a', 1, 0)).toEqual({ ok: true, primary: null, pairs: [], recordedMs: 0 });
    store.record('b', P1, [1, 1], 0);
    store.record('b', S2, [1], 0); // a shadow answer of another shape
    expect(store.label('b', [1, 0], 0)).toEqual({ ok: true, primary: { version: '1', labeled: 2, correct: 1 }, pairs: [], recordedMs: 0 });
  });

  it('a label is used once: the second for the same id is unknown', () => {
    const store = new LabelStore({ maxEntries: 10, maxAgeMs: 1000 });
    store.record('a', P1, [1], 0);
    expect(store.label('a', 1, 0).ok).toBe(true);
    expect(store.label('a', 1, 0)).toEqual({ ok: false, reason: 'unknown_id' });
    expect(store.size).toBe(0);
  });
});

describe('refusals', () => {
  it('unknown id', () => {
    const store = new LabelStore({ maxEntries: 10, maxAgeMs: 1000 });
    expect(store.label('nope', 1, 0)).toEqual({ ok: false, reason: 'unknown_id' });
  });

  it('invalid labels and row mismatches keep the entry for a corrected label', () => {
    const store = new LabelStore({ maxEntries: 10, maxAgeMs: 1000 });
    store.record('a', P1, [1, 2], 0);
    expect(store.label('a', 1.5, 0)).toEqual({ ok: false, reason: 'invalid_label' });
    expect(store.label('a', [], 0)).toEqual({ ok: false, reason: 'invalid_label' });
    expect(store.label('a', [1, null as unknown as number], 0)).toEqual({ ok: false, reason: 'invalid_label' });
    expect(store.label('a', [1, 2, 3], 0)).toEqual({ ok: false, reason: 'rows_mismatch' });
    expect(store.label('a', [1, 2], 0)).toMatchObject({ ok: true, primary: { correct: 2 } });
  });

  it('validates its configuration', () => {
    expect(() => new LabelStore({ maxEntries: 0, maxAgeMs: 1 })).toThrow(RangeError);
    expect(() => new LabelStore({ maxEntries: 1, maxAgeMs: 0 })).toThrow(RangeError);
    expect(() => new LabelStore({ maxEntries: 1, maxAgeMs: 1, classes: ['a', 'a'] })).toThrow(/duplicate/);
  });
});

describe('string class labels', () => {
  it('map through classes; an unknown name is refused and the entry kept', () => {
    const store = new LabelStore({ maxEntries: 10, maxAgeMs: 1000, classes: ['cat', 'dog', 'bird'] });
    store.record('a', P1, [1, 2], 0);
    store.record('a', S2, [1, 0], 0);
    expect(store.label('a', ['dog', 'cow'], 0)).toEqual({ ok: false, reason: 'unknown_class' });
    expect(store.label('a', ['dog', 'bird'], 0)).toEqual({
      ok: true,
      primary: { version: '1', labeled: 2, correct: 2 },
      pairs: [{ primary: '1', shadow: '2', labeled: 2, primaryCorrect: 2, shadowCorrect: 1 }],
      recordedMs: 0,
    });
  });

  it('without classes every name is unknown; integers and names mix', () => {
    const bare = new LabelStore({ maxEntries: 10, maxAgeMs: 1000 });
    bare.record('a', P1, [0], 0);
    expect(bare.label('a', 'cat', 0)).toEqual({ ok: false, reason: 'unknown_class' });
    const named = new LabelStore({ maxEntries: 10, maxAgeMs: 1000, classes: ['cat', 'dog'] });
    named.record('b', P1, [0, 1], 0);
    expect(named.label('b', ['cat', 1], 0)).toMatchObject({ ok: true, primary: { correct: 2 } });
    named.record('c', P1, [0], 0);
    expect(named.label('c', 'constructor', 0)).toEqual({ ok: false, reason: 'unknown_class' });
  });
});

describe('bounds', () => {
  it('cap: a new id beyond maxEntries evicts the oldest, counted; a second side does not evict', () => {
    const store = new LabelStore({ maxEntries: 2, maxAgeMs: 60_000 });
    store.record('a', P1, [1], 0);
    store.record('b', P1, [1], 1);
    store.record('a', S2, [1], 2); // existing id: no eviction, and 'a' stays the oldest
    expect(store.stats()).toEqual({ entries: 2, evicted_full: 0, evicted_age: 0 });
    store.record('c', P1, [1], 3);
    expect(store.stats()).toEqual({ entries: 2, evicted_full: 1, evicted_age: 0 });
    expect(store.label('a', 1, 4)).toEqual({ ok: false, reason: 'unknown_id' });
    expect(store.label('b', 1, 4).ok).toBe(true);
    expect(store.label('c', 1, 4).ok).toBe(true);
  });

  it('the oldest live id is evicted, whatever was labelled (and relabelled) before it, over many rounds', () => {
    const cap = 50;
    const store = new LabelStore({ maxEntries: cap, maxAgeMs: 1e12 });
    const live: string[] = []; // what must be held, oldest first
    for (let i = 0; i < 20_000; i++) {
      const id = `r${i % 3000}`; // ids come back after they were labelled or evicted
      if (live.includes(id)) continue;
      store.record(id, P1, [1], i);
      live.push(id);
      if (live.length > cap) live.shift();
      if (i % 3 === 0) expect(store.label(live.splice(live.length >> 1, 1)[0]!, 1, i).ok).toBe(true);
    }
    expect(store.size).toBe(live.length);
    for (const id of live) expect(store.label(id, 1, 0).ok).toBe(true);
    expect(store.size).toBe(0);
  });

  it('age: an id lives maxAgeMs after its first record on the injected clock, counted', () => {
    const c = clock();
    const store = new LabelStore({ maxEntries: 10, maxAgeMs: 1000 });
    store.record('old', P1, [1], c.nowMs());
    c.advance(500);
    store.record('young', P1, [1], c.nowMs());
    store.record('old', S2, [1], c.nowMs()); // a later side does not renew the age
    c.advance(500); // old is exactly 1000 ms old: still kept
    store.record('x', P1, [1], c.nowMs());
    expect(store.stats()).toEqual({ entries: 3, evicted_full: 0, evicted_age: 0 });
    c.advance(1);
    expect(store.label('old', 1, c.nowMs())).toEqual({ ok: false, reason: 'unknown_id' });
    expect(store.stats()).toEqual({ entries: 2, evicted_full: 0, evicted_age: 1 }); // young and x
    expect(store.label('young', 1, c.nowMs()).ok).toBe(true);
    c.advance(10_000);
    store.record('y', P1, [1], c.nowMs()); // evicts 'x' on the way in
    expect(store.stats()).toEqual({ entries: 1, evicted_full: 0, evicted_age: 2 });
  });

  it(`keeps at most ${MAX_SHADOWS_PER_ENTRY} shadows per id`, () => {
    const store = new LabelStore({ maxEntries: 10, maxAgeMs: 1000 });
    store.record('a', P1, [1], 0);
    for (let v = 0; v < MAX_SHADOWS_PER_ENTRY + 3; v++) store.record('a', { role: 'shadow', version: String(100 + v) }, [1], 0);
    const res = store.label('a', 1, 0);
    expect(res.ok && res.pairs.length).toBe(MAX_SHADOWS_PER_ENTRY);
  });
});


/**
 * The store's contract written the plain way (an object per entry, a Map in creation order), to
 * check the slot layout against: the same calls must give the same answers and counters. Both
 * bounds as documented: at most maxEntries ids, and an id leaves once 2 × maxEntries ids were
 * created after it (the ring comes round to its slot).
 */
class ReferenceStore {
  private readonly entries = new Map<string, { createdMs: number; seq: number; primary: [string, number[]] | null; shadows: Map<string, number[]> }>();
  private seq = 0;
  full = 0;
  age = 0;
  get size(): number {
    return this.entries.size;
  }
  constructor(private readonly maxEntries: number, private readonly maxAgeMs: number) {}

  record(id: string, side: { role: 'primary' | 'shadow'; version: string }, labels: number[], nowMs: number): void {
    this.evict(nowMs);
    let e = this.entries.get(id);
    if (!e) {
      if (this.entries.size >= this.maxEntries) {
        this.entries.delete(this.entries.keys().next().value!);
        this.full++;
      }
      const oldest = this.entries.values().next().value;
      if (oldest !== undefined && this.seq - oldest.seq >= 2 * this.maxEntries) {
        this.entries.delete(this.entries.keys().next().value!);
        this.full++;
      }
      e = { createdMs: nowMs, seq: this.seq++, primary: null, shadows: new Map() };
      this.entries.set(id, e);
    }
    if (side.role === 'primary') e.primary = [side.version, labels];
    else if (e.shadows.has(side.version) || e.shadows.size < MAX_SHADOWS_PER_ENTRY) e.shadows.set(side.version, labels);
  }

  label(id: string, truth: number[], nowMs: number): unknown {
    this.evict(nowMs);
    const e = this.entries.get(id);
    if (!e) return { ok: false, reason: 'unknown_id' };
    const right = (l: number[]) => l.filter((v, i) => v === truth[i]).length;
    const p = e.primary && e.primary[1].length === truth.length ? e.primary : null;
    const matching = [...e.shadows].filter(([, l]) => l.length === truth.length);
    if (!p && matching.length === 0) return { ok: false, reason: 'rows_mismatch' };
    this.entries.delete(id);
    const primaryCorrect = p ? right(p[1]) : 0;
    return {
      ok: true,
      primary: p ? { version: p[0], labeled: truth.length, correct: primaryCorrect } : null,
      pairs: p ? matching.map(([shadow, l]) => ({ primary: p[0], shadow, labeled: truth.length, primaryCorrect, shadowCorrect: right(l) })) : [],
      recordedMs: e.createdMs,
    };
  }

  private evict(nowMs: number): void {
    for (const [id, e] of this.entries) {
      if (nowMs - e.createdMs <= this.maxAgeMs) return;
      this.entries.delete(id);
      this.age++;
    }
  }
}

describe('slot layout', () => {
  it('keeps every answer when the ring grows while it wraps round', () => {
    const store = new LabelStore({ maxEntries: 5000, maxAgeMs: 1e12 });
    const shadow = (v: number) => ({ role: 'shadow' as const, version: String(v) });
    // 1024 slots (the first size): fill them, label the oldest 100 so the head moves past them,
    // then 100 more ids take the freed slots at the start, and the next one makes the ring grow.
    for (let i = 0; i < 1024; i++) {
      store.record(`a${i}`, P1, [i % 7, 1], i);
      if (i % 3 === 0) store.record(`a${i}`, shadow(2), [i % 5, 1], i);
      if (i % 5 === 0) for (const v of [3, 4]) store.record(`a${i}`, shadow(v), [v, 1], i);
    }
    for (let i = 0; i < 100; i++) expect(store.label(`a${i}`, [i % 7, 1], 2000).ok).toBe(true);
    for (let i = 1024; i < 1124; i++) store.record(`a${i}`, P1, [i % 7, 1], i);
    store.record('a1124', P1, [1124 % 7, 1], 1124);
    expect(store.size).toBe(1025);
    for (let i = 100; i <= 1124; i++) {
      const res = store.label(`a${i}`, [i % 7, 1], 5000);
      const pairs = [...(i % 3 === 0 && i < 1024 ? ['2'] : []), ...(i % 5 === 0 && i < 1024 ? ['3', '4'] : [])];
      expect(res).toMatchObject({ ok: true, primary: { version: '1', correct: 2 }, recordedMs: i });
      expect(res.ok && res.pairs.map((p) => p.shadow)).toEqual(pairs);
    }
    expect(store.stats()).toEqual({ entries: 0, evicted_full: 0, evicted_age: 0 });
  });

  it('answers as the plain store does over random records, labels and clock steps, while the ring grows and wraps', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), seed % n);
    for (const [maxEntries, ids] of [[3000, 9000], [40, 120], [1, 4]] as const) {
      const store = new LabelStore({ maxEntries, maxAgeMs: 5_000 });
      const ref = new ReferenceStore(maxEntries, 5_000);
      let now = 0;
      for (let i = 0; i < 60_000; i++) {
        now += rand(3);
        const id = `r${rand(ids)}`;
        const rows = 1 + rand(3);
        const labels = Array.from({ length: rows }, () => rand(4));
        const op = rand(10);
        if (op < 6) {
          const side = op < 3 ? P1 : { role: 'shadow' as const, version: String(2 + rand(op === 5 ? 20 : 3)) };
          store.record(id, side, labels, now);
          ref.record(id, side, labels, now);
        } else {
          expect(store.label(id, labels, now)).toEqual(ref.label(id, labels, now));
        }
        if (i % 997 === 0) expect(store.stats()).toEqual({ entries: ref.size, evicted_full: ref.full, evicted_age: ref.age });
      }
      expect(store.stats()).toEqual({ entries: ref.size, evicted_full: ref.full, evicted_age: ref.age });
      expect(ref.full + ref.age).toBeGreaterThan(0);
    }
  });
});
