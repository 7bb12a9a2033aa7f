// What is needed to join late ground truth (`POST /v2/models/{m}/feedback {"id", "label"}`) to
// the answers it judges: per request id, the primary's and each shadow's predicted class per row.
// Its own module below the engines: one store per model (label-book.ts) holds every answer once,
// and each label's result is credited to the shadow board (per-pair accuracy) and to the drift
// engine's live accuracy, which do not import each other.
//
// Bounded two ways, both counted: at most `maxEntries` ids, and an id leaves once 2 × maxEntries
// ids were first recorded after it (evicted_full either way: the store is a ring of 2 × maxEntries
// slots, and a slot emptied by a label stays in the ring until it comes round); and each id for at
// most `maxAgeMs` after its first record (evicted_age). Age is measured on the injected clock; it
// should be monotonic (if it steps back, age eviction stops early until it catches up, and the cap
// still bounds the store). Per entry at most MAX_SHADOWS_PER_ENTRY shadows.
//
// Layout, for the garbage collector: every answered request is recorded and lives until evicted,
// long enough to be copied by a young-generation scavenge and promoted to the old one. An object
// per entry made that ~250 bytes a request, and the creation queue kept every id ever recorded
// until a compaction that the steady state never reached (a leak: 240 MB after 2M records).
// Measured on digits at one connection (2026-12-07), a scavenge's copying went from 0.2 to 0.43
// ms; at 64 connections the promoted entries cost a mark-compact every few seconds and ~7% of
// the throughput. Keeping only the id strings, in a Map, still cost ~60 bytes a request and half
// of that, and compacting a 200k-slot array stalled a record ~7 ms every 100k requests. So an
// entry is a slot of a ring of parallel arrays, nothing is ever compacted: the id's UTF-16 units
// in IdSlots (id-slots.ts), typed arrays for its time and versions (interned), plain arrays for
// its labels, where a one-row answer is kept as its number (a small integer is no object). Only a
// multi-row answer's labels array, and an id over 48 units, stay alive as objects. The ring
// starts small and doubles up to its size (each time, one copy of what it holds).

import { hashOf, IdSlots, ringRuns } from './id-slots.js';

export type LabelSide = { readonly role: 'primary' | 'shadow'; readonly version: string };

/** A ground-truth label: a class index, or a class name mapped through `classes`. */
export type GroundTruth = number | string;

export interface LabelStoreConfig {
  /** Ids held at most (integer ≥ 1). */
  readonly maxEntries: number;
  /** An id is forgotten once nowMs − first record > maxAgeMs (> 0). */
  readonly maxAgeMs: number;
  /** Class names in index order: a string label "cat" means the index of "cat". */
  readonly classes?: readonly string[];
}

/** One side's score on one labelled request (rows). */
export interface SideCredit {
  readonly version: string;
  readonly labeled: number;
  readonly correct: number;
}

/** What to credit to one (primary, shadow) pair: PairStats.recordLabeled(labeled, primaryCorrect, shadowCorrect). */
export interface PairCredit {
  readonly primary: string;
  readonly shadow: string;
  readonly labeled: number;
  readonly primaryCorrect: number;
  readonly shadowCorrect: number;
}

/**
 * Refusals of label(): `unknown_id` (never recorded, evicted, or already labelled),
 * `invalid_label` (not an integer, or an empty list), `unknown_class` (a name not in `classes`,
 * or any name when there are none), `rows_mismatch` (no recorded side predicted that many rows).
 * Only `unknown_id` leaves nothing behind; after the others the entry stays for a corrected label.
 */
export type LabelRefusal = 'unknown_id' | 'invalid_label' | 'unknown_class' | 'rows_mismatch';

export type LabelResult =
  | {
      readonly ok: true;
      readonly primary: SideCredit | null;
      readonly pairs: readonly PairCredit[];
      /** When the id's answers were first recorded (the store's clock): a reader that restarted its counts since may ignore the credit. */
      readonly recordedMs: number;
    }
  | { readonly ok: false; readonly reason: LabelRefusal };

export const MAX_SHADOWS_PER_ENTRY = 16;

/** One side's predicted class per row; a one-row answer as its number (no array kept). */
type Labels = number | readonly number[];

const INITIAL_SLOTS = 1024;
/** The ring's slots per allowed entry: slots emptied by a label wait there until the ring comes round. */
const RING_SLOTS_PER_ENTRY = 2;
const NO_VERSION = -1;

export class LabelStore {
  private cfg: Readonly<LabelStoreConfig>;
  private classIndex: ReadonlyMap<string, number>;
  private readonly ids: IdSlots;
  private readonly maxSlots: number;
  private slots: number;
  /** The ring: `used` slots from `head` on (wrapping), oldest first; `live` of them hold an entry. */
  private head = 0;
  private used = 0;
  private live = 0;
  private createdMs: Float64Array;
  private primaryVersion: Int32Array;
  private primaryLabels: (Labels | undefined)[] = [];
  /** The first shadow recorded for the slot (NO_VERSION: none); the others in moreShadows. */
  private shadowVersion: Int32Array;
  private shadowLabels: (Labels | undefined)[] = [];
  private moreShadows = new Map<number, Map<string, Labels>>();
  private readonly versions: string[] = [];
  private readonly versionIndex = new Map<string, number>();
  private evictedFullN = 0;
  private evictedAgeN = 0;

  constructor(config: LabelStoreConfig) {
    if (!Number.isInteger(config.maxEntries) || config.maxEntries < 1) throw new RangeError(`label store: maxEntries must be an integer >= 1, got ${config.maxEntries}`);
    if (!(config.maxAgeMs > 0)) throw new RangeError(`label store: maxAgeMs must be > 0, got ${config.maxAgeMs}`);
    const classes = config.classes ?? [];
    this.classIndex = indexOfClasses(classes);
    this.cfg = Object.freeze({ ...config, classes: Object.freeze([...classes]) });
    this.maxSlots = RING_SLOTS_PER_ENTRY * config.maxEntries;
    this.slots = Math.min(INITIAL_SLOTS, this.maxSlots);
    this.ids = new IdSlots(this.slots);
    this.createdMs = new Float64Array(this.slots);
    this.primaryVersion = new Int32Array(this.slots);
    this.shadowVersion = new Int32Array(this.slots);
  }

  get config(): Readonly<LabelStoreConfig> {
    return this.cfg;
  }

  /**
   * The class names labels map through from now on (the model's classes changed on reload).
   * Entries keep the class indices they were recorded with. Throws RangeError on duplicates.
   */
  useClasses(classes: readonly string[]): void {
    this.classIndex = indexOfClasses(classes);
    this.cfg = Object.freeze({ ...this.cfg, classes: Object.freeze([...classes]) });
  }

  get size(): number {
    return this.live;
  }

  /** Counters for metrics and the admin report. */
  stats(): { entries: number; evicted_full: number; evicted_age: number } {
    return { entries: this.live, evicted_full: this.evictedFullN, evicted_age: this.evictedAgeN };
  }

  /**
   * Keeps one side's predicted class per row for `id` (Comparer.predictedLabels). The store keeps
   * `labels` as given: the caller must not mutate it afterwards. Recording a side again replaces
   * it; the entry keeps its first record's time. A shadow beyond MAX_SHADOWS_PER_ENTRY is ignored.
   */
  record(id: string, side: LabelSide, labels: readonly number[], nowMs: number): void {
    this.evictAged(nowMs);
    const h = hashOf(id);
    let s = this.ids.find(id, h);
    if (s === -1) {
      if (this.live >= this.cfg.maxEntries && this.dropOldest()) this.evictedFullN++;
      s = this.newSlot(id, h, nowMs);
    }
    const packed: Labels = labels.length === 1 ? labels[0]! : labels;
    const v = this.versionOf(side.version);
    if (side.role === 'primary') {
      this.primaryVersion[s] = v;
      this.primaryLabels[s] = packed;
    } else if (this.shadowVersion[s] === NO_VERSION || this.shadowVersion[s] === v) {
      this.shadowVersion[s] = v;
      this.shadowLabels[s] = packed;
    } else {
      let more = this.moreShadows.get(s);
      if (more === undefined) this.moreShadows.set(s, (more = new Map()));
      if (more.has(side.version) || 1 + more.size < MAX_SHADOWS_PER_ENTRY) more.set(side.version, packed);
    }
  }

  /**
   * Joins ground truth to what was recorded for `id`: one label (a one-row request) or one per
   * row. On success the entry is removed (a second label for the same id is `unknown_id`) and the
   * result says what each side got right: `primary` when the primary was recorded with that many
   * rows, and one PairCredit per shadow recorded with that many rows, when the primary was too.
   */
  label(id: string, truth: GroundTruth | readonly GroundTruth[], nowMs: number): LabelResult {
    this.evictAged(nowMs);
    const s = this.ids.find(id);
    if (s === -1) return { ok: false, reason: 'unknown_id' };
    const want = classIndicesOf(truth, this.classIndex);
    if (typeof want === 'string') return { ok: false, reason: want };
    const pv = this.primaryVersion[s]!;
    const pl = this.primaryLabels[s];
    const p = pv !== NO_VERSION && pl !== undefined && rowsOf(pl) === want.length ? { version: this.versions[pv]!, labels: pl } : null;
    const matching = this.shadowsOf(s).filter(([, labels]) => rowsOf(labels) === want.length);
    if (!p && matching.length === 0) return { ok: false, reason: 'rows_mismatch' };
    const recordedMs = this.createdMs[s]!;
    this.clearSlot(s);
    const primaryCorrect = p ? correct(p.labels, want) : 0;
    const pairs: PairCredit[] = p
      ? matching.map(([shadow, labels]) => ({ primary: p.version, shadow, labeled: want.length, primaryCorrect, shadowCorrect: correct(labels, want) }))
      : [];
    return { ok: true, primary: p ? { version: p.version, labeled: want.length, correct: primaryCorrect } : null, pairs, recordedMs };
  }

  /** The slot's shadows in the order they were first recorded. */
  private shadowsOf(s: number): [string, Labels][] {
    const out: [string, Labels][] = [];
    const first = this.shadowLabels[s];
    if (this.shadowVersion[s] !== NO_VERSION && first !== undefined) out.push([this.versions[this.shadowVersion[s]!]!, first]);
    for (const entry of this.moreShadows.get(s) ?? []) out.push(entry);
    return out;
  }

  private versionOf(version: string): number {
    let v = this.versionIndex.get(version);
    if (v === undefined) {
      v = this.versions.push(version) - 1;
      this.versionIndex.set(version, v);
    }
    return v;
  }

  /** Drops entries from the oldest while they are older than maxAgeMs. */
  private evictAged(nowMs: number): void {
    for (let s = this.oldest(); s !== -1 && nowMs - this.createdMs[s]! > this.cfg.maxAgeMs; s = this.oldest()) {
      this.dropOldest();
      this.evictedAgeN++;
    }
  }

  /** The oldest live slot (-1: none); empty slots at the head leave the ring on the way. */
  private oldest(): number {
    while (this.used > 0 && !this.ids.has(this.head)) this.advanceHead();
    return this.used > 0 ? this.head : -1;
  }

  private dropOldest(): boolean {
    const s = this.oldest();
    if (s === -1) return false;
    this.clearSlot(s);
    this.advanceHead();
    return true;
  }

  private advanceHead(): void {
    this.head = this.head + 1 === this.slots ? 0 : this.head + 1;
    this.used--;
  }

  /** The next slot of the ring for a new entry: the ring grows up to maxSlots, then its oldest entry leaves. */
  private newSlot(id: string, h: number, nowMs: number): number {
    if (this.used === this.slots) {
      if (this.slots < this.maxSlots) this.grow(Math.min(2 * this.slots, this.maxSlots));
      // Full at its size: the oldest entry leaves, unless passing the empty slots at the head made room.
      else if (this.oldest() !== -1 && this.used === this.slots) {
        this.dropOldest();
        this.evictedFullN++;
      }
    }
    let s = this.head + this.used;
    if (s >= this.slots) s -= this.slots;
    this.used++;
    this.ids.add(s, id, h);
    this.live++;
    this.createdMs[s] = nowMs;
    this.primaryVersion[s] = NO_VERSION;
    this.shadowVersion[s] = NO_VERSION;
    return s;
  }

  /** Forgets what a live slot holds, so that it keeps nothing alive; the slot stays in the ring, empty. */
  private clearSlot(s: number): void {
    this.ids.remove(s);
    this.live--;
    this.primaryLabels[s] = undefined;
    this.shadowLabels[s] = undefined;
    if (this.moreShadows.size > 0) this.moreShadows.delete(s);
  }

  /** A larger ring: the used slots, oldest first, become slots 0 … used − 1. Rare: capacity doubles each time, up to maxSlots. */
  private grow(slots: number): void {
    const createdMs = new Float64Array(slots);
    const primaryVersion = new Int32Array(slots);
    const shadowVersion = new Int32Array(slots);
    const primaryLabels: (Labels | undefined)[] = [];
    const shadowLabels: (Labels | undefined)[] = [];
    const more = new Map<number, Map<string, Labels>>();
    let to = 0;
    for (const [from, n] of ringRuns(this.head, this.used, this.slots)) {
      createdMs.set(this.createdMs.subarray(from, from + n), to);
      primaryVersion.set(this.primaryVersion.subarray(from, from + n), to);
      shadowVersion.set(this.shadowVersion.subarray(from, from + n), to);
      for (let k = 0; k < n; k++) {
        primaryLabels[to + k] = this.primaryLabels[from + k];
        shadowLabels[to + k] = this.shadowLabels[from + k];
        const m = this.moreShadows.get(from + k);
        if (m !== undefined) more.set(to + k, m);
      }
      to += n;
    }
    this.ids.relayout(slots, this.head, this.used);
    this.createdMs = createdMs;
    this.primaryVersion = primaryVersion;
    this.shadowVersion = shadowVersion;
    this.primaryLabels = primaryLabels;
    this.shadowLabels = shadowLabels;
    this.moreShadows = more;
    this.slots = slots;
    this.head = 0;
  }
}

function indexOfClasses(classes: readonly string[]): Map<string, number> {
  const index = new Map(classes.map((c, i) => [c, i]));
  if (index.size !== classes.length) throw new RangeError('label store: duplicate class names');
  return index;
}

/**
 * A label (or one per row) as class indices: integers as given, names through `classIndex`;
 * `invalid_label` for an empty list or a value that is neither, `unknown_class` for a name not in it.
 */
export function classIndicesOf(truth: GroundTruth | readonly GroundTruth[], classIndex: ReadonlyMap<string, number>): number[] | 'invalid_label' | 'unknown_class' {
  const list: readonly GroundTruth[] = Array.isArray(truth) ? truth : [truth as GroundTruth];
  if (list.length === 0) return 'invalid_label';
  const out = new Array<number>(list.length);
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (typeof v === 'string') {
      const idx = classIndex.get(v);
      if (idx === undefined) return 'unknown_class';
      out[i] = idx;
    } else if (typeof v === 'number' && Number.isInteger(v)) out[i] = v;
    else return 'invalid_label';
  }
  return out;
}

function rowsOf(labels: Labels): number {
  return typeof labels === 'number' ? 1 : labels.length;
}

function correct(predicted: Labels, truth: readonly number[]): number {
  if (typeof predicted === 'number') return predicted === truth[0] ? 1 : 0;
  let n = 0;
  for (let i = 0; i < truth.length; i++) if (predicted[i] === truth[i]) n++;
  return n;
}
