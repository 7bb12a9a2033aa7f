// Plain-text tables for a terminal: columns padded to their widest cell, two spaces apart, no
// trailing blanks. Pure, so the commands' output is unit-tested as strings.

export type Align = 'left' | 'right';

export interface TableOptions {
  /** A first row, e.g. upper-case column names. */
  readonly header?: readonly string[];
  /** Per column; left by default. Numbers read best right-aligned. */
  readonly align?: readonly Align[];
  /** Prefix of every line (nesting under a heading). */
  readonly indent?: string;
}

/** Width as a terminal shows it: code points, so µ and → count one each. */
function width(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** One line per row, each ending in a newline; '' for no rows and no header. */
export function formatTable(rows: readonly (readonly string[])[], opts: TableOptions = {}): string {
  const all = opts.header ? [opts.header, ...rows] : rows;
  if (all.length === 0) return '';
  const columns = Math.max(...all.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, c) => Math.max(0, ...all.map((r) => width(r[c] ?? ''))));
  return all
    .map((row) => {
      const cells = Array.from({ length: columns }, (_, c) => {
        const cell = row[c] ?? '';
        const pad = ' '.repeat((widths[c] ?? 0) - width(cell));
        return opts.align?.[c] === 'right' ? pad + cell : cell + pad;
      });
      return `${opts.indent ?? ''}${cells.join('  ')}`.trimEnd() + '\n';
    })
    .join('');
}

/** A missing or unmeasured value in a cell. */
export const NONE = '-';

/** A rate in 0..1 as a percentage with two decimals ("99.15%"). */
export function percent(rate: number | null | undefined): string {
  return typeof rate === 'number' ? `${(rate * 100).toFixed(2)}%` : NONE;
}

/** A measurement with three significant digits; exponent form only for tiny or huge values. */
export function measure(x: number | null | undefined): string {
  if (typeof x !== 'number') return NONE;
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-4 && a < 1e6 ? String(Number(x.toPrecision(3))) : x.toExponential(2);
}

/** A count, or NONE. */
export function count(n: number | null | undefined): string {
  return typeof n === 'number' ? String(n) : NONE;
}
