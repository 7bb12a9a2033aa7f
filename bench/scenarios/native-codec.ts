// Issue 12: the native core's codec, in process. Encode (output tensor → the JSON text of its data)
// and drift binning, addon vs its TypeScript fallback vs the plain way (JSON.stringify of
// Array.from(typedArray): the typed-array copy plus the stringify), at 16, 1,024 and 150,528
// float32 values. Decode: an OIP JSON request body to the FP32 tensor the validator hands on,
// through parseJsonBody + decodeTensorData with the addon (liftData) and with the fallback, vs
// JSON.parse + new Float32Array(data), at the same sizes.
import { parseJsonBody } from '../../src/codec/json-body.js';
import { LIFT_MIN_BYTES } from '../../src/codec/json-lift.js';
import { selectNativeCore } from '../../src/native/core.js';
import { binRowsTs, encodeDataTs } from '../../src/native/fallback.js';
import { Kind } from '../../src/native/kinds.js';
import { decodeTensorData } from '../../src/validation/tensor-data.js';
import { defineScenario, type Goal, type Table } from '../lib/registry.js';
import { fx } from '../lib/side-by-side.js';
import { formatSpread, spread, type Spread } from '../lib/stats.js';

const SIZES = [16, 1024, 150_528];

/** Softmax-like float32 outputs in (0, 1): what a classifier answers, ~9 significant digits each. */
function values(n: number): Float32Array {
  let seed = 99;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  return Float32Array.from({ length: n }, () => Math.fround(rnd()));
}

/** Runs `f` for about `ms` (at least 3 calls); µs per call. `sink` keeps the result alive. */
function timeBatch(f: () => number, ms: number): number {
  let ops = 0;
  let sink = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms || ops < 3) {
    sink += f();
    ops++;
    t = performance.now();
  }
  if (sink < 0) throw new Error('unreachable');
  return ((t - t0) * 1000) / ops;
}

interface Contender {
  label: string;
  run: () => number;
  /** Runs before each of its batches (which implementation serves). */
  setup?: () => void;
}

function measure(contenders: Contender[], rounds: number, batchMs: number): Map<string, number[]> {
  for (const c of contenders) {
    c.setup?.();
    timeBatch(c.run, batchMs); // warm-up
  }
  const us = new Map<string, number[]>(contenders.map((c) => [c.label, []]));
  for (let r = 0; r < rounds; r++) {
    for (const c of contenders) {
      c.setup?.();
      us.get(c.label)!.push(timeBatch(c.run, batchMs));
    }
  }
  return us;
}

export default defineScenario({
  name: 'native-codec',
  order: 62,
  description: 'Native core vs TypeScript fallback vs plain JSON: decode and encode MB/s at 16 / 1,024 / 150,528 floats, drift binning rows/s.',
  async run(ctx) {
    const addon = selectNativeCore(false);
    if (addon.impl !== 'addon') throw new Error(`the addon did not load (${addon.reason}): npm run build`);
    const rounds = ctx.quick ? 5 : 9;
    const batchMs = ctx.quick ? 100 : 300;
    const rows: string[][] = [];
    const goals: Goal[] = [];
    const data: Record<string, unknown> = {};
    const fmtX = (s: Spread): string => `${fx(s.median)} (${fx(s.min)}–${fx(s.max)})`;
    // Decode: a request body as a Python client sends it (numpy float32 .tolist(): each value widened to double).
    const decodeRows: string[][] = [];
    for (const n of SIZES) {
      const v = values(n);
      const shape = [1, n];
      const body = Buffer.from(JSON.stringify({ id: 'r1', inputs: [{ name: 'x', shape, datatype: 'FP32', data: Array.from(v) }] }));
      const viaParser = (): number => {
        const tree = parseJsonBody(body) as { inputs: { data: unknown[] }[] };
        return decodeTensorData('FP32', tree.inputs[0]!.data, shape, '/inputs/0').length;
      };
      const contenders: Contender[] = [
        { label: 'addon', setup: () => selectNativeCore(false), run: viaParser },
        { label: 'fallback', setup: () => selectNativeCore(true), run: viaParser },
        { label: 'JSON.parse + copy', run: () => new Float32Array((JSON.parse(body.toString('utf8')) as { inputs: { data: number[] }[] }).inputs[0]!.data).length },
      ];
      selectNativeCore(false);
      const lifted = parseJsonBody(body) as { inputs: { data: unknown }[] };
      const got = decodeTensorData('FP32', lifted.inputs[0]!.data as unknown[], shape, '/inputs/0');
      if (got.length !== n || got.some((x, i) => x !== v[i])) throw new Error(`decode ${n}: the addon's tensor differs from the sent values`);
      const us = measure(contenders, rounds, batchMs);
      selectNativeCore(false);
      const base = us.get('JSON.parse + copy')!;
      const out: Record<string, unknown> = { bodyBytes: body.length, lifted: ArrayBuffer.isView(lifted.inputs[0]!.data) };
      for (const c of contenders) {
        const u = us.get(c.label)!;
        const vs = spread(u.map((x, i) => base[i]! / x));
        out[c.label] = { usPerOp: spread(u), vsPlain: vs };
        decodeRows.push([n.toLocaleString('en-US'), c.label, body.length.toLocaleString('en-US'), formatSpread(spread(u), 2), formatSpread(spread(u.map((x) => body.length / x))), fmtX(vs)]);
        if (c.label === 'addon' && (n === 16 || n === 150_528)) {
          const want = n === 16 ? 1 : 3;
          goals.push({ name: `decode ${n.toLocaleString('en-US')} FP32 into a typed array: addon vs JSON.parse + copy`, target: `≥ ${want}x`, measured: fmtX(vs), met: vs.median >= want });
        }
      }
      data[`decode-${n}`] = out;
      ctx.log(`  decode ${n}: ${contenders.map((c) => `${c.label} ${spread(us.get(c.label)!).median.toFixed(2)} µs`).join('  ')}`);
    }
    for (const n of SIZES) {
      const v = values(n);
      const text = addon.encodeData(v, Kind.FP32);
      if (encodeDataTs(v, Kind.FP32) !== text) throw new Error(`addon and fallback disagree at ${n} values`);
      const plain = `[${text}]`;
      const contenders: Contender[] = [
        { label: 'addon', run: () => addon.encodeData(v, Kind.FP32).length + 2 },
        { label: 'fallback', run: () => encodeDataTs(v, Kind.FP32).length + 2 },
        { label: 'JSON.stringify(Array.from)', run: () => JSON.stringify(Array.from(v)).length },
      ];
      const us = measure(contenders, rounds, batchMs);
      const base = us.get('JSON.stringify(Array.from)')!;
      const out: Record<string, unknown> = {};
      for (const c of contenders) {
        const u = us.get(c.label)!;
        const bytes = c.run();
        const vs = spread(u.map((x, i) => base[i]! / x));
        out[c.label] = { bytes, usPerOp: spread(u), vsPlain: vs };
        rows.push([n.toLocaleString('en-US'), c.label, bytes.toLocaleString('en-US'), formatSpread(spread(u), 2), formatSpread(spread(u.map((x) => bytes / x))), fmtX(vs)]);
        if (c.label === 'addon' && (n === 16 || n === 150_528)) {
          const want = n === 16 ? 1 : 3;
          goals.push({ name: `encode ${n.toLocaleString('en-US')} FP32: addon vs JSON.stringify + copy`, target: `≥ ${want}x`, measured: fmtX(vs), met: vs.median >= want });
        }
      }
      data[`encode-${n}`] = { textBytes: plain.length, ...out };
      ctx.log(`  encode ${n}: ${contenders.map((c) => `${c.label} ${spread(us.get(c.label)!).median.toFixed(2)} µs`).join('  ')}`);
    }

    // Drift binning: breast-cancer-like 30 features x 10 bins, a batch of 64 rows.
    const features = 30;
    const batch = 64;
    const featureColumn = Int32Array.from({ length: features }, (_, i) => i);
    const edges = Float64Array.from({ length: features * 9 }, (_, i) => (i % 9) / 9);
    const edgeStart = Int32Array.from({ length: features + 1 }, (_, i) => i * 9);
    const input = values(batch * features);
    const outA = new Int32Array(batch * features);
    const outB = new Int32Array(batch * features);
    const bins = measure(
      [
        { label: 'addon', run: () => addon.binRows(input, batch, features, featureColumn, edges, edgeStart, outA) + 1 },
        { label: 'fallback', run: () => binRowsTs(input, batch, features, featureColumn, edges, edgeStart, outB) + 1 },
      ],
      rounds,
      batchMs,
    );
    if (outA.some((x, i) => x !== outB[i])) throw new Error('binning: addon and fallback disagree');
    const binRowsTable: Table = {
      title: `drift binning: ${batch} rows x ${features} features x 10 bins`,
      columns: ['implementation', 'µs per batch', 'M rows/s', 'vs fallback'],
      rows: ['addon', 'fallback'].map((l) => {
        const u = bins.get(l)!;
        return [l, formatSpread(spread(u), 2), formatSpread(spread(u.map((x) => batch / x)), 2), fmtX(spread(u.map((x, i) => bins.get('fallback')![i]! / x)))];
      }),
    };
    data.binning = Object.fromEntries([...bins].map(([k, u]) => [k, spread(u)]));

    return {
      summary:
        `In process, no server. Encode: the JSON text of one FP32 output tensor's data (values in (0,1), as a classifier's ` +
        `probabilities), by the addon's encodeData (std::to_chars shortest float32 text), its TypeScript fallback (same bytes, ` +
        `checked first) and the plain way, JSON.stringify(Array.from(typedArray)) — which prints each float32 widened to double, ` +
        `so its text is longer (${(data['encode-1024'] as { 'JSON.stringify(Array.from)': { bytes: number } })['JSON.stringify(Array.from)'].bytes} bytes vs ` +
        `${(data['encode-1024'] as { addon: { bytes: number } }).addon.bytes} at 1,024 values). MB/s counts each one's own output. ` +
        `Warm-up, then rounds alternating the contenders, each a batch of ≈ ${batchMs} ms of back-to-back calls; medians (min–max); ` +
        `ratios per round (plain µs ÷ contender µs). Decode: one OIP request body (values printed as a Python client sends a ` +
        `float32 array, widened to double, ~19 characters each) to the validated FP32 tensor: parseJsonBody (UTF-8 check, ` +
        `forbidden keys, depth; with the addon, liftData writes the data straight into a Float32Array, and these bodies, ` +
        `plain {id, inputs: [{name, shape, datatype, data}]}, come back as the whole tree with no JSON.parse at any size; ` +
        `a body that is not plain is lifted from ${LIFT_MIN_BYTES} bytes on) + decodeTensorData, vs JSON.parse + ` +
        `new Float32Array(data), which checks nothing. ` +
        `Binning: DriftMonitor's per-row bin indices for a 64-row batch.`,
      tables: [
        { title: 'encode one FP32 tensor', columns: ['values', 'implementation', 'bytes', 'µs/op', 'MB/s', 'throughput vs JSON.stringify + copy'], rows },
        { title: 'decode one OIP JSON body to its FP32 tensor', columns: ['values', 'implementation', 'body bytes', 'µs/op', 'MB/s', 'throughput vs JSON.parse + copy'], rows: decodeRows },
        binRowsTable,
      ],
      goals,
      charts: [],
      data,
    };
  },
});
