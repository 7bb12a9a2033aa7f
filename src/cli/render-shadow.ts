// `sluice shadow <model>`: the comparison report with one column per (primary, shadow) pair and
// one row per measure, so pairs read side by side. Pure: the wire answer in, text out.
import { count, formatTable, measure, NONE, percent } from './table.js';
import type { PairReport } from './wire.js';

/** Partial: a field an older or newer server leaves out shows as NONE. */
type Pair = Partial<PairReport>;
type Row = readonly [label: string, cell: (p: Pair) => string];

function dropped(p: Pair): string {
  const d = p.dropped;
  if (!d) return NONE;
  const parts = Object.entries(d).filter(([, n]) => typeof n === 'number' && n > 0);
  const total = parts.reduce((sum, [, n]) => sum + n, 0);
  return parts.length === 0 ? '0' : `${total} (${parts.map(([why, n]) => `${why} ${n}`).join(', ')})`;
}

function latency(us: number | null | undefined): string {
  return typeof us === 'number' ? `${Math.round(us)} µs` : NONE;
}

/** Rows shared by every report; per-output and accuracy rows are added when they apply. */
const ROWS: readonly Row[] = [
  ['since', (p) => p.since ?? NONE],
  ['mirrored', (p) => count(p.mirrored)],
  ['compared', (p) => count(p.compared)],
  ['errored', (p) => count(p.errored)],
  ['dropped', dropped],
  ['rows compared', (p) => count(p.rows)],
  ['agreement', (p) => percent(p.agreement)],
  ['top-k agreement', (p) => percent(p.topk_agreement)],
];

const LATENCY_ROWS: readonly Row[] = [
  ['latency p50 primary', (p) => latency(p.latency_us?.primary?.p50)],
  ['latency p50 shadow', (p) => latency(p.latency_us?.shadow?.p50)],
  ['latency p99 primary', (p) => latency(p.latency_us?.primary?.p99)],
  ['latency p99 shadow', (p) => latency(p.latency_us?.shadow?.p99)],
];

const ACCURACY_ROWS: readonly Row[] = [
  ['labeled rows', (p) => count(p.labeled)],
  ['accuracy primary', (p) => percent(p.accuracy?.primary)],
  ['accuracy shadow', (p) => percent(p.accuracy?.shadow)],
];

function outputRows(pairs: readonly Pair[]): Row[] {
  const names = [...new Set(pairs.flatMap((p) => Object.keys(p.outputs ?? {})))];
  return names.flatMap((name): Row[] => [
    [`max abs diff ${name}`, (p) => measure(p.outputs?.[name]?.max_abs_diff)],
    [`JS divergence ${name}`, (p) => measure(p.outputs?.[name]?.js_divergence)],
  ]);
}

/** `answer` is the server's ShadowReport; `model` names it when the answer does not. */
export function renderShadow(answer: { readonly model?: string; readonly pairs?: readonly Pair[] }, model: string): string {
  const pairs = answer.pairs ?? [];
  const name = answer.model ?? model;
  if (pairs.length === 0) return `${name}: no shadow pairs (mirror a version with: sluice routing ${name} --shadow V=P)\n`;
  // Accuracy rows only once some pair has labels: without labels they would be all NONE.
  const labeled = pairs.some((p) => typeof p.labeled === 'number' && p.labeled > 0);
  const rows = [...ROWS, ...outputRows(pairs), ...LATENCY_ROWS, ...(labeled ? ACCURACY_ROWS : [])];
  const header = ['', ...pairs.map((p) => `${p.primary ?? '?'} → ${p.shadow ?? '?'}`)];
  const body = rows.map(([label, cell]) => [label, ...pairs.map(cell)]);
  return `${name}: primary → shadow\n${formatTable(body, { header, align: ['left', ...pairs.map(() => 'right' as const)] })}`;
}
