// Live accuracy per model version, from ground truth posted to /v2/models/{m}/feedback: each
// answer's predicted class per row is kept by request id (a LabelStore per model, bounded by count
// and age), and a label joins it. Per version, the last `windowRows` labelled rows are kept as
// right/wrong in a ring, so the accuracy is over a sliding window of labelled rows.
// Shadow answers are kept too (a mirrored request's label credits the primary and each shadow).
// Pure apart from the injected clock; no I/O, no timers.
import { LabelStore, type GroundTruth, type LabelRefusal } from '../labels/label-store.js';

export interface LiveAccuracyOptions {
  /** Ids remembered per model, and for how long (answers waiting for their label). */
  readonly maxEntries: number;
  readonly maxAgeMs: number;
  /** The model's window, in labelled rows (model.json retrain.accuracyWindowRows). */
  windowRows(model: string): number;
  /** Class names, so labels may be names. */
  classes(model: string): readonly string[] | undefined;
}

export interface VersionAccuracy {
  readonly version: string;
  /** Labelled rows in the window (≤ windowRows) and how many of them the version got right. */
  readonly labeled: number;
  readonly correct: number;
  /** correct / labeled; null before the first label. */
  readonly accuracy: number | null;
  readonly windowRows: number;
  /** Labelled rows since the version was first credited (not windowed). */
  readonly totalLabeled: number;
}

export type AccuracyCredit = { readonly ok: true; readonly credited: readonly VersionAccuracy[] } | { readonly ok: false; readonly reason: LabelRefusal };

/** Right/wrong of the last `capacity` rows. */
class RowRing {
  private readonly hits: Uint8Array;
  private next = 0;
  rows = 0;
  correct = 0;
  total = 0;

  constructor(readonly capacity: number) {
    this.hits = new Uint8Array(capacity);
  }

  add(right: boolean): void {
    if (this.rows === this.capacity) this.correct -= this.hits[this.next]!;
    else this.rows++;
    this.hits[this.next] = right ? 1 : 0;
    if (right) this.correct++;
    this.next = (this.next + 1) % this.capacity;
    this.total++;
  }
}

export class LiveAccuracy {
  private readonly stores = new Map<string, LabelStore>();
  private readonly rings = new Map<string, Map<string, RowRing>>();

  constructor(private readonly opts: LiveAccuracyOptions) {}

  /** What `version` answered request `id` (one predicted class per row). */
  record(model: string, version: string, role: 'primary' | 'shadow', id: string, predicted: readonly number[], nowMs: number): void {
    this.store(model).record(id, { role, version }, predicted, nowMs);
  }

  /** Ground truth for `id`: credits the primary that answered it and the shadows that did. */
  label(model: string, id: string, truth: GroundTruth | readonly GroundTruth[], nowMs: number): AccuracyCredit {
    const r = this.store(model).label(id, truth, nowMs);
    if (!r.ok) return r;
    const touched = new Set<string>();
    const credit = (version: string, labeled: number, correct: number): void => {
      const ring = this.ring(model, version);
      // Which rows were right is not kept per row: the first `correct` are credited as right.
      for (let i = 0; i < labeled; i++) ring.add(i < correct);
      touched.add(version);
    };
    if (r.primary) credit(r.primary.version, r.primary.labeled, r.primary.correct);
    for (const p of r.pairs) credit(p.shadow, p.labeled, p.shadowCorrect);
    return { ok: true, credited: [...touched].map((v) => this.reportOf(model, v)) };
  }

  /** Every version of `model` credited so far, by version ascending. */
  report(model: string): VersionAccuracy[] {
    return [...(this.rings.get(model)?.keys() ?? [])].sort((a, b) => Number(a) - Number(b)).map((v) => this.reportOf(model, v));
  }

  /** One version's window (zeros before its first label). */
  reportOf(model: string, version: string): VersionAccuracy {
    const ring = this.rings.get(model)?.get(version);
    const windowRows = ring?.capacity ?? this.opts.windowRows(model);
    if (ring === undefined) return { version, labeled: 0, correct: 0, accuracy: null, windowRows, totalLabeled: 0 };
    return { version, labeled: ring.rows, correct: ring.correct, accuracy: ring.rows === 0 ? null : ring.correct / ring.rows, windowRows, totalLabeled: ring.total };
  }

  /** Forget a model (removed from the repository). */
  forget(model: string): void {
    this.stores.delete(model);
    this.rings.delete(model);
  }

  private store(model: string): LabelStore {
    let s = this.stores.get(model);
    if (s === undefined) {
      const classes = this.opts.classes(model);
      s = new LabelStore({ maxEntries: this.opts.maxEntries, maxAgeMs: this.opts.maxAgeMs, ...(classes ? { classes } : {}) });
      this.stores.set(model, s);
    }
    return s;
  }

  private ring(model: string, version: string): RowRing {
    let m = this.rings.get(model);
    if (m === undefined) this.rings.set(model, (m = new Map()));
    let r = m.get(version);
    if (r === undefined) m.set(version, (r = new RowRing(Math.max(1, this.opts.windowRows(model)))));
    return r;
  }
}
