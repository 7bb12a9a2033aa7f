// What is needed to join late ground truth (`POST /v2/models/{m}/feedback {"id", "label"}`) to
// the answers it judges: per request id, the primary's and each shadow's predicted class per row.
// Its own module below the engines: one store per model (label-book.ts) holds every answer once,
// and each label's result is credited to the shadow board (per-pair accuracy) and to the drift
// engine's live accuracy, which do not import each other.
//
// Bounded two ways, both counted: at most `maxEntries` ids (a new id beyond that evicts the
// oldest: evicted_full) and each id for at most `maxAgeMs` after its first record (evicted_age).
// Creation order is kept in a queue of (id, seq) beside the Map, so the oldest entry is found at the
// queue's head and every operation is O(1) amortised (plus O(rows) for the labels themselves).
// Every answered request is recorded and lives until evicted (~3 s at 30k req/s and 100k ids),
// long enough to be promoted out of the young heap: so an entry is one object and its labels (the
// queue is two parallel arrays, the shadows' map exists once a shadow is recorded).
// Not the Map's own order: V8 leaves a deleted Map entry as a hole until the table is rehashed, and
// an iterator starts at the first slot, so asking a Map that lost its oldest 100k entries for its
// head walks 100k holes (measured: 65 µs per record at 100k entries). Age is measured on the
// injected clock; it should be monotonic (if it steps back, age eviction stops early until it
// catches up, and the cap still bounds the store). Per entry at most MAX_SHADOWS_PER_ENTRY shadows.

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

interface Entry {
  readonly createdMs: number;
  /** Matches this entry's item in the creation queue (an id labelled and recorded again is a new entry). */
  readonly seq: number;
  primaryVersion: string | null;
  primaryLabels: readonly number[] | null;
  /** By shadow version; null until a shadow is recorded. */
  shadows: Map<string, readonly number[]> | null;
}

export class LabelStore {
  private cfg: Readonly<LabelStoreConfig>;
  private readonly entries = new Map<string, Entry>();
  /** Creation order: ids with their entry's seq, oldest at `head`; items of removed entries are skipped. */
  private orderIds: string[] = [];
  private orderSeqs: number[] = [];
  private head = 0;
  private seq = 0;
  private classIndex: ReadonlyMap<string, number>;
  private evictedFullN = 0;
  private evictedAgeN = 0;

  constructor(config: LabelStoreConfig) {
    if (!Number.isInteger(config.maxEntries) || config.maxEntries < 1) throw new RangeError(`label store: maxEntries must be an integer >= 1, got ${config.maxEntries}`);
    if (!(config.maxAgeMs > 0)) throw new RangeError(`label store: maxAgeMs must be > 0, got ${config.maxAgeMs}`);
    const classes = config.classes ?? [];
    this.classIndex = indexOfClasses(classes);
    this.cfg = Object.freeze({ ...config, classes: Object.freeze([...classes]) });
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
    return this.entries.size;
  }

  /** Counters for metrics and the admin report. */
  stats(): { entries: number; evicted_full: number; evicted_age: number } {
    return { entries: this.entries.size, evicted_full: this.evictedFullN, evicted_age: this.evictedAgeN };
  }

  /**
   * Keeps one side's predicted class per row for `id` (Comparer.predictedLabels). The store keeps
   * `labels` as given: the caller must not mutate it afterwards. Recording a side again replaces
   * it; the entry keeps its first record's time. A shadow beyond MAX_SHADOWS_PER_ENTRY is ignored.
   */
  record(id: string, side: LabelSide, labels: readonly number[], nowMs: number): void {
    this.evictAged(nowMs);
    let e = this.entries.get(id);
    if (!e) {
      if (this.entries.size >= this.config.maxEntries && this.dropOldest()) this.evictedFullN++;
      e = { createdMs: nowMs, seq: ++this.seq, primaryVersion: null, primaryLabels: null, shadows: null };
      this.entries.set(id, e);
      this.orderIds.push(id);
      this.orderSeqs.push(e.seq);
      this.compact();
    }
    if (side.role === 'primary') {
      e.primaryVersion = side.version;
      e.primaryLabels = labels;
    } else {
      const shadows = (e.shadows ??= new Map());
      if (shadows.has(side.version) || shadows.size < MAX_SHADOWS_PER_ENTRY) shadows.set(side.version, labels);
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
    const e = this.entries.get(id);
    if (!e) return { ok: false, reason: 'unknown_id' };
    const want = classIndicesOf(truth, this.classIndex);
    if (typeof want === 'string') return { ok: false, reason: want };
    const p = e.primaryVersion !== null && e.primaryLabels !== null && e.primaryLabels.length === want.length ? { version: e.primaryVersion, labels: e.primaryLabels } : null;
    const matching = [...(e.shadows ?? [])].filter(([, labels]) => labels.length === want.length);
    if (!p && matching.length === 0) return { ok: false, reason: 'rows_mismatch' };
    this.entries.delete(id);
    const primaryCorrect = p ? correct(p.labels, want) : 0;
    const pairs: PairCredit[] = p
      ? matching.map(([shadow, labels]) => ({ primary: p.version, shadow, labeled: want.length, primaryCorrect, shadowCorrect: correct(labels, want) }))
      : [];
    return { ok: true, primary: p ? { version: p.version, labeled: want.length, correct: primaryCorrect } : null, pairs, recordedMs: e.createdMs };
  }

  /** Drops entries from the oldest while they are older than maxAgeMs. */
  private evictAged(nowMs: number): void {
    for (let e = this.oldest(); e !== undefined && nowMs - e.createdMs > this.config.maxAgeMs; e = this.oldest()) {
      this.dropOldest();
      this.evictedAgeN++;
    }
  }

  /** The oldest live entry; queue items of removed entries at the head are discarded on the way. */
  private oldest(): Entry | undefined {
    while (this.head < this.orderIds.length) {
      const e = this.entries.get(this.orderIds[this.head]!);
      if (e !== undefined && e.seq === this.orderSeqs[this.head]) return e;
      this.head++;
    }
    return undefined;
  }

  private dropOldest(): boolean {
    if (this.oldest() === undefined) return false;
    this.entries.delete(this.orderIds[this.head++]!);
    return true;
  }

  /** Keeps the queue within twice the live entries (labelled entries leave items behind). */
  private compact(): void {
    if (this.orderIds.length - this.head <= 2 * this.entries.size + 1024) return;
    const ids: string[] = [];
    const seqs: number[] = [];
    for (let i = this.head; i < this.orderIds.length; i++) {
      const id = this.orderIds[i]!;
      if (this.entries.get(id)?.seq !== this.orderSeqs[i]) continue;
      ids.push(id);
      seqs.push(this.orderSeqs[i]!);
    }
    this.orderIds = ids;
    this.orderSeqs = seqs;
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

function correct(predicted: readonly number[], truth: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < truth.length; i++) if (predicted[i] === truth[i]) n++;
  return n;
}
