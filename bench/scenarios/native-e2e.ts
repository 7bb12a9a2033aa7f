// Issue 12 end to end: the same sluice build served twice side by side, with the native core
// (addon) and with --disable-native (the TypeScript fallback), over HTTP JSON:
//  - an image model whose input is [n,3,224,224] FP32 (150,528 floats a request; the graph is
//    GlobalAveragePool + Flatten, so the server's cost is almost all JSON decode and encode);
//  - digits at 64 connections, beside naive uWS and a uWS hello server (the goal table);
//  - digits with one client (p99 beside naive uWS).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeOnnxModel } from '../../src/train/onnx.js';
import { compareAt, fx, planFor, targetTable, withContenders, type Contender } from '../lib/side-by-side.js';
import { pairedRatio, type Sample, type Summary } from '../lib/compare.js';
import { benchModel, inferBodies, loadRows } from '../lib/data.js';
import { defineScenario, type Goal, type Table } from '../lib/registry.js';
import { privateRepository, removeRepository, startBaseline, startSluice } from '../lib/servers.js';
import { formatSpread } from '../lib/stats.js';

const IMAGE = 'image-mean';
const PIXELS = 3 * 224 * 224;

/** A repository holding the image model: channel means of a [n,3,224,224] image. */
function imageRepository(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-image-'));
  mkdirSync(path.join(dir, IMAGE, '1'), { recursive: true });
  const onnx = encodeOnnxModel({
    irVersion: 7,
    opsetImports: [{ domain: '', version: 13 }],
    producerName: 'sluice-bench',
    producerVersion: '1',
    graph: {
      name: IMAGE,
      nodes: [
        { name: 'pool', opType: 'GlobalAveragePool', inputs: ['image'], outputs: ['pooled'] },
        { name: 'flat', opType: 'Flatten', inputs: ['pooled'], outputs: ['channel_mean'] },
      ],
      initializers: [],
      inputs: [{ name: 'image', elemType: 'float32', shape: ['n', 3, 224, 224] }],
      outputs: [{ name: 'channel_mean', elemType: 'float32', shape: ['n', 3] }],
    },
  });
  writeFileSync(path.join(dir, IMAGE, '1', 'model.onnx'), onnx);
  const config = {
    name: IMAGE,
    platform: 'onnxruntime_onnx',
    inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 3, 224, 224] }],
    outputs: [{ name: 'channel_mean', datatype: 'FP32', shape: [-1, 3] }],
    batching: { maxBatchSize: 8, maxQueueDelayUs: 1000, preferredBatchSizes: [], maxQueueSize: 256 },
  };
  writeFileSync(path.join(dir, IMAGE, 'model.json'), `${JSON.stringify(config, null, 2)}\n`);
  return dir;
}

/** Request bodies as a Python client sends a float32 image (numpy .tolist(): each value widened to double). */
function imageBodies(count: number): string[] {
  const out: string[] = [];
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let b = 0; b < count; b++) {
    const data = Array.from({ length: PIXELS }, () => Math.fround((rnd() - 0.45) / 0.225));
    out.push(JSON.stringify({ id: `img-${b}`, inputs: [{ name: 'image', shape: [1, 3, 224, 224], datatype: 'FP32', data }] }));
  }
  return out;
}

/** Starts every contender, compares them at `connections`, stops them all. */
function sideBySide(
  contenders: readonly Contender[],
  model: string,
  bodies: string[],
  connections: number,
  ctx: Parameters<typeof planFor>[0],
): Promise<{ summaries: Summary[]; samples: Map<string, Sample[]> }> {
  return withContenders(model, contenders, { bodies, rowsPerRequest: 1 }, (targets) => compareAt(targets, planFor(ctx, connections)));
}

const ratio = (samples: Map<string, Sample[]>, a: string, b: string, f: (s: Sample) => number) =>
  pairedRatio(samples.get(a)!, samples.get(b)!, f);
const reqs = (s: Sample): number => s.reqPerSec;
const p99 = (s: Sample): number => s.p99Us;

export default defineScenario({
  name: 'native-e2e',
  order: 63,
  description: 'sluice with the native core vs --disable-native over HTTP JSON: a 150,528-float image model, digits at 64 connections (beside naive uWS and uWS hello) and at 1.',
  async run(ctx) {
    const goals: Goal[] = [];
    const tables: Table[] = [];
    const data: Record<string, unknown> = {};

    // 1. The image model.
    const imageRepo = imageRepository();
    try {
      const bodies = imageBodies(ctx.quick ? 2 : 4);
      const { summaries, samples } = await sideBySide(
        [
          { label: 'sluice (addon)', start: () => startSluice(imageRepo), sluice: true },
          { label: 'sluice (fallback)', start: () => startSluice(imageRepo, { args: ['--disable-native'] }), sluice: true },
        ],
        IMAGE,
        bodies,
        8,
        ctx,
      );
      const r = ratio(samples, 'sluice (addon)', 'sluice (fallback)', reqs);
      tables.push(targetTable(`image model [1,3,224,224] FP32 (${(bodies[0]!.length / 1e6).toFixed(1)} MB JSON bodies), 8 connections`, summaries));
      goals.push({ name: 'HTTP JSON req/s, 150,528-float input: addon vs fallback', target: '≥ 2x', measured: `${fx(r.median)} (${fx(r.min)}–${fx(r.max)})`, met: r.median >= 2 });
      data.image = { bodyBytes: bodies[0]!.length, summaries, ratio: r };
    } finally {
      removeRepository(imageRepo);
    }

    // 2. digits at 64 connections and at 1, beside the baselines.
    const model = benchModel('digits');
    const rows = loadRows(model);
    const repo = privateRepository(['digits']);
    try {
      const bodies = inferBodies(model, rows, 1);
      const contenders: Contender[] = [
        { label: 'sluice (addon)', start: () => startSluice(repo), sluice: true },
        { label: 'sluice (fallback)', start: () => startSluice(repo, { args: ['--disable-native'] }), sluice: true },
        { label: 'naive-uws', start: () => startBaseline('naive-uws', model), sluice: false },
        { label: 'uws-hello', start: () => startBaseline('uws-hello', model), sluice: false },
      ];
      const at64 = await sideBySide(contenders, 'digits', bodies, 64, ctx);
      const vsFallback = ratio(at64.samples, 'sluice (addon)', 'sluice (fallback)', reqs);
      const vsNaive = ratio(at64.samples, 'sluice (addon)', 'naive-uws', reqs);
      const vsHello = ratio(at64.samples, 'sluice (addon)', 'uws-hello', reqs);
      const one = await sideBySide(contenders.filter((c) => c.label !== 'sluice (fallback)'), 'digits', bodies, 1, ctx);
      const p99VsNaive = ratio(one.samples, 'sluice (addon)', 'naive-uws', p99);
      const range = (s: { median: number; min: number; max: number }): string => `${fx(s.median)} (${fx(s.min)}–${fx(s.max)})`;
      tables.push(targetTable('digits, HTTP JSON, 64 connections', at64.summaries), targetTable('digits, HTTP JSON, 1 connection', one.summaries));
      tables.push({
        title: 'ratios (per round, median (min–max))',
        columns: ['ratio', 'value'],
        rows: [
          ['digits 64 conns req/s: addon ÷ fallback', formatSpread(vsFallback, 2)],
          ['digits 64 conns req/s: sluice ÷ naive uWS', formatSpread(vsNaive, 2)],
          ['digits 64 conns req/s: sluice ÷ uWS hello', formatSpread(vsHello, 2)],
          ['digits 1 conn p99: sluice ÷ naive uWS', formatSpread(p99VsNaive, 2)],
        ],
      });
      goals.push(
        { name: 'digits HTTP JSON req/s at 64 connections: addon vs fallback', target: '≥ 1.1x', measured: range(vsFallback), met: vsFallback.median >= 1.1 },
        { name: 'digits HTTP JSON req/s at 64 connections vs naive uWS', target: '≥ 2.5x', measured: range(vsNaive), met: vsNaive.median >= 2.5 },
        { name: 'digits HTTP JSON req/s at 64 connections vs uWS hello', target: '≥ 0.35x', measured: range(vsHello), met: vsHello.median >= 0.35 },
        { name: 'digits single client p99 vs naive uWS p99', target: '≤ 1x', measured: range(p99VsNaive), met: p99VsNaive.median <= 1 },
      );
      data.digits = { at64: at64.summaries, at1: one.summaries, ratios: { vsFallback, vsNaive, vsHello, p99VsNaive } };
    } finally {
      removeRepository(repo);
    }
    return {
      summary:
        'One sluice build started twice, with the addon and with --disable-native (same config otherwise, 1 worker on 2 cores), ' +
        'alternating with the baselines: warm-up, then 3 rounds per target; ratios are medians of per-round ratios. The image ' +
        'model (GlobalAveragePool + Flatten over [n,3,224,224], written by the bench) leaves the server little but JSON work: ' +
        'decoding ~3 MB of numbers a request (each a float32 printed as a double, as numpy tolist() + json.dumps sends it).',
      tables,
      goals,
      charts: [],
      data,
    };
  },
});
