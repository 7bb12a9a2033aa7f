// Running statistics of one (primary version, shadow version) pair: what the admin API's shadow
// report shows and what a promotion gate reads. Pure and bounded: no clock of its own (the
// caller passes nowMs, epoch ms), constant memory per pair apart from one entry per output name
// (at most MAX_OUTPUTS_PER_PAIR).

import type { PairComparison } from './compare.js';
import { LatencyHistogram } from './latency-histogram.js';

/** Why a mirrored copy never got compared. `error`: the shadow's inference failed. */
export type DropReason = 'queue_full' | 'deadline' | 'shutting_down' | 'error';
export const DROP_REASONS: readonly DropReason[] = Object.freeze(['queue_full', 'deadline', 'shutting_down', 'error']);

/**
 * Outputs tracked per pair; a model's outputs are fixed by its graph, so this only guards a
 * runaway. Outputs beyond it are left out of `outputs` and counted in PairStats.outputsIgnored.
 */
export const MAX_OUTPUTS_PER_PAIR = 64;

/** Per-output entry of the report. null where nothing was measured yet. */
export interface OutputReport {
  mean_abs_diff: number | null;
  max_abs_diff: number | null;
  mean_rel_diff: number | null;
  max_rel_diff: number | null;
  /** Mean JS divergence in nats (natural log) over rows that were distributions on both sides. */
  js_divergence: number | null;
}

interface Quantiles {
  p50: number | null;
  p99: number | null;
}

/** The wire shape (admin API): plain JSON, snake_case keys; rates in 0..1, latency in µs. */
export interface PairReport {
  primary: string;
  shadow: string;
  /** ISO time the stats were (re)started. */
  since: string;
  mirrored: number;
  compared: number;
  /** Compared pairs whose comparison found an error (missing output, shape mismatch, bad rank). */
  errored: number;
  dropped: Record<DropReason, number>;
  /** Rows of the decision output compared for agreement. */
  rows: number;
  agreement: number | null;
  topk_agreement: number | null;
  outputs: Record<string, OutputReport>;
  /** Each side's latency over compared pairs; p50/p99 within ±2.19% (LatencyHistogram). */
  latency_us: { primary: Quantiles; shadow: Quantiles };
  /** Rows credited with a ground-truth label on both sides. */
  labeled: number;
  accuracy: { primary: number | null; shadow: number | null };
}

class OutputAccumulator {
  elements = 0;
  absSum = 0;
  absMax = -Infinity;
  relElements = 0;
  relSum = 0;
  relMax = -Infinity;
  jsRows = 0;
  jsSum = 0;

  report(): OutputReport {
    return {
      mean_abs_diff: this.elements > 0 ? this.absSum / this.elements : null,
      max_abs_diff: this.elements > 0 ? this.absMax : null,
      mean_rel_diff: this.relElements > 0 ? this.relSum / this.relElements : null,
      max_rel_diff: this.relElements > 0 ? this.relMax : null,
      js_divergence: this.jsRows > 0 ? this.jsSum / this.jsRows : null,
    };
  }
}

export class PairStats {
  private sinceMs: number;
  private mirroredN = 0;
  private comparedN = 0;
  private erroredN = 0;
  private readonly droppedN: Record<DropReason, number> = { queue_full: 0, deadline: 0, shutting_down: 0, error: 0 };
  private rows = 0;
  private agreed = 0;
  private topkRows = 0;
  private topkAgreed = 0;
  private outputs = new Map<string, OutputAccumulator>();
  private readonly latency = { primary: new LatencyHistogram(), shadow: new LatencyHistogram() };
  private labeled = 0;
  private primaryCorrect = 0;
  private shadowCorrect = 0;
  /** Output comparisons left out because MAX_OUTPUTS_PER_PAIR names were already tracked. */
  outputsIgnored = 0;

  /** `nowMs`: epoch ms, the report's `since`. */
  constructor(readonly primary: string, readonly shadow: string, nowMs: number) {
    this.sinceMs = nowMs;
  }

  get startedMs(): number {
    return this.sinceMs;
  }

  /** A copy of a request was sent towards the shadow. */
  recordMirrored(): void {
    this.mirroredN++;
  }

  /** A mirrored copy ended without a shadow answer to compare. */
  recordDropped(reason: DropReason): void {
    this.droppedN[reason]++;
  }

  /**
   * Both answers came back and were compared. Latencies in µs, each side's own (queue + compute);
   * pass NaN for a side that was not timed. Means are element-weighted: for an output with a fixed
   * row width this is the running mean over rows. Agreement counts only the decision output's rows.
   */
  recordCompared(c: PairComparison, primaryUs: number, shadowUs: number): void {
    this.comparedN++;
    if (c.errors.length > 0) this.erroredN++;
    this.rows += c.rows;
    this.agreed += c.agreed;
    if (c.topkAgreed !== null) {
      this.topkRows += c.rows;
      this.topkAgreed += c.topkAgreed;
    }
    for (const o of c.outputs) {
      let acc = this.outputs.get(o.name);
      if (!acc) {
        if (this.outputs.size >= MAX_OUTPUTS_PER_PAIR) {
          this.outputsIgnored++;
          continue;
        }
        acc = new OutputAccumulator();
        this.outputs.set(o.name, acc);
      }
      if (o.meanAbsDiff !== null && o.maxAbsDiff !== null) {
        acc.elements += o.elements;
        acc.absSum += o.meanAbsDiff * o.elements;
        acc.absMax = Math.max(acc.absMax, o.maxAbsDiff);
      }
      if (o.meanRelDiff !== null && o.maxRelDiff !== null) {
        acc.relElements += o.relElements;
        acc.relSum += o.meanRelDiff * o.relElements;
        acc.relMax = Math.max(acc.relMax, o.maxRelDiff);
      }
      if (o.jsDivergence !== null) {
        acc.jsRows += o.jsRows;
        acc.jsSum += o.jsDivergence * o.jsRows;
      }
    }
    this.latency.primary.record(primaryUs);
    this.latency.shadow.record(shadowUs);
  }

  /**
   * Ground truth arrived for `labeled` rows that both sides predicted (LabelStore.label's pair
   * credit): how many of them each side got right. Rows, not requests.
   */
  recordLabeled(labeled: number, primaryCorrect: number, shadowCorrect: number): void {
    this.labeled += labeled;
    this.primaryCorrect += primaryCorrect;
    this.shadowCorrect += shadowCorrect;
  }

  /** Zeroes every count and restarts `since` at nowMs (epoch ms). */
  reset(nowMs: number): void {
    this.sinceMs = nowMs;
    this.mirroredN = this.comparedN = this.erroredN = 0;
    for (const r of DROP_REASONS) this.droppedN[r] = 0;
    this.rows = this.agreed = this.topkRows = this.topkAgreed = 0;
    this.outputs = new Map();
    this.latency.primary.reset();
    this.latency.shadow.reset();
    this.labeled = this.primaryCorrect = this.shadowCorrect = this.outputsIgnored = 0;
  }

  /** A fresh plain object every call (JSON-serialisable; the caller may keep or mutate it). */
  report(): PairReport {
    const q = (h: LatencyHistogram): Quantiles => ({ p50: h.quantile(0.5), p99: h.quantile(0.99) });
    return {
      primary: this.primary,
      shadow: this.shadow,
      since: new Date(this.sinceMs).toISOString(),
      mirrored: this.mirroredN,
      compared: this.comparedN,
      errored: this.erroredN,
      dropped: { ...this.droppedN },
      rows: this.rows,
      agreement: this.rows > 0 ? this.agreed / this.rows : null,
      topk_agreement: this.topkRows > 0 ? this.topkAgreed / this.topkRows : null,
      // fromEntries defines own properties, so an output named "__proto__" stays a plain key.
      outputs: Object.fromEntries([...this.outputs].map(([name, acc]) => [name, acc.report()])),
      latency_us: { primary: q(this.latency.primary), shadow: q(this.latency.shadow) },
      labeled: this.labeled,
      accuracy: {
        primary: this.labeled > 0 ? this.primaryCorrect / this.labeled : null,
        shadow: this.labeled > 0 ? this.shadowCorrect / this.labeled : null,
      },
    };
  }
}
