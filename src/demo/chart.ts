// SVG chart for one run of the drift demo (`npm run demo:drift`).
//
// Contract: renderDriftChart is a pure function of its input. The same DriftRun
// always yields the same string (no clocks, no randomness, no locale-dependent
// formatting), every coordinate is rounded to one decimal, and no input (empty
// series, nulls, non-finite numbers) can put "NaN"/"Infinity"/"undefined" into
// the document. The output is a standalone, well-formed SVG file: it is written
// to disk by the demo and opened in a browser, so it carries its own XML
// declaration, namespace, size and viewBox, and uses presentation attributes
// rather than CSS so any viewer renders it the same.
//
// Hand-written strings instead of a chart library: the chart is small and
// fixed, and the gateway takes no dependency for a demo.

export interface DriftRun {
  title: string;
  /** X axis: requests sent so far. Drift score per evaluation window; null = no score (breaks the line). */
  windows: { requests: number; score: number | null }[];
  /** Drawn as a horizontal dashed line in the drift panel. */
  threshold: number;
  /** Live accuracy on labelled traffic, 0..1; null breaks the line. */
  accuracy: { requests: number; primary: number | null; shadow: number | null }[];
  /** Vertical lines across both panels, with labels staggered so close markers don't overlap. */
  markers: { requests: number; label: string; kind: 'shift' | 'trigger' | 'shadow' | 'promote' }[];
}

/** Fixed geometry (pixels). Exported so tests can compute expected coordinates. */
export const LAYOUT = {
  width: 800,
  height: 560,
  left: 70,
  right: 780,
  titleY: 22,
  /** Baselines of the marker label rows, above the top panel: one per marker kind, so the demo never crowds. */
  labelRows: [40, 52, 64, 76],
  top: { top: 84, bottom: 260 },
  bottom: { top: 290, bottom: 460 },
  xTickLabelY: 476,
  xTitleY: 500,
  legendY: 535,
} as const;

const FONT = 'font-family="sans-serif"';
const COLORS = {
  drift: '#1f77b4',
  threshold: '#d62728',
  primary: '#333333',
  shadow: '#ff7f0e',
  grid: '#e6e6e6',
  frame: '#999999',
  marker: { shift: '#7f7f7f', trigger: '#d62728', shadow: '#9467bd', promote: '#2ca02c' },
} as const;
/** Rough average glyph width at font-size 11; only used to keep labels apart. */
const CHAR_W = 6.2;

/** XML-escapes text for both element content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) =>
    ch === '&' ? '&amp;' : ch === '<' ? '&lt;' : ch === '>' ? '&gt;' : ch === '"' ? '&quot;' : '&apos;',
  );
}

/** Coordinate to string: one decimal, never "-0", never non-finite (callers guarantee finite). */
function c(n: number): string {
  const r = Math.round(n * 10) / 10;
  return Object.is(r, -0) ? '0' : String(r);
}

/**
 * Round tick values covering [min, max]: step is 1, 2 or 5 times a power of ten,
 * chosen so there are about `target` intervals (may be a few more or fewer). Ticks lie within [min, max].
 * Degenerate ranges (max <= min, non-finite) give a single tick at min (or 0).
 */
export function niceTicks(
  min: number,
  max: number,
  target = 5,
  /** Smallest allowed step, e.g. 1 for request counts, which are integers. */
  minStep = 0,
): { ticks: number[]; step: number; decimals: number } {
  if (!Number.isFinite(min) || !Number.isFinite(max) || !(max > min)) {
    return { ticks: [Number.isFinite(min) ? min : 0], step: 1, decimals: 0 };
  }
  const raw = (max - min) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  // nearest of 1/2/5/10 (roughly geometric), clamped up to minStep
  const step = Math.max(minStep, (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const ticks: number[] = [];
  const first = Math.ceil(min / step - 1e-9);
  for (let i = first; i * step <= max + step * 1e-9; i++) ticks.push(Number((i * step).toFixed(decimals)));
  return { ticks, step, decimals };
}

const fin = (n: number | null | undefined): n is number => typeof n === 'number' && Number.isFinite(n);

/** Splits a series into runs of consecutive non-null points; each run becomes one polyline. */
function segments(points: { x: number; v: number | null }[]): { x: number; v: number }[][] {
  const out: { x: number; v: number }[][] = [];
  let cur: { x: number; v: number }[] = [];
  for (const p of points) {
    if (fin(p.v)) cur.push({ x: p.x, v: p.v });
    else if (cur.length > 0) (out.push(cur), (cur = []));
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/**
 * Greedy placement of labels (given left-to-right as [x, x+width]): each takes the
 * first row whose previous label ends left of it. When every row is busy, the label
 * goes on the row that frees up first, pushed right past its neighbour: labels never
 * overlap, at the cost of sitting a little right of their line.
 */
function staggerLabels(items: { x: number; width: number }[], rows: number): { row: number; x: number }[] {
  const GAP = 6;
  const ends: number[] = Array.from({ length: rows }, () => -Infinity);
  return items.map(({ x, width }) => {
    let row = ends.findIndex((end) => end + GAP <= x);
    let at = x;
    if (row < 0) {
      row = ends.indexOf(Math.min(...ends));
      at = (ends[row] ?? x) + GAP;
    }
    ends[row] = at + width;
    return { row, x: at };
  });
}

export function renderDriftChart(run: DriftRun): string {
  const L = LAYOUT;
  // Non-finite x values can't be placed; drop them. Non-finite y values become breaks.
  const byX = <T extends { requests: number }>(xs: T[]): T[] =>
    xs.filter((p) => fin(p.requests)).sort((a, b) => a.requests - b.requests); // stable sort: ties keep input order
  const windows = byX(run.windows ?? []);
  const accuracy = byX(run.accuracy ?? []);
  const markers = byX(run.markers ?? []);

  // X domain: 0 .. max requests seen anywhere, rounded up to a nice tick.
  // (reduce, not Math.max(...xs): long runs must not hit the argument-count limit)
  const maxOf = (xs: number[]): number => xs.reduce((m, v) => (v > m ? v : m), 0);
  const xMaxRaw = maxOf([...windows, ...accuracy, ...markers].map((p) => p.requests));
  // Requests are integers, so x steps are at least 1; an empty run gets 0..10.
  const xWant = xMaxRaw > 0 ? xMaxRaw : 10;
  const xBase = niceTicks(0, xWant, 5, 1);
  const xMax = Math.ceil(xWant / xBase.step - 1e-9) * xBase.step;
  const xTicks = niceTicks(0, xMax, 5, 1);
  const sx = (r: number): number => L.left + (Math.max(0, r) / xMax) * (L.right - L.left);

  // Top panel Y domain: 0 .. max(threshold*1.5, max score); falls back to 1 if that is not positive.
  const threshold = fin(run.threshold) ? run.threshold : null;
  const scores = windows.map((w) => w.score).filter(fin);
  const yTopMaxRaw = Math.max(threshold !== null ? threshold * 1.5 : 0, maxOf(scores));
  const yTopMax = yTopMaxRaw > 0 ? yTopMaxRaw : 1;
  const yTopTicks = niceTicks(0, yTopMax, 4);
  const syTop = (v: number): number =>
    L.top.bottom - (Math.min(Math.max(v, 0), yTopMax) / yTopMax) * (L.top.bottom - L.top.top);
  const syBot = (v: number): number =>
    L.bottom.bottom - Math.min(Math.max(v, 0), 1) * (L.bottom.bottom - L.bottom.top);
  const yBotTicks = niceTicks(0, 1, 5);

  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${L.height}" viewBox="0 0 ${L.width} ${L.height}">`,
  );
  out.push(`<title>${escapeXml(run.title ?? '')}</title>`);
  out.push(`<rect x="0" y="0" width="${L.width}" height="${L.height}" fill="#ffffff"/>`);
  out.push(
    `<text x="${L.width / 2}" y="${L.titleY}" ${FONT} font-size="15" font-weight="bold" text-anchor="middle">${escapeXml(run.title ?? '')}</text>`,
  );

  // Panels: grid, frame, y ticks, y title. X grid lines in both, x tick labels only under the bottom one.
  const panel = (p: { top: number; bottom: number }, ticks: ReturnType<typeof niceTicks>, sy: (v: number) => number, title: string): void => {
    for (const t of xTicks.ticks) {
      out.push(`<line x1="${c(sx(t))}" y1="${p.top}" x2="${c(sx(t))}" y2="${p.bottom}" stroke="${COLORS.grid}"/>`);
    }
    for (const t of ticks.ticks) {
      const y = c(sy(t));
      out.push(`<line x1="${L.left}" y1="${y}" x2="${L.right}" y2="${y}" stroke="${COLORS.grid}"/>`);
      out.push(
        `<text x="${L.left - 6}" y="${c(sy(t) + 4)}" ${FONT} font-size="11" text-anchor="end">${t.toFixed(ticks.decimals)}</text>`,
      );
    }
    out.push(
      `<rect x="${L.left}" y="${p.top}" width="${L.right - L.left}" height="${p.bottom - p.top}" fill="none" stroke="${COLORS.frame}"/>`,
    );
    const mid = c((p.top + p.bottom) / 2);
    out.push(
      `<text x="20" y="${mid}" ${FONT} font-size="12" text-anchor="middle" transform="rotate(-90 20 ${mid})">${escapeXml(title)}</text>`,
    );
  };
  panel(L.top, yTopTicks, syTop, 'drift score');
  panel(L.bottom, yBotTicks, syBot, 'accuracy');
  for (const t of xTicks.ticks) {
    out.push(
      `<text x="${c(sx(t))}" y="${L.xTickLabelY}" ${FONT} font-size="11" text-anchor="middle">${t.toFixed(xTicks.decimals)}</text>`,
    );
  }
  out.push(
    `<text x="${c((L.left + L.right) / 2)}" y="${L.xTitleY}" ${FONT} font-size="12" text-anchor="middle">requests sent</text>`,
  );

  // Threshold: dashed line with its value, right-aligned just above it.
  if (threshold !== null && threshold >= 0 && threshold <= yTopMax) {
    const y = syTop(threshold);
    out.push(
      `<line x1="${L.left}" y1="${c(y)}" x2="${L.right}" y2="${c(y)}" stroke="${COLORS.threshold}" stroke-dasharray="6 4"/>`,
    );
    out.push(
      `<text x="${L.right - 4}" y="${c(y - 4)}" ${FONT} font-size="11" text-anchor="end" fill="${COLORS.threshold}">threshold ${escapeXml(String(Number(threshold.toPrecision(3))))}</text>`,
    );
  }

  // Markers: vertical line from the label's row down through both panels.
  const labelItems = markers.map((m) => {
    const x = sx(m.requests);
    const width = m.label.length * CHAR_W;
    // Labels that would run past the right edge are drawn leftwards of their line instead.
    const leftward = x + 3 + width > L.width - 4;
    return { x: leftward ? x - 3 - width : x + 3, width, lineX: x };
  });
  // Place in order of label start (right-edge labels start left of their line); stable sort keeps ties in input order.
  const order = labelItems.map((_, i) => i).sort((a, b) => labelItems[a]!.x - labelItems[b]!.x);
  const placedInOrder = staggerLabels(order.map((i) => labelItems[i]!), L.labelRows.length);
  const placed: { row: number; x: number }[] = [];
  order.forEach((i, k) => (placed[i] = placedInOrder[k]!));
  markers.forEach((m, i) => {
    const item = labelItems[i]!;
    const place = placed[i]!;
    const rowY = L.labelRows[place.row] ?? L.labelRows[0];
    const color = COLORS.marker[m.kind] ?? COLORS.frame;
    out.push(
      `<line x1="${c(item.lineX)}" y1="${rowY + 3}" x2="${c(item.lineX)}" y2="${L.bottom.bottom}" stroke="${color}" stroke-dasharray="${m.kind === 'shift' ? '2 3' : '4 2'}"/>`,
    );
    out.push(
      `<text x="${c(place.x)}" y="${rowY}" ${FONT} font-size="11" fill="${color}">${escapeXml(m.label)}</text>`,
    );
  });

  // Series. One polyline per run of non-null points, so every non-null point appears in exactly one polyline.
  const series = (pts: { x: number; v: number | null }[], sy: (v: number) => number, color: string, dots: 'all' | 'isolated', dash?: string): void => {
    for (const seg of segments(pts)) {
      const points = seg.map((p) => `${c(sx(p.x))},${c(sy(p.v))}`).join(' ');
      out.push(
        `<polyline points="${points}" fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
      );
      // A one-point polyline is invisible, so isolated points always get a dot.
      if (dots === 'all' || seg.length === 1) {
        for (const p of seg) out.push(`<circle cx="${c(sx(p.x))}" cy="${c(sy(p.v))}" r="3" fill="${color}"/>`);
      }
    }
  };
  series(windows.map((w) => ({ x: w.requests, v: w.score })), syTop, COLORS.drift, 'all');
  series(accuracy.map((a) => ({ x: a.requests, v: a.primary })), syBot, COLORS.primary, 'isolated');
  series(accuracy.map((a) => ({ x: a.requests, v: a.shadow })), syBot, COLORS.shadow, 'isolated', '5 3');
  if (scores.length === 0) {
    out.push(
      `<text x="${c((L.left + L.right) / 2)}" y="${c((L.top.top + L.top.bottom) / 2)}" ${FONT} font-size="12" text-anchor="middle" fill="${COLORS.frame}">no drift windows yet</text>`,
    );
  }

  // Legend: one row, entries laid out left to right by estimated text width.
  const legend: { label: string; color: string; dash?: string; dot?: boolean }[] = [
    { label: 'drift score', color: COLORS.drift, dot: true },
    { label: 'threshold', color: COLORS.threshold, dash: '6 4' },
    { label: 'primary accuracy', color: COLORS.primary },
    { label: 'shadow accuracy', color: COLORS.shadow, dash: '5 3' },
  ];
  let lx = L.left;
  for (const e of legend) {
    const y = L.legendY;
    out.push(
      `<line x1="${c(lx)}" y1="${y - 4}" x2="${c(lx + 24)}" y2="${y - 4}" stroke="${e.color}" stroke-width="2"${e.dash ? ` stroke-dasharray="${e.dash}"` : ''}/>`,
    );
    if (e.dot) out.push(`<circle cx="${c(lx + 12)}" cy="${y - 4}" r="3" fill="${e.color}"/>`);
    out.push(`<text x="${c(lx + 30)}" y="${y}" ${FONT} font-size="11">${escapeXml(e.label)}</text>`);
    lx += 30 + e.label.length * CHAR_W + 24;
  }

  out.push('</svg>');
  return out.join('\n') + '\n';
}
