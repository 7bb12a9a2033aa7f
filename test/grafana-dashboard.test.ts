// deploy/grafana/sluice.json queries only what sluice exports: every metric name in its PromQL
// (panels and template variables) is read back from a running server's /metrics after traffic
// that makes each series exist — a request, a refusal, a shadowed request that is compared.
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyModels, postJson, ROOT, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/load.js';
import { digitsRows } from './helpers/ort.js';
import { scrape, type Exposition } from './helpers/prometheus.js';

interface Target {
  expr: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Dashboard {
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string | { query: string } }[] };
}

const dashboard = JSON.parse(await readFile(path.join(ROOT, 'deploy/grafana/sluice.json'), 'utf8')) as Dashboard;

/** PromQL words that are not metric names: keywords, modifiers, aggregation clauses. */
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan', 'atan2']);

/**
 * The metric names of a PromQL expression: strings, label matchers, ranges and grouping label
 * lists removed, then every identifier that is neither a keyword nor a function call.
 */
function metricNames(expr: string): string[] {
  const e = expr
    .replace(/"(?:\\.|[^"\\])*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const m of e.matchAll(/(?<![a-zA-Z0-9_:.$])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = e.slice(m.index + m[0].length);
    if (/^\s*\(/.test(rest) || KEYWORDS.has(m[0].toLowerCase())) continue;
    names.push(m[0]);
  }
  return names;
}

const panels = dashboard.panels.filter((p) => p.type !== 'row');
const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
/** label_values(<metric>[{...}], <label>) of the query variables. */
const variableMetrics = dashboard.templating.list
  .filter((v) => v.type === 'query')
  .map((v) => {
    const q = typeof v.query === 'string' ? v.query : v.query.query;
    const m = /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(q);
    if (!m) throw new Error(`variable ${v.name}: not a label_values(metric, label) query: ${q}`);
    return m[1]!;
  });
const queried = [...new Set([...exprs.flatMap(metricNames), ...variableMetrics])].sort();

/** Queried names whose series exist only once something rare happened (a worker died, a log line was dropped). */
const MAY_BE_EMPTY = new Set(['sluice_worker_restarts_total', 'sluice_prediction_log_lines_total', 'sluice_prediction_log_dropped_total']);

describe('the dashboard model', () => {
  it('has the panels ops look for, each reading the Prometheus datasource variable', () => {
    const titles = panels.map((p) => p.title);
    for (const want of ['Throughput by model and status', 'Latency p99 by stage', 'Batch size', 'Admission refusals by reason', 'Shadow agreement']) expect(titles).toContain(want);
    expect(dashboard.templating.list.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const p of panels) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
  });

  it('the name extractor finds metric names and nothing else', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (le, stage) (rate(sluice_stage_seconds_bucket{model=~"$model", x="a{b}"}[$__rate_interval])))')).toEqual([
      'sluice_stage_seconds_bucket',
    ]);
    expect(metricNames('sum(rate(a_total[5m] offset 1h)) / on (model) group_left(version) b > bool 0 and c')).toEqual(['a_total', 'b', 'c']);
    expect(queried).toEqual(expect.arrayContaining(['sluice_requests_total', 'sluice_stage_seconds_bucket', 'sluice_batch_rows_bucket', 'sluice_admission_refusals_total', 'sluice_shadow_agreement']));
  });
});

describe('every metric the dashboard queries is exported', () => {
  let t: TestGateway;
  let m: Exposition;
  beforeAll(async () => {
    // digits version 2 (the same file) shadows version 1 on every request.
    const dir = await copyModels(['digits']);
    await cp(path.join(dir, 'digits/1'), path.join(dir, 'digits/2'), { recursive: true });
    const file = path.join(dir, 'digits/model.json');
    await writeFile(file, (await readFile(file, 'utf8')).replace('"latest": 1', '"latest": 2'));
    await writeFile(path.join(dir, 'digits/routing.json'), JSON.stringify({ primary: '1', shadows: [{ version: '2', percent: 100 }] }));
    t = await startTestGateway({ modelsDir: dir, config: { metricsOnDataPort: true } });
    const url = `${t.url}/v2/models/digits/infer`;
    const body = { id: 'g-1', inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: digitsRows(1)[0] }] };
    expect((await postJson(url, body)).status).toBe(200);
    expect([429, 504]).toContain((await postJson(url, { ...body, id: 'g-2' }, { 'x-timeout-ms': '0.001' })).status);
    await waitFor(() => t.gw.shadows.report('digits').pairs.some((p) => p.compared === 1));
    m = await scrape(`${t.url}/metrics`);
  });
  afterAll(() => t?.stop());

  it('each queried name is a sample name of the running server (declared, and with series unless rare)', () => {
    const declared = (name: string) => m.types.has(name) || [...m.types].some(([base, type]) => type === 'histogram' && /_(bucket|sum|count)$/.test(name) && name.replace(/_(bucket|sum|count)$/, '') === base);
    const withSeries = m.sampleNames();
    const missing = queried.filter((name) => !declared(name));
    const empty = queried.filter((name) => declared(name) && !withSeries.has(name) && !MAY_BE_EMPTY.has(name));
    expect({ missing, empty }).toEqual({ missing: [], empty: [] });
    expect(m.samples('sluice_shadow_agreement').map((s) => [s.labels, Number(s.value)])).toEqual([[{ model: 'digits', primary: '1', shadow: '2' }, 1]]);
  });
});
