// One contract suite for the native core, run against the addon and the TypeScript fallback
// (src/native/): the same tensors give the same bytes, and the same batches the same bins. Plus a
// fuzz pass bounded in time (random bit patterns of every datatype; addon and fallback agree).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectNativeCore, type NativeCore } from '../src/native/core.js';
import { binRowsTs, encodeDataTs } from '../src/native/fallback.js';
import { Kind } from '../src/native/kinds.js';
import type { TensorData } from '../src/types.js';
import { binIndex } from '../src/util/bins.js';
import { ROOT } from './helpers/gateway.js';
import { prng as mulberry32 } from './helpers/third-party.js';

const ADDON = path.join(ROOT, 'native/build/Release/sluice_native.node');
const addon = selectNativeCore(false);
const fallback = selectNativeCore(true);
const impls: NativeCore[] = addon.impl === 'addon' ? [addon, fallback] : [fallback];

it('npm ci / npm run build built the addon, and it loads (SLUICE_SKIP_NATIVE_BUILD=1 skips the build)', () => {
  if (process.env.SLUICE_SKIP_NATIVE_BUILD === '1') return;
  expect(existsSync(ADDON)).toBe(true);
  expect(addon.impl).toBe('addon');
});

it('a missing or foreign addon selects the fallback, with the reason', () => {
  const missing = selectNativeCore(false, '/nonexistent/sluice_native.node');
  expect(missing).toMatchObject({ impl: 'fallback', reason: 'no addon at /nonexistent/sluice_native.node' });
  expect(selectNativeCore(true)).toMatchObject({ impl: 'fallback', reason: 'disabled by --disable-native' });
});

/** Random float32 bit patterns: every exponent, subnormals, NaN and infinities included. */
function randomFloat32(n: number, rnd: () => number): Float32Array {
  const bits = new Uint32Array(n);
  for (let i = 0; i < n; i++) bits[i] = Math.floor(rnd() * 2 ** 32);
  return new Float32Array(bits.buffer);
}

function randomFloat64(n: number, rnd: () => number): Float64Array {
  const bits = new Uint32Array(n * 2);
  for (let i = 0; i < bits.length; i++) bits[i] = Math.floor(rnd() * 2 ** 32);
  return new Float64Array(bits.buffer);
}

/** Every power of two a float32 holds (2^-149 .. 2^127), both signs: where the round-trip interval is lopsided. */
const POWERS_OF_TWO = Float32Array.from({ length: 277 * 2 }, (_, i) => (i % 2 ? -1 : 1) * 2 ** (Math.floor(i / 2) - 149));

describe.each(impls.map((c) => [c.impl, c] as const))('encodeData (%s)', (_name, core) => {
  const enc = (d: TensorData, k: Kind) => core.encodeData(d, k);

  it('writes FP32 with the shortest text that round-trips in float32, in Number::toString layout', () => {
    const v = Float32Array.from([0.1, 0.7, 1 / 3, 1e21, 1e-7, 123456789, 0.5, 100, 3.4028234663852886e38, 1.401298464324817e-45, -2.5]);
    expect(enc(v, Kind.FP32)).toBe('0.1,0.7,0.33333334,1e+21,1e-7,123456790,0.5,100,3.4028235e+38,1e-45,-2.5');
  });

  it('picks the closer of two shortest texts when the float32 is a hair past their midpoint, closer than a double resolves', () => {
    // 0x70fa9200 is exactly 6.20382045000000024...e29: the double nearest 6.20382045e29 is that
    // float32 itself, yet it is no tie, and 6.2038205e29 is the closer 8-digit text. The fallback
    // once took it for a tie and wrote the even 6.2038204e29 (CI's fuzz found it).
    const v = new Float32Array(new Uint32Array([0x70fa9200, 0xf0fa9200]).buffer);
    expect(enc(v, Kind.FP32)).toBe('6.2038205e+29,-6.2038205e+29');
  });

  it('writes -0 as 0 and non-finite floats as null (JSON has no NaN)', () => {
    expect(enc(Float32Array.from([-0, NaN, Infinity, -Infinity]), Kind.FP32)).toBe('0,null,null,null');
    expect(enc(Float64Array.from([-0, NaN, Infinity, 0.1]), Kind.FP64)).toBe('0,null,null,0.1');
  });

  it('every FP32 text reads back as the identical float32, and is never longer than the float64 text', () => {
    const rnd = mulberry32(7);
    const v = Float32Array.from([...POWERS_OF_TWO, ...randomFloat32(20_000, rnd).filter(Number.isFinite)]);
    const texts = enc(v, Kind.FP32).split(',');
    expect(texts.length).toBe(v.length);
    texts.forEach((t, i) => {
      expect(Math.fround(Number(t)), t).toBe(v[i]);
      expect(t.length).toBeLessThanOrEqual(String(v[i]).replace(/^-0$/, '0').length);
    });
  });

  it('writes FP64 as V8 prints a double', () => {
    const v = randomFloat64(5_000, mulberry32(11)).filter(Number.isFinite);
    expect(enc(v, Kind.FP64)).toBe(Array.from(v, (x) => String(x).replace(/^-0$/, '0')).join(','));
  });

  it('writes integers as digits at the ends of every range, and BOOL as true/false', () => {
    expect(enc(Int8Array.from([-128, 0, 127]), Kind.INT8)).toBe('-128,0,127');
    expect(enc(Uint8Array.from([0, 255]), Kind.UINT8)).toBe('0,255');
    expect(enc(Int16Array.from([-32768, 32767]), Kind.INT16)).toBe('-32768,32767');
    expect(enc(Int32Array.from([-2147483648, 2147483647]), Kind.INT32)).toBe('-2147483648,2147483647');
    expect(enc(BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 0n]), Kind.INT64)).toBe('-9223372036854775808,9223372036854775807,0');
    expect(enc(Uint8Array.from([1, 0, 1]), Kind.BOOL)).toBe('true,false,true');
    expect(enc(new Float32Array(0), Kind.FP32)).toBe('');
  });

  it('writes the longest texts of each layout, past the stack buffer', () => {
    const f32 = Float32Array.from({ length: 3000 }, (_, i) => [-1.2345678e-6, -1.2345679e20, -1.1754944e-38][i % 3]!);
    expect(enc(f32, Kind.FP32)).toBe(Array.from({ length: 1000 }, () => '-0.0000012345678,-123456790000000000000,-1.1754944e-38').join(','));
    const f64 = Float64Array.from({ length: 2000 }, (_, i) => [-1.2345678901234567e-6, -2.2250738585072014e-308][i % 2]!);
    expect(enc(f64, Kind.FP64)).toBe(Array.from({ length: 1000 }, () => '-0.0000012345678901234567,-2.2250738585072014e-308').join(','));
  });

  it('reads a view at its own offset (a subarray of a larger buffer)', () => {
    const whole = Float32Array.from([1.5, 0.1, 0.2, 9]);
    expect(enc(whole.subarray(1, 3), Kind.FP32)).toBe('0.1,0.2');
  });
});

describe.each(impls.map((c) => [c.impl, c] as const))('binRows (%s)', (_name, core) => {
  it('bins each feature column on its own edges (left-closed), as util/bins.ts binIndex does', () => {
    const edges = [[0, 1, 2], [], [10]];
    const featureColumn = Int32Array.from([2, 0, 1]);
    const flat = Float64Array.from(edges.flat());
    const edgeStart = Int32Array.from([0, 3, 3, 4]);
    const rnd = mulberry32(3);
    const rows = 500;
    const cols = 3;
    const data = Float32Array.from({ length: rows * cols }, () => (rnd() < 0.05 ? NaN : Math.round((rnd() * 16 - 3) * 4) / 4));
    const out = new Int32Array(rows * 3);
    const skipped = core.binRows(data, rows, cols, featureColumn, flat, edgeStart, out);
    let wantSkipped = 0;
    for (let r = 0; r < rows; r++) {
      for (let f = 0; f < 3; f++) {
        const v = data[r * cols + featureColumn[f]!]!;
        const want = Number.isFinite(v) ? binIndex(edges[f]!, v) : (wantSkipped++, -1);
        expect(out[r * 3 + f]).toBe(want);
      }
    }
    expect(skipped).toBe(wantSkipped);
  });

  it('bins alike on short and long edge lists (the addon counts up to 16 edges, searches longer ones), values on an edge included', () => {
    const rnd = mulberry32(16);
    const edges = [1, 15, 16, 17, 40, 300].map((n) => {
      const e: number[] = [];
      for (let x = -5; e.length < n; ) e.push((x += 0.25 + Math.floor(rnd() * 4) / 4));
      return e;
    });
    const flat = Float64Array.from(edges.flat());
    const edgeStart = Int32Array.from([0, ...edges.map((_, i) => edges.slice(0, i + 1).flat().length)]);
    const featureColumn = Int32Array.from(edges, (_, i) => i);
    const rows = 2000;
    const cols = edges.length;
    // Quarters: many values fall exactly on an edge, where the bin is the one to its right.
    const data = Float64Array.from({ length: rows * cols }, () => Math.round((rnd() * 120 - 10) * 4) / 4);
    const out = new Int32Array(rows * cols);
    expect(core.binRows(data, rows, cols, featureColumn, flat, edgeStart, out)).toBe(0);
    for (let r = 0; r < rows; r++) {
      for (let f = 0; f < cols; f++) expect(out[r * cols + f]).toBe(binIndex(edges[f]!, data[r * cols + f]!));
    }
  });

  it('skips a feature whose column is past the row or past the end of data, and ±Infinity', () => {
    const out = new Int32Array(4);
    const skipped = core.binRows(Float64Array.from([Infinity, 5, 1]), 2, 2, Int32Array.from([0, 5]), Float64Array.from([2, 3]), Int32Array.from([0, 1, 2]), out);
    // row 0: Infinity (skipped), column 5 (past cols); row 1: 1 → bin 0, column 5 skipped
    expect(Array.from(out)).toEqual([-1, -1, 0, -1]);
    expect(skipped).toBe(3);
  });
});

describe.runIf(addon.impl === 'addon')('the addon against the fallback', () => {
  it('refuses arguments of the wrong kind with a TypeError instead of reading memory wrongly', () => {
    expect(() => addon.encodeData(new Float64Array(2), Kind.FP32)).toThrow(TypeError);
    expect(() => addon.encodeData([1, 2] as unknown as Float32Array, Kind.FP32)).toThrow(TypeError);
    expect(() => addon.encodeData(new Float32Array(2), 99 as Kind)).toThrow(TypeError);
    const out = new Int32Array(1);
    expect(() => addon.binRows(new Float32Array(1), 1, 1, Int32Array.from([0]), new Float64Array(0), Int32Array.from([0, 5]), out)).toThrow(TypeError);
    expect(() => addon.binRows(new Float32Array(4), 4, 1, Int32Array.from([0]), new Float64Array(0), Int32Array.from([0, 0]), out)).toThrow(TypeError);
  });

  it('agrees across the fixed/scientific boundaries (1e-7, 1e-3, 2^24, 1e21), where the addon takes its short cut', () => {
    const rnd = mulberry32(24);
    const logUniform = (n: number, lo: number, hi: number): number[] => Array.from({ length: n }, () => (rnd() < 0.5 ? -1 : 1) * lo * (hi / lo) ** rnd());
    const values = [
      ...logUniform(20_000, 1e-9, 1e9),
      ...logUniform(5_000, 5e-4, 2e-3),
      ...logUniform(5_000, 5e-8, 2e-6),
      ...Array.from({ length: 4_000 }, (_, i) => 2 ** 24 - 2_000 + i),
      ...Array.from({ length: 60 }, (_, i) => 10 ** (i - 30)),
      ...Array.from({ length: 100 }, (_, i) => 2 ** (i - 50)),
    ];
    const f32 = Float32Array.from(values);
    expect(addon.encodeData(f32, Kind.FP32)).toBe(encodeDataTs(f32, Kind.FP32));
    const f64 = Float64Array.from([...values, ...logUniform(5_000, 1e19, 1e23)]);
    expect(addon.encodeData(f64, Kind.FP64)).toBe(Array.from(f64, (v) => String(v)).join(','));
  });

  it('agrees on integral floats, which the addon prints by its digit loop below 2^24 (FP32) and 2^53 (FP64)', () => {
    const around = (x: number): number[] => Array.from({ length: 2_001 }, (_, i) => x - 1_000 + i);
    const tens = Array.from({ length: 22 }, (_, i) => 10 ** i);
    const values = [...around(0), ...around(2 ** 24), ...tens, ...tens.map((t) => t * 7), ...tens.map((t) => t - 1)];
    const signed = [...values, ...values.map((v) => -v)];
    const f32 = Float32Array.from(signed);
    expect(addon.encodeData(f32, Kind.FP32)).toBe(encodeDataTs(f32, Kind.FP32));
    const exact = f32.filter((v) => Math.abs(v) < 2 ** 24);
    expect(encodeDataTs(exact, Kind.FP32)).toBe(Array.from(exact, (v) => String(v)).join(','));
    const f64 = Float64Array.from([...signed, ...around(2 ** 53), ...around(-(2 ** 53)), 2 ** 60, 1e21, 1e22]);
    expect(addon.encodeData(f64, Kind.FP64)).toBe(Array.from(f64, (v) => String(v)).join(','));
  });

  it('fuzz, bounded in time: random tensors of every datatype give the same bytes and bins', () => {
    const seed = Date.now() >>> 0; // in every message: a failure can be replayed with mulberry32(seed)
    const rnd = mulberry32(seed);
    const deadline = Date.now() + 3_000;
    let rounds = 0;
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
    while (Date.now() < deadline) {
      const n = Math.floor(rnd() * 300);
      const cases: [TensorData, Kind][] = [
        [randomFloat32(n, rnd), Kind.FP32],
        [randomFloat64(n, rnd), Kind.FP64],
        [new Int8Array(bytes(n).buffer), Kind.INT8],
        [bytes(n), Kind.UINT8],
        [new Int16Array(bytes(n * 2).buffer), Kind.INT16],
        [new Int32Array(bytes(n * 4).buffer), Kind.INT32],
        [new BigInt64Array(bytes(n * 8).buffer), Kind.INT64],
        [bytes(n).map((b) => b & 1), Kind.BOOL],
      ];
      for (const [d, k] of cases) expect(addon.encodeData(d, k), `seed ${seed}, kind ${k}`).toBe(encodeDataTs(d, k));
      const rows = 1 + Math.floor(rnd() * 8);
      const cols = 1 + Math.floor(rnd() * 6);
      const features = 1 + Math.floor(rnd() * 6);
      const featureColumn = Int32Array.from({ length: features }, () => Math.floor(rnd() * (cols + 2)));
      const counts = Array.from({ length: features }, () => Math.floor(rnd() * 5));
      const edgeStart = Int32Array.from([0, ...counts.map((_, i) => counts.slice(0, i + 1).reduce((a, b) => a + b, 0))]);
      const edges = Float64Array.from(counts.flatMap((c) => Array.from({ length: c }, (_, j) => j - 1 + rnd() * 0.5)));
      const data = Float64Array.from({ length: rows * cols - Math.floor(rnd() * 2) }, () => (rnd() < 0.1 ? NaN : rnd() * 6 - 2));
      const a = new Int32Array(rows * features);
      const b = new Int32Array(rows * features);
      expect(addon.binRows(data, rows, cols, featureColumn, edges, edgeStart, a), `seed ${seed}`).toBe(binRowsTs(data, rows, cols, featureColumn, edges, edgeStart, b));
      expect(a, `seed ${seed}`).toEqual(b);
      rounds++;
    }
    expect(rounds).toBeGreaterThan(10);
  });
});
