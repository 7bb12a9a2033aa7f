// Every model's answers kept for late ground truth: one LabelStore per model, shared by the
// readers of a label (the shadow board's per-pair accuracy, the drift engine's live accuracy), so
// each answer is recorded once, however many of them read its label. The composition root records
// every answered request (primary and shadow) and hands each label's one result to every reader.
import { LabelStore, type GroundTruth, type LabelResult, type LabelSide } from './label-store.js';

export interface LabelBookOptions {
  /** Ids kept per model, and for how long (answers waiting for their label). */
  readonly maxEntries: number;
  readonly maxAgeMs: number;
  /** The model's class names (labels may be names), read when its store is made. */
  classes(model: string): readonly string[] | undefined;
}

export class LabelBook {
  private readonly stores = new Map<string, LabelStore>();

  constructor(private readonly opts: LabelBookOptions) {}

  /** What one side answered request `id`: its predicted class per row (the caller must not mutate it). */
  record(model: string, id: string, side: LabelSide, labels: readonly number[], nowMs: number): void {
    this.store(model).record(id, side, labels, nowMs);
  }

  /** Joins ground truth to `id`'s answers, once: the entry leaves the store (LabelStore.label). */
  label(model: string, id: string, truth: GroundTruth | readonly GroundTruth[], nowMs: number): LabelResult {
    return this.store(model).label(id, truth, nowMs);
  }

  /** The model's store size and evictions (zeros before its first answer). */
  stats(model: string): { entries: number; evicted_full: number; evicted_age: number } {
    return this.stores.get(model)?.stats() ?? { entries: 0, evicted_full: 0, evicted_age: 0 };
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
}
