// Every model's shadow comparisons: one PairStats per (primary, shadow) version pair, credited
// with late ground truth, and the promotion gate's check. The data plane tells it what happened to
// each mirrored copy; the admin API reads its reports; the answers that late labels join are kept
// outside (labels/label-book.ts, shared with live accuracy). Pure apart from the injected clock:
// no I/O, no timers.
//
// Contracts:
// - Counts restart when a model's routing changes (reset(model)); a report says since when, and a
//   label of a request answered before then is not credited.
// - Bounded: pairs per model are those the routing mirrored to since the last reset (a routing
//   table holds at most a few shadows).
import { createComparer, type CompareSpec, type Comparer } from './compare.js';
import type { LabelResult } from '../labels/label-store.js';
import { PairStats, type DropReason, type PairReport } from './pair-stats.js';
import type { Tensor } from '../types.js';

/** What a model asks of its comparisons (from its model.json). */
export interface ModelShadowSpec {
  readonly compare?: CompareSpec;
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
  /** The model's store of answers kept for late labels (its size and evictions, for the report). */
  labelStats(model: string): { entries: number; evicted_full: number; evicted_age: number };
  /** Each counted event, for metrics. */
  onCount?(model: string, primary: string, shadow: string, outcome: 'mirrored' | 'compared' | 'errored' | `dropped_${DropReason}`): void;
  /** A pair passed its model's promotion gate (called once per pair per routing period). */
  onGatePassed?(decision: GateDecision): void;
}

interface ModelBoard {
  sinceMs: number;
  pairs: Map<string, PairStats>;
  comparer: Comparer;
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

  /** Both answers to a mirrored request came back: compare them. */
  answered(model: string, primary: string, shadow: string, answers: { primary: Tensor[]; shadow: Tensor[]; primaryUs: number; shadowUs: number }): void {
    const board = this.board(model);
    const stats = this.pair(model, primary, shadow);
    const c = board.comparer.compare(answers.primary, answers.shadow);
    stats.recordCompared(c, answers.primaryUs, answers.shadowUs);
    this.opts.onCount?.(model, primary, shadow, c.errors.length > 0 ? 'errored' : 'compared');
    this.checkGate(model, stats);
  }

  /**
   * A label joined a request's answers (labels/label-book.ts): credits each (primary, shadow)
   * pair it names, unless the answers were recorded before the comparisons last restarted (on
   * the shared clock: a request answered in the very millisecond of a reset still counts).
   */
  credit(model: string, result: Extract<LabelResult, { ok: true }>): void {
    const board = this.models.get(model);
    if (board === undefined || result.recordedMs < board.sinceMs) return;
    for (const credit of result.pairs) {
      const stats = this.pair(model, credit.primary, credit.shadow);
      stats.recordLabeled(credit.labeled, credit.primaryCorrect, credit.shadowCorrect);
      this.checkGate(model, stats);
    }
  }

  /** The model's pairs, and the size and evictions of its answers kept for late labels (every request's, not only mirrored ones). */
  report(model: string): { model: string; since: string; pairs: PairReport[]; labels: { entries: number; evicted_full: number; evicted_age: number } } {
    const board = this.board(model);
    return { model, since: new Date(board.sinceMs).toISOString(), pairs: [...board.pairs.values()].map((p) => p.report()), labels: this.opts.labelStats(model) };
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
