// Live accuracy per model version, from ground truth posted to /v2/models/{m}/feedback: a label
// joins the answers kept for it (labels/label-book.ts, shared with the shadow board) and the
// result is credited here. Per version, the last `windowRows` labelled rows are kept as
// right/wrong in a ring, so the accuracy is over a sliding window of labelled rows.
// Shadow answers count too (a mirrored request's label credits the primary and each shadow).
// Pure: no clock, no I/O, no timers.
import type { LabelResult } from '../labels/label-store.js';

export interface LiveAccuracyOptions {
  /** The model's window, in labelled rows (model.json retrain.accuracyWindowRows). */
  windowRows(model: string): number;
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
  private readonly rings = new Map<string, Map<string, RowRing>>();

  constructor(private readonly opts: LiveAccuracyOptions) {}

  /** A label joined `model`'s answers: credits the primary that answered and each shadow that did; their windows after. */
  credit(model: string, r: Extract<LabelResult, { ok: true }>): VersionAccuracy[] {
    const touched = new Set<string>();
    const credit = (version: string, labeled: number, correct: number): void => {
      const ring = this.ring(model, version);
      // Which rows were right is not kept per row: the first `correct` are credited as right.
      for (let i = 0; i < labeled; i++) ring.add(i < correct);
      touched.add(version);
    };
    if (r.primary) credit(r.primary.version, r.primary.labeled, r.primary.correct);
    for (const p of r.pairs) credit(p.shadow, p.labeled, p.shadowCorrect);
    return [...touched].map((v) => this.reportOf(model, v));
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

  private ring(model: string, version: string): RowRing {
    let m = this.rings.get(model);
    if (m === undefined) this.rings.set(model, (m = new Map()));
    let r = m.get(version);
    if (r === undefined) m.set(version, (r = new RowRing(Math.max(1, this.opts.windowRows(model)))));
    return r;
  }
}
