// Every model's shadow comparisons: one PairStats per (primary, shadow) version pair, one label
// store per model for late ground truth, and the promotion gate's check. The data plane tells it
// what happened to each mirrored copy; the admin API reads its reports. Pure apart from the
// injected clock: no I/O, no timers.
//
// Contracts:
// - Counts restart when a model's routing changes (reset(model)); a report says since when.
// - Bounded: pairs per model are those the routing mirrored to since the last reset (a routing
//   table holds at most a few shadows); labels per model are bounded by the label store's cap/age.
import { createComparer, type CompareSpec, type Comparer } from './compare.js';
import { LabelStore, type GroundTruth, type LabelResult } from '../labels/label-store.js';
import { PairStats, type DropReason, type PairReport } from './pair-stats.js';
import type { Tensor } from '../types.js';

/** What a model asks of its comparisons (from its model.json). */
export interface ModelShadowSpec {
  readonly compare?: CompareSpec;
  /** Class names, so feedback labels may be names. */
  readonly classes?: readonly string[];
  readonly gate?: PromotionGate;
}

/**
 * Promote a shadow automatically once, since the last routing change, it was compared on at
 * least `minSamples` requests with agreement ≥ `minAgreement`, and, when set, it has ≥
 * `minLabeled` labelled rows with accuracy ≥ `minAccuracy` and ≥ the primary's + `minAccuracyGain`.
 */
export interface PromotionGate {
  readonly minSamples: number;
  readonly minAgreement?: number;
  readonly minLabeled?: number;
  readonly minAccuracy?: number;
  readonly minAccuracyGain?: number;
}

export interface GateDecision {
  readonly model: string;
  readonly primary: string;
  readonly shadow: string;
  readonly reason: string;
  readonly numbers: { compared: number; agreement: number | null; labeled: number; accuracy: { primary: number | null; shadow: number | null } };
}

export interface BoardOptions {
  nowMs(): number;
  specFor(model: string): ModelShadowSpec;
  labels: { maxEntries: number; maxAgeMs: number };
  /** Each counted event, for metrics. */
  onCount?(model: string, primary: string, shadow: string, outcome: 'mirrored' | 'compared' | 'errored' | `dropped_${DropReason}`): void;
  /** A pair passed its model's promotion gate (called once per pair per routing period). */
  onGatePassed?(decision: GateDecision): void;
}

interface ModelBoard {
  sinceMs: number;
  pairs: Map<string, PairStats>;
  comparer: Comparer;
  labels: LabelStore;
  gatePassed: Set<string>;
}

export class ShadowBoard {
  private readonly models = new Map<string, ModelBoard>();

  constructor(private readonly opts: BoardOptions) {}

  mirrored(model: string, primary: string, shadow: string): void {
    this.pair(model, primary, shadow).recordMirrored();
    this.opts.onCount?.(model, primary, shadow, 'mirrored');
  }

  dropped(model: string, primary: string, shadow: string, reason: DropReason): void {
    this.pair(model, primary, shadow).recordDropped(reason);
    this.opts.onCount?.(model, primary, shadow, `dropped_${reason}`);
  }

  /** Both answers to request `id` came back: compare them and keep their labels for late feedback. */
  answered(model: string, primary: string, shadow: string, id: string, answers: { primary: Tensor[]; shadow: Tensor[]; primaryUs: number; shadowUs: number }): void {
    const board = this.board(model);
    const stats = this.pair(model, primary, shadow);
    const c = board.comparer.compare(answers.primary, answers.shadow);
    stats.recordCompared(c, answers.primaryUs, answers.shadowUs);
    this.opts.onCount?.(model, primary, shadow, c.errors.length > 0 ? 'errored' : 'compared');
    const now = this.opts.nowMs();
    const p = board.comparer.predictedLabels(answers.primary);
    const s = board.comparer.predictedLabels(answers.shadow);
    if (p !== null) board.labels.record(id, { role: 'primary', version: primary }, p, now);
    if (s !== null) board.labels.record(id, { role: 'shadow', version: shadow }, s, now);
    this.checkGate(model, stats);
  }

  /** Ground truth for request `id` (one label, or one per row). */
  label(model: string, id: string, truth: GroundTruth | readonly GroundTruth[]): LabelResult {
    const board = this.board(model);
    const result = board.labels.label(id, truth, this.opts.nowMs());
    if (result.ok) {
      for (const credit of result.pairs) {
        const stats = this.pair(model, credit.primary, credit.shadow);
        stats.recordLabeled(credit.labeled, credit.primaryCorrect, credit.shadowCorrect);
        this.checkGate(model, stats);
      }
    }
    return result;
  }

  /** The model's pairs, and its label store's size and evictions (answers kept for late labels). */
  report(model: string): { model: string; since: string; pairs: PairReport[]; labels: { entries: number; evicted_full: number; evicted_age: number } } {
    const board = this.board(model);
    return { model, since: new Date(board.sinceMs).toISOString(), pairs: [...board.pairs.values()].map((p) => p.report()), labels: board.labels.stats() };
  }

  /** True once the model has a comparison (a copy was mirrored or a report asked for since the last reset). */
  has(model: string): boolean {
    return this.models.has(model);
  }

  /** The model's routing changed (or its config): comparisons start over. */
  reset(model: string): void {
    this.models.delete(model);
  }

  private board(model: string): ModelBoard {
    let b = this.models.get(model);
    if (b === undefined) {
      const spec = this.opts.specFor(model);
      b = {
        sinceMs: this.opts.nowMs(),
        pairs: new Map(),
        comparer: createComparer(spec.compare ?? {}),
        labels: new LabelStore({ ...this.opts.labels, ...(spec.classes ? { classes: spec.classes } : {}) }),
        gatePassed: new Set(),
      };
      this.models.set(model, b);
    }
    return b;
  }

  private pair(model: string, primary: string, shadow: string): PairStats {
    const board = this.board(model);
    const key = `${primary}>${shadow}`;
    let p = board.pairs.get(key);
    if (p === undefined) {
      p = new PairStats(primary, shadow, board.sinceMs);
      board.pairs.set(key, p);
    }
    return p;
  }

  private checkGate(model: string, stats: PairStats): void {
    const gate = this.opts.specFor(model).gate;
    const board = this.board(model);
    const key = `${stats.primary}>${stats.shadow}`;
    if (gate === undefined || this.opts.onGatePassed === undefined || board.gatePassed.has(key)) return;
    const r = stats.report();
    const why = gateShortfall(gate, r);
    if (why !== undefined) return;
    board.gatePassed.add(key);
    this.opts.onGatePassed({
      model,
      primary: stats.primary,
      shadow: stats.shadow,
      reason: describeGate(gate),
      numbers: { compared: r.compared, agreement: r.agreement, labeled: r.labeled, accuracy: r.accuracy },
    });
  }
}

/** Why the pair does not pass the gate yet, or undefined when it does. */
export function gateShortfall(gate: PromotionGate, r: PairReport): string | undefined {
  if (r.compared < gate.minSamples) return `${r.compared} of ${gate.minSamples} samples compared`;
  if (gate.minAgreement !== undefined && !(r.agreement !== null && r.agreement >= gate.minAgreement)) return `agreement ${String(r.agreement)} < ${gate.minAgreement}`;
  const needsLabels = gate.minAccuracy !== undefined || gate.minAccuracyGain !== undefined;
  if (!needsLabels) return undefined;
  if (r.labeled < (gate.minLabeled ?? 1)) return `${r.labeled} of ${gate.minLabeled ?? 1} labelled rows`;
  const { primary, shadow } = r.accuracy;
  if (shadow === null) return 'no shadow accuracy yet';
  if (gate.minAccuracy !== undefined && shadow < gate.minAccuracy) return `shadow accuracy ${shadow} < ${gate.minAccuracy}`;
  if (gate.minAccuracyGain !== undefined && !(primary !== null && shadow >= primary + gate.minAccuracyGain)) {
    return `shadow accuracy ${shadow} < primary ${String(primary)} + ${gate.minAccuracyGain}`;
  }
  return undefined;
}

function describeGate(g: PromotionGate): string {
  const parts = [`compared >= ${g.minSamples}`];
  if (g.minAgreement !== undefined) parts.push(`agreement >= ${g.minAgreement}`);
  if (g.minLabeled !== undefined) parts.push(`labelled >= ${g.minLabeled}`);
  if (g.minAccuracy !== undefined) parts.push(`accuracy >= ${g.minAccuracy}`);
  if (g.minAccuracyGain !== undefined) parts.push(`accuracy gain >= ${g.minAccuracyGain}`);
  return `promotion gate passed: ${parts.join(', ')}`;
}
