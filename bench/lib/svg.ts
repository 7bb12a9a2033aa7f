// A small dependency-free SVG line chart: one polyline per series, a labelled dot per point,
// linear x, linear or log10 y, axes with "nice" ticks, a legend. Enough for throughput vs
// p99 latency; not a plotting library.

export interface Point {
  x: number;
  y: number;
  /** Written beside the dot (e.g. the concurrency). */
  label?: string;
}

export interface Series {
  name: string;
  points: Point[];
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logY?: boolean;
  logX?: boolean;
  width?: number;
  height?: number;
}

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#7f7f7f'];

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
const fmt = (v: number): string => (Math.abs(v) >= 1000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toPrecision(3)}`);

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(+v.toPrecision(12));
  return ticks;
}

/** Power-of-ten bounds around [lo, hi] for a log axis. */
function logRange(values: readonly number[]): [number, number] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return [10 ** Math.floor(Math.log10(lo)), 10 ** Math.ceil(Math.log10(hi))];
}

function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) ticks.push(v);
    }
  }
  return ticks;
}

export function lineChart(spec: ChartSpec): string {
  const W = spec.width ?? 760;
  const H = spec.height ?? 440;
  const m = { left: 70, right: 170, top: 40, bottom: 55 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const ok = (p: Point): boolean => Number.isFinite(p.x) && Number.isFinite(p.y) && p.y > 0 && (!spec.logX || p.x > 0);
  const pts = spec.series.flatMap((s) => s.points).filter(ok);
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => p.y);
  const [xLo, xHi] = spec.logX ? logRange(xs.length ? xs : [1]) : [0, Math.max(1, ...xs) * 1.05];
  const [yLo, yHi] = spec.logY ? logRange(ys.length ? ys : [1]) : [0, Math.max(1, ...ys) * 1.1];
  const scale = (v: number, lo: number, hi: number, log: boolean | undefined): number =>
    log ? (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : (v - lo) / (hi - lo);
  const r1 = (v: number): string => v.toFixed(1);
  const sx = (x: number): string => r1(m.left + scale(x, xLo, xHi, spec.logX) * pw);
  const sy = (y: number): string => r1(m.top + ph - scale(y, yLo, yHi, spec.logY) * ph);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.left + pw / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(spec.title)}</text>`,
  ];
  for (const t of spec.logX ? logTicks(xLo, xHi) : niceTicks(xLo, xHi)) {
    out.push(`<line x1="${sx(t)}" y1="${m.top}" x2="${sx(t)}" y2="${m.top + ph}" stroke="#eee"/>`);
    out.push(`<text x="${sx(t)}" y="${m.top + ph + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  for (const t of spec.logY ? logTicks(yLo, yHi) : niceTicks(yLo, yHi)) {
    out.push(`<line x1="${m.left}" y1="${sy(t)}" x2="${m.left + pw}" y2="${sy(t)}" stroke="#eee"/>`);
    out.push(`<text x="${m.left - 6}" y="${r1(Number(sy(t)) + 4)}" text-anchor="end">${fmt(t)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${H - 14}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  out.push(
    `<text x="16" y="${m.top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${m.top + ph / 2})">${esc(spec.yLabel)}</text>`,
  );
  spec.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const shown = s.points.filter(ok);
    const d = shown.map((p) => `${sx(p.x)},${sy(p.y)}`).join(' ');
    out.push(`<polyline points="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of shown) {
      out.push(`<circle cx="${sx(p.x)}" cy="${sy(p.y)}" r="3" fill="${color}"/>`);
      if (p.label) out.push(`<text x="${r1(Number(sx(p.x)) + 5)}" y="${r1(Number(sy(p.y)) - 5)}" font-size="10" fill="${color}">${esc(p.label)}</text>`);
    }
    const ly = m.top + 10 + i * 20;
    out.push(`<line x1="${m.left + pw + 12}" y1="${ly}" x2="${m.left + pw + 32}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${m.left + pw + 38}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}
