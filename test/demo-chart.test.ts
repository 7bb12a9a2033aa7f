import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type DriftRun, LAYOUT, escapeXml, niceTicks, renderDriftChart } from '../src/demo/chart.js';

/**
 * Strict-enough XML well-formedness check for our SVG subset: one optional XML
 * declaration first, then exactly one root element; tags balance; attributes are
 * quoted and unique; text and attribute values contain no raw '<' and only the
 * five predefined entities (or numeric references). Throws with a reason.
 */
function assertWellFormed(xml: string): void {
  let rest = xml;
  const decl = /^<\?xml\s[^?]*\?>/.exec(rest);
  if (decl) rest = rest.slice(decl[0].length);
  if (rest.includes('<?')) throw new Error('processing instruction outside the prolog');
  const checkText = (t: string, where: string): void => {
    if (t.includes('<')) throw new Error(`raw '<' in ${where}: ${t}`);
    const amp = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.exec(t);
    if (amp) throw new Error(`bare '&' in ${where}: ${t}`);
  };
  const token = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
  const stack: string[] = [];
  let roots = 0;
  let pos = 0;
  for (let m = token.exec(rest); m; m = token.exec(rest)) {
    const text = rest.slice(pos, m.index);
    if (stack.length === 0 && text.trim() !== '') throw new Error(`text outside root: ${text}`);
    checkText(text, 'text');
    pos = m.index + m[0].length;
    const [, close, name, attrs, selfClose] = m as unknown as [string, string, string, string, string];
    if (close) {
      if (attrs.trim() || selfClose) throw new Error(`malformed end tag ${m[0]}`);
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open ?? 'nothing'}>`);
      continue;
    }
    const seen = new Set<string>();
    for (const a of attrs.matchAll(/([A-Za-z_][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
      if (seen.has(a[1]!)) throw new Error(`duplicate attribute ${a[1]} in ${m[0]}`);
      seen.add(a[1]!);
      checkText(a[2] ?? a[3] ?? '', `attribute ${a[1]}`);
    }
    if (stack.length === 0) roots++;
    if (!selfClose) stack.push(name);
  }
  const tail = rest.slice(pos);
  if (tail.trim() !== '') throw new Error(`unparsed tail (bad tag?): ${tail.slice(0, 80)}`);
  if (stack.length) throw new Error(`unclosed: ${stack.join(' > ')}`);
  if (roots !== 1) throw new Error(`expected 1 root element, got ${roots}`);
}

const polylines = (svg: string): string[] => [...svg.matchAll(/<polyline points="([^"]*)"/g)].map((m) => m[1]!);
const polylinesOf = (svg: string, color: string): string[] =>
  [...svg.matchAll(new RegExp(`<polyline points="([^"]*)" fill="none" stroke="${color}"`, 'g'))].map((m) => m[1]!);
const DRIFT = '#1f77b4';
const PRIMARY = '#333333';
const SHADOW = '#ff7f0e';

const sample: DriftRun = {
  title: 'digits: covariate shift at 2000 requests',
  threshold: 0.2,
  windows: Array.from({ length: 12 }, (_, i) => ({
    requests: (i + 1) * 500,
    score: i === 6 ? null : i < 4 ? 0.05 + i * 0.01 : Math.min(0.45, 0.1 + (i - 3) * 0.07),
  })),
  accuracy: Array.from({ length: 12 }, (_, i) => ({
    requests: (i + 1) * 500,
    primary: i < 4 ? 0.95 : 0.95 - (i - 3) * 0.04,
    shadow: i < 8 ? null : 0.93 + (i - 8) * 0.005,
  })),
  markers: [
    { requests: 2000, label: 'shift starts', kind: 'shift' },
    { requests: 3000, label: 'retrain trigger', kind: 'trigger' },
    { requests: 3200, label: 'v2 shadow', kind: 'shadow' },
    { requests: 5500, label: 'v2 promoted', kind: 'promote' },
  ],
};

describe('renderDriftChart', () => {
  it('renders a standalone, well-formed SVG document with no NaN/undefined/Infinity', () => {
    const svg = renderDriftChart(sample);
    writeFileSync('/tmp/chart-sample.svg', svg);
    assertWellFormed(svg);
    expect(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain(`width="${LAYOUT.width}" height="${LAYOUT.height}" viewBox="0 0 ${LAYOUT.width} ${LAYOUT.height}"`);
    expect(svg).toContain(`<title>${sample.title}</title>`);
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
    expect(svg).toContain('threshold 0.2');
    for (const m of sample.markers) expect(svg).toContain(`>${m.label}</text>`);
    expect(svg).toContain('primary accuracy');
    expect(svg).toContain('shadow accuracy');
  });

  it('is deterministic and rounds coordinates to one decimal', () => {
    const a = renderDriftChart(sample);
    expect(renderDriftChart(structuredClone(sample))).toBe(a);
    for (const m of a.matchAll(/(?:x|y|x1|y1|x2|y2|cx|cy)="(-?[\d.]+)"/g)) expect(m[1]).toMatch(/^-?\d+(\.\d)?$/);
    for (const p of polylines(a).join(' ').split(/[ ,]/)) expect(p).toMatch(/^-?\d+(\.\d)?$/);
  });

  it('emits one polyline point per non-null score, at the expected coordinates', () => {
    const svg = renderDriftChart({
      title: 't',
      threshold: 0.2,
      windows: [
        { requests: 0, score: 0 },
        { requests: 50, score: 0.3 },
        { requests: 100, score: 0.6 },
      ],
      accuracy: [],
      markers: [],
    });
    const lines = polylinesOf(svg, DRIFT);
    expect(lines).toHaveLength(1);
    const pts = lines[0]!.split(' ');
    expect(pts).toHaveLength(3);
    // x domain 0..100 (nice), y domain 0..max(0.2*1.5, 0.6) = 0..0.6
    const midX = (LAYOUT.left + LAYOUT.right) / 2;
    const midY = (LAYOUT.top.top + LAYOUT.top.bottom) / 2;
    expect(pts).toEqual([`${LAYOUT.left},${LAYOUT.top.bottom}`, `${midX},${midY}`, `${LAYOUT.right},${LAYOUT.top.top}`]);
    expect(svg.match(new RegExp(`<circle [^>]*fill="${DRIFT}"`, 'g'))?.length).toBe(3 + 1); // + legend dot
  });

  it('counts points across the sample: every non-null score appears exactly once', () => {
    const svg = renderDriftChart(sample);
    const drift = polylinesOf(svg, DRIFT);
    const n = drift.reduce((s, p) => s + p.split(' ').length, 0);
    expect(n).toBe(sample.windows.filter((w) => w.score !== null).length);
    expect(drift).toHaveLength(2); // the null at index 6 breaks it
  });

  it('breaks lines at nulls into separate polylines', () => {
    const svg = renderDriftChart({
      title: 't',
      threshold: 0.2,
      windows: [
        { requests: 1, score: 0.1 },
        { requests: 2, score: 0.2 },
        { requests: 3, score: null },
        { requests: 4, score: 0.3 },
        { requests: 5, score: 0.4 },
      ],
      accuracy: [
        { requests: 1, primary: 0.9, shadow: null },
        { requests: 2, primary: null, shadow: 0.8 },
        { requests: 3, primary: 0.7, shadow: 0.85 },
        { requests: 4, primary: 0.6, shadow: 0.9 },
      ],
      markers: [],
    });
    assertWellFormed(svg);
    expect(polylinesOf(svg, DRIFT).map((p) => p.split(' ').length)).toEqual([2, 2]);
    expect(polylinesOf(svg, PRIMARY).map((p) => p.split(' ').length)).toEqual([1, 2]);
    expect(polylinesOf(svg, SHADOW).map((p) => p.split(' ').length)).toEqual([3]);
  });

  it('escapes text for XML', () => {
    const svg = renderDriftChart({ ...sample, title: `a <&> "b" 'c'`, markers: [{ requests: 10, label: '<v2 & co>', kind: 'promote' }] });
    assertWellFormed(svg);
    expect(svg).toContain('<title>a &lt;&amp;&gt; &quot;b&quot; &apos;c&apos;</title>');
    expect(svg).toContain('&lt;v2 &amp; co&gt;');
    expect(svg).not.toContain('<&>');
    expect(escapeXml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&apos;');
  });

  it('staggers labels of close markers onto different rows', () => {
    const svg = renderDriftChart({
      ...sample,
      markers: [
        { requests: 3000, label: 'retrain trigger', kind: 'trigger' },
        { requests: 3050, label: 'v2 shadow', kind: 'shadow' },
        { requests: 3100, label: 'v2 promoted', kind: 'promote' },
      ],
    });
    const ys = ['retrain trigger', 'v2 shadow', 'v2 promoted'].map((l) => {
      const m = new RegExp(`<text x="[^"]*" y="([^"]*)"[^>]*>${l}</text>`).exec(svg);
      return m?.[1];
    });
    expect(new Set(ys).size).toBe(3);
    // far-apart markers share the first row
    const far = renderDriftChart(sample);
    const y1 = /y="([^"]*)"[^>]*>shift starts</.exec(far)?.[1];
    const y4 = /y="([^"]*)"[^>]*>v2 promoted</.exec(far)?.[1];
    expect(y1).toBe(String(LAYOUT.labelRows[0]));
    expect(y4).toBe(y1);
  });

  it('never overlaps labels, even with more crowded markers than rows', () => {
    const labels = ['shift', 'trigger', 'shadow', 'promote', 'one more', 'and another'];
    const svg = renderDriftChart({
      ...sample,
      markers: labels.map((label, i) => ({ requests: 6000 - i, label, kind: 'trigger' as const })),
    });
    assertWellFormed(svg);
    const boxes = labels.map((l) => {
      const m = new RegExp(`<text x="([^"]*)" y="([^"]*)"[^>]*>${l}</text>`).exec(svg);
      expect(m).not.toBeNull();
      return { x0: Number(m![1]), x1: Number(m![1]) + l.length * 6.2, y: m![2] };
    });
    for (const a of boxes) {
      for (const b of boxes) {
        if (a !== b && a.y === b.y) expect(a.x1 <= b.x0 || b.x1 <= a.x0).toBe(true);
      }
    }
  });

  it('uses integer request ticks, also for tiny and empty runs', () => {
    for (const requests of [[], [3], [7, 8]]) {
      const svg = renderDriftChart({ ...sample, windows: requests.map((r) => ({ requests: r, score: 0.1 })), accuracy: [], markers: [] });
      const ticks = [...svg.matchAll(new RegExp(`y="${LAYOUT.xTickLabelY}"[^>]*>([^<]*)<`, 'g'))].map((m) => m[1]);
      expect(ticks.length).toBeGreaterThan(1);
      for (const t of ticks) expect(t).toMatch(/^\d+$/);
    }
  });

  it('renders an empty run, and survives non-finite input, as a valid document', () => {
    for (const run of [
      { title: '', threshold: 0.2, windows: [], accuracy: [], markers: [] },
      { title: 'zero', threshold: 0, windows: [], accuracy: [], markers: [] },
      {
        title: 'junk',
        threshold: Number.NaN,
        windows: [{ requests: Number.NaN, score: 1 }, { requests: 5, score: Number.POSITIVE_INFINITY }],
        accuracy: [{ requests: Number.POSITIVE_INFINITY, primary: 0.5, shadow: null }],
        markers: [{ requests: Number.NaN, label: 'x', kind: 'shift' as const }],
      },
    ] satisfies DriftRun[]) {
      const svg = renderDriftChart(run);
      assertWellFormed(svg);
      expect(svg).not.toMatch(/NaN|undefined|Infinity/);
      expect(polylinesOf(svg, DRIFT)).toHaveLength(0);
      expect(svg).toContain('no drift windows yet');
    }
  });
});

describe('niceTicks', () => {
  it('picks 1/2/5 steps with clean values', () => {
    expect(niceTicks(0, 1, 5).ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 0.2 * 1.5, 4).ticks).toEqual([0, 0.1, 0.2, 0.3]);
    expect(niceTicks(0, 6000, 5).ticks).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000]);
    expect(niceTicks(0, 0, 5).ticks).toEqual([0]);
  });
});

describe('assertWellFormed (the checker itself)', () => {
  it('rejects broken documents', () => {
    expect(() => assertWellFormed('<svg><g></svg>')).toThrow();
    expect(() => assertWellFormed('<svg>a & b</svg>')).toThrow();
    expect(() => assertWellFormed('<svg a="1" a="2"/>')).toThrow();
    expect(() => assertWellFormed('<svg/><svg/>')).toThrow();
    expect(() => assertWellFormed('<svg x=1/>')).toThrow();
    expect(() => assertWellFormed('<?xml version="1.0"?>\n<svg><t>&lt;ok&amp;</t></svg>')).not.toThrow();
  });
});
