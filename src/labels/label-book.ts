// Every model's answers kept for late ground truth: one LabelStore per model, shared by the
// readers of a label (the shadow board's per-pair accuracy, the drift engine's live accuracy), so
// each answer is recorded once, however many of them read its label. The composition root records
// every answered request (primary and shadow) and hands each label's one result to every reader.
import { LabelStore, type GroundTruth, type LabelResult, type LabelSide } from './label-store.js';

export interface LabelBookOptions {
  /** Ids kept per model, and for how long (answers waiting for their label). */
  readonly maxEntries: number;
  readonly maxAgeMs: number;
  /**
   * The model's class names (labels may be names): read at each label, so a model.json reload that
   * renames classes takes effect for the next label. The same array until the classes change.
   */
  classes(model: string): readonly string[] | undefined;
}

export class LabelBook {
  private readonly stores = new Map<string, { store: LabelStore; classes: readonly string[] | undefined }>();

  constructor(private readonly opts: LabelBookOptions) {}

  /** What one side answered request `id`: its predicted class per row (the caller must not mutate it). */
  record(model: string, id: string, side: LabelSide, labels: readonly number[], nowMs: number): void {
    this.entry(model).store.record(id, side, labels, nowMs);
  }

  /** Joins ground truth to `id`'s answers, once: the entry leaves the store (LabelStore.label). */
  label(model: string, id: string, truth: GroundTruth | readonly GroundTruth[], nowMs: number): LabelResult {
    const e = this.entry(model);
    const classes = this.opts.classes(model);
    if (classes !== e.classes) {
      e.store.useClasses(classes ?? []);
      e.classes = classes;
    }
    return e.store.label(id, truth, nowMs);
  }

  /** The model's store size and evictions (zeros before its first answer). */
  stats(model: string): { entries: number; evicted_full: number; evicted_age: number } {
    return this.stores.get(model)?.store.stats() ?? { entries: 0, evicted_full: 0, evicted_age: 0 };
  }

  private entry(model: string): { store: LabelStore; classes: readonly string[] | undefined } {
    let e = this.stores.get(model);
    if (e === undefined) {
      const classes = this.opts.classes(model);
      e = { store: new LabelStore({ maxEntries: this.opts.maxEntries, maxAgeMs: this.opts.maxAgeMs, ...(classes ? { classes } : {}) }), classes };
      this.stores.set(model, e);
    }
    return e;
  }
}
