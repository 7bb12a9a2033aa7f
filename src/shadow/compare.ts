// Comparing one pair of answers (DESIGN §7, "the comparison is the product"): the primary's and
// a shadow's output tensors for the same request, turned into per-request numbers. Pure: no
// clock, no I/O; the caller feeds the result to PairStats. Nothing here throws on a bad answer:
// a missing output or a shape that differs is reported in `errors` and that output is skipped.

import type { Tensor, TensorData } from '../types.js';
import { argmaxRow, asNumbers, DISTRIBUTION_SUM_TOLERANCE, inTopK, isDistributionRow, jsDivergenceRow } from './rows.js';
import { int64Values } from '../util/int64.js';

/**
 * What an output means, which decides what is compared:
 * - `probabilities`: rows of a distribution, `[rows, k]` (or `[k]`: one row). Argmax and top-k
 *   agreement, abs/rel differences, and JS divergence over rows that are distributions on both sides.
 * - `scores`: `[rows, k]` (or `[k]`) logits or scores. Argmax and top-k agreement, abs/rel differences.
 * - `label`: the class per row, `[rows]` or `[rows, 1]`, compared exactly (a row agrees when all
 *   its elements are equal); no differences (a distance between class ids means nothing).
 * - `numeric`: anything else (regression): abs/rel differences only.
 */
export type OutputKind = 'probabilities' | 'scores' | 'label' | 'numeric';

export interface CompareSpec {
  /** Declared kind per output name. A name absent here gets inferKind's answer on each request. */
  readonly kinds?: Readonly<Record<string, OutputKind>>;
  /** Top-k agreement is measured when k > 1 (integer ≥ 1; default 1: argmax only). */
  readonly topK?: number;
  /** The output whose per-row decision is "the" agreement; default: see decisionOf. */
  readonly decisionOutput?: string;
  /** |primary| at or below this gets no relative difference (default 1e-6). */
  readonly zeroEpsilon?: number;
  /** |row sum − 1| allowed for a row to count as a distribution (default 1e-3). */
  readonly sumTolerance?: number;
}

export type ComparisonErrorReason = 'missing' | 'shape_mismatch' | 'bad_rank';

/** One output that could not be compared (or, for bad_rank, was compared as `numeric` only). */
export interface ComparisonError {
  readonly output: string;
  readonly reason: ComparisonErrorReason;
  readonly primaryShape: readonly number[] | null;
  readonly shadowShape: readonly number[] | null;
}

/** The numbers for one output of one request. Means are null when nothing went into them. */
export interface OutputComparison {
  readonly name: string;
  readonly kind: OutputKind;
  /** Elements in the abs-diff mean (0 for `label`). Identical non-finite pairs count, with diff 0. */
  readonly elements: number;
  readonly meanAbsDiff: number | null;
  readonly maxAbsDiff: number | null;
  /** Elements whose primary value is above zeroEpsilon in magnitude: the relative-diff population. */
  readonly relElements: number;
  readonly meanRelDiff: number | null;
  readonly maxRelDiff: number | null;
  /** Elements left out of the differences: one side NaN/±Inf and the two not identical. */
  readonly nonFinite: number;
  /** Rows compared for agreement (0 for `numeric`). */
  readonly rows: number;
  readonly agreed: number;
  /** Rows where the primary's argmax is in the shadow's top k; null when k = 1 or kind is not scored. */
  readonly topkAgreed: number | null;
  /** Rows that are distributions on both sides (JS population); 0 unless kind is `probabilities`. */
  readonly jsRows: number;
  /** Mean over jsRows of the JS divergence in nats (natural log; at most ln 2). */
  readonly jsDivergence: number | null;
}

export interface PairComparison {
  /** The decision output's name, or null when there is none (or it could not be compared). */
  readonly decision: string | null;
  /** The decision output's rows / agreed / topkAgreed (0 / 0 / null without one). */
  readonly rows: number;
  readonly agreed: number;
  readonly topkAgreed: number | null;
  /** Every comparable output, in the primary's order. */
  readonly outputs: readonly OutputComparison[];
  /** Empty when every primary output was compared. Shadow-only outputs are ignored. */
  readonly errors: readonly ComparisonError[];
}

export interface Comparer {
  /** The validated, frozen spec (defaults filled in). */
  readonly spec: Readonly<Required<Omit<CompareSpec, 'decisionOutput'>>> & { readonly decisionOutput: string | null };
  compare(primary: readonly Tensor[], shadow: readonly Tensor[]): PairComparison;
  /**
   * The predicted class per row from one side's decision output (argmax, or the `label` values),
   * for LabelStore.record; null when there is no decision output or a label output is wider than 1.
   */
  predictedLabels(outputs: readonly Tensor[]): number[] | null;
}

const KINDS: ReadonlySet<string> = new Set<OutputKind>(['probabilities', 'scores', 'label', 'numeric']);
const INTEGER_TYPES = new Set(['INT8', 'INT16', 'INT32', 'INT64', 'UINT8']);

/**
 * The probability rule, for an output whose kind is not declared:
 * - `probabilities` when its name is exactly `probabilities` and it has rank 1 or 2, or when it is
 *   FP32/FP64 of rank 2 with k ≥ 2 columns and EVERY row of this answer is a distribution
 *   (finite, ≥ 0, sum within sumTolerance of 1). Rank 1 is never inferred from values: a batch of
 *   regression values such as [0.3, 0.7] would look like one distribution.
 * - `label` when its name is `label` or `labels` and its datatype is an integer type.
 * - `numeric` otherwise (unnamed logits are `numeric` unless declared `scores`).
 * Inference runs on the primary's answer of each request; declare kinds to make it fixed.
 */
export function inferKind(t: Tensor, sumTolerance = DISTRIBUTION_SUM_TOLERANCE): OutputKind {
  const rank = t.shape.length;
  if (t.name === 'probabilities' && (rank === 1 || rank === 2)) return 'probabilities';
  if ((t.name === 'label' || t.name === 'labels') && INTEGER_TYPES.has(t.datatype)) return 'label';
  if ((t.datatype === 'FP32' || t.datatype === 'FP64') && rank === 2) {
    const [rows = 0, k = 0] = t.shape;
    if (rows === 0 || k < 2) return 'numeric';
    const values = asNumbers(t.data);
    for (let r = 0; r < rows; r++) if (!isDistributionRow(values, r * k, k, sumTolerance)) return 'numeric';
    return 'probabilities';
  }
  return 'numeric';
}

export function createComparer(spec: CompareSpec = {}): Comparer {
  const topK = spec.topK ?? 1;
  const zeroEpsilon = spec.zeroEpsilon ?? 1e-6;
  const sumTolerance = spec.sumTolerance ?? DISTRIBUTION_SUM_TOLERANCE;
  if (!Number.isInteger(topK) || topK < 1) throw new RangeError(`shadow compare: topK must be an integer >= 1, got ${topK}`);
  if (!(zeroEpsilon >= 0)) throw new RangeError(`shadow compare: zeroEpsilon must be >= 0, got ${zeroEpsilon}`);
  if (!(sumTolerance >= 0)) throw new RangeError(`shadow compare: sumTolerance must be >= 0, got ${sumTolerance}`);
  for (const [name, k] of Object.entries(spec.kinds ?? {})) {
    if (!KINDS.has(k)) throw new RangeError(`shadow compare: output ${name}: unknown kind ${String(k)}`);
  }
  const kinds: Record<string, OutputKind> = Object.freeze(Object.assign(Object.create(null) as Record<string, OutputKind>, spec.kinds));
  const frozen = Object.freeze({ kinds, topK, zeroEpsilon, sumTolerance, decisionOutput: spec.decisionOutput ?? null });

  const kindFor = (t: Tensor): OutputKind => kinds[t.name] ?? inferKind(t, sumTolerance);

  return {
    spec: frozen,
    compare(primary, shadow) {
      const outputs: OutputComparison[] = [];
      const errors: ComparisonError[] = [];
      for (const p of primary) {
        const s = shadow.find((t) => t.name === p.name);
        if (!s) {
          errors.push({ output: p.name, reason: 'missing', primaryShape: p.shape, shadowShape: null });
          continue;
        }
        if (!sameShape(p.shape, s.shape)) {
          errors.push({ output: p.name, reason: 'shape_mismatch', primaryShape: p.shape, shadowShape: s.shape });
          continue;
        }
        let kind = kindFor(p);
        if ((kind === 'probabilities' || kind === 'scores') && p.shape.length !== 1 && p.shape.length !== 2) {
          errors.push({ output: p.name, reason: 'bad_rank', primaryShape: p.shape, shadowShape: s.shape });
          kind = 'numeric';
        }
        outputs.push(compareOutput(p, s, kind, topK, zeroEpsilon, sumTolerance));
      }
      const d = decisionOf(outputs, frozen.decisionOutput);
      return { decision: d?.name ?? null, rows: d?.rows ?? 0, agreed: d?.agreed ?? 0, topkAgreed: d?.topkAgreed ?? null, outputs, errors };
    },
    predictedLabels(tensors) {
      const d = decisionOf(tensors.map((t) => ({ name: t.name, kind: kindFor(t), t })), frozen.decisionOutput);
      if (!d) return null;
      const { t, kind } = d;
      if (kind !== 'label' && t.shape.length > 2) return null;
      const [rows, width] = rowsOf(t, kind);
      if (kind === 'label' && width !== 1) return null;
      const out = new Array<number>(rows);
      // Every answer's labels come through here: an INT64 label goes straight into `out`, not
      // through asNumbers' new (off-heap) Float64Array.
      if (kind === 'label' && t.data instanceof BigInt64Array) return int64Values(t.data, out);
      const values = asNumbers(t.data);
      for (let r = 0; r < rows; r++) out[r] = kind === 'label' ? values[r]! : argmaxRow(values, r * width, width);
      return out;
    },
  };
}

/**
 * The decision output: `decisionOutput` when named and comparable; else the first `label`
 * output, else the first `probabilities`, else the first `scores`; else none.
 */
function decisionOf<T extends { readonly name: string; readonly kind: OutputKind }>(outs: readonly T[], named: string | null): T | undefined {
  if (named !== null) {
    const o = outs.find((x) => x.name === named);
    return o && o.kind !== 'numeric' ? o : undefined;
  }
  for (const kind of ['label', 'probabilities', 'scores'] as const) {
    const o = outs.find((x) => x.kind === kind);
    if (o) return o;
  }
  return undefined;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * [rows, width] of a compared output. `label`: shape[0] rows (rank 0: one), each row all its
 * trailing elements. `probabilities`/`scores` (rank 1 or 2 by then): rank 1 is one row of k.
 */
function rowsOf(t: Tensor, kind: OutputKind): [number, number] {
  const n = t.data.length;
  if (t.shape.length === 0 || (kind !== 'label' && t.shape.length === 1)) return [1, n];
  const rows = t.shape[0] ?? 0;
  return [rows, rows === 0 ? 0 : n / rows];
}

function compareOutput(p: Tensor, s: Tensor, kind: OutputKind, topK: number, zeroEps: number, sumTol: number): OutputComparison {
  let elements = 0, absSum = 0, absMax = 0, relElements = 0, relSum = 0, relMax = 0, nonFinite = 0;
  let rows = 0, agreed = 0, topkAgreed: number | null = null, jsRows = 0, jsSum = 0;
  if (kind === 'label') {
    [rows, agreed] = labelAgreement(p, s);
  } else {
    const pv = asNumbers(p.data);
    const sv = asNumbers(s.data);
    for (let i = 0; i < pv.length; i++) {
      const a = pv[i]!;
      const b = sv[i]!;
      if (!Number.isFinite(a) || !Number.isFinite(b)) {
        if (Object.is(a, b)) elements++;
        else nonFinite++;
        continue;
      }
      const diff = Math.abs(b - a);
      elements++;
      absSum += diff;
      if (diff > absMax) absMax = diff;
      if (Math.abs(a) > zeroEps) {
        const rel = diff / Math.abs(a);
        relElements++;
        relSum += rel;
        if (rel > relMax) relMax = rel;
      }
    }
    if (kind !== 'numeric') {
      const [n, width] = rowsOf(p, kind);
      rows = n;
      if (topK > 1) topkAgreed = 0;
      for (let r = 0, off = 0; r < n; r++, off += width) {
        const pa = argmaxRow(pv, off, width);
        if (pa === argmaxRow(sv, off, width)) agreed++;
        if (topkAgreed !== null && inTopK(sv, off, width, pa, topK)) topkAgreed++;
        if (kind === 'probabilities' && isDistributionRow(pv, off, width, sumTol) && isDistributionRow(sv, off, width, sumTol)) {
          jsRows++;
          jsSum += jsDivergenceRow(pv, off, sv, off, width);
        }
      }
    }
  }
  const diffs = elements > 0;
  return {
    name: p.name, kind, elements,
    meanAbsDiff: diffs ? absSum / elements : null, maxAbsDiff: diffs ? absMax : null,
    relElements, meanRelDiff: relElements > 0 ? relSum / relElements : null, maxRelDiff: relElements > 0 ? relMax : null,
    nonFinite, rows, agreed, topkAgreed, jsRows, jsDivergence: jsRows > 0 ? jsSum / jsRows : null,
  };
}

/** [rows, rows whose every element is equal on both sides] of a `label` output. */
function labelAgreement(p: Tensor, s: Tensor): [number, number] {
  const [rows, width] = rowsOf(p, 'label');
  const [a, b, perValue] = labelWords(p.data, s.data);
  const stride = width * perValue;
  let agreed = 0;
  for (let r = 0, off = 0; r < rows; r++, off += stride) {
    let same = true;
    for (let j = 0; j < stride && same; j++) same = a[off + j] === b[off + j];
    if (same) agreed++;
  }
  return [rows, agreed];
}

/**
 * Both sides' label values in a form `===` compares without making a BigInt per element: two
 * INT64 arrays as their 32-bit halves (exact beyond 2^53; 2 words per value), any other pair of
 * number arrays as they are (equal by value across types), INT64 against another type by value.
 */
function labelWords(p: TensorData, s: TensorData): [ArrayLike<number>, ArrayLike<number>, number] {
  const pWide = p instanceof BigInt64Array;
  const sWide = s instanceof BigInt64Array;
  if (pWide && sWide) return [int32Words(p), int32Words(s), 2];
  if (!pWide && !sWide) return [p, s, 1];
  return [asNumbers(p), asNumbers(s), 1];
}

function int32Words(data: BigInt64Array): Int32Array {
  return new Int32Array(data.buffer, data.byteOffset, data.length * 2);
}
