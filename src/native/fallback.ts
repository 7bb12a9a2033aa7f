// The TypeScript twin of the native addon (native/README.md): the same functions, the same bytes
// and results, used when the addon is missing or --disable-native is set. test/native-contract.test.ts
// runs one contract suite against both.

import type { TensorData } from '../types.js';
import { Kind, type BinRows, type EncodeData } from './kinds.js';

const NON_FINITE_TEXT = /[IN]/;

/**
 * FP32 text: the shortest decimal that reads back (double, then float32 rounding) as `v`, and of
 * those the closest, printed as Number::toString prints it. toPrecision(p) is the closest p-digit
 * decimal; at a power of two the gap below is half the gap above, so when the closest one misses,
 * the next p-digit decimal up can still hit. Round-tripping is monotonic in p: binary search.
 */
function float32Text(v: number): string {
  if (!Number.isFinite(v)) return 'null';
  if (v === 0) return '0';
  let lo = 1;
  let hi = 9; // 9 significant digits always round-trip a float32
  let best = hit(v, 9) as string;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const s = hit(v, mid);
    if (s === undefined) lo = mid + 1;
    else {
      best = s;
      hi = mid;
    }
  }
  return String(Number(best));
}

/** The p-digit decimal that reads back as the float32 `v`, or undefined when none does. */
function hit(v: number, p: number): string | undefined {
  const closest = v.toExponential(p - 1);
  const e = closest.indexOf('e');
  const sign = v < 0 ? -1 : 1;
  const mantissa = Math.abs(Number(closest.slice(0, e).replace('.', ''))); // p digits, exact
  const exp = Number(closest.slice(e + 1)) - (p - 1);
  const near = (m: number) => `${sign * m}e${exp}`;
  if (Math.fround(Number(closest)) === v) {
    // A tie (v exactly halfway between two p-digit decimals): toExponential takes the one away
    // from zero, std::to_chars the even one. v is exact as p+1 digits ending in 5 iff it is a tie
    // (a float32 is a double, and any further digit would move it by far more than a double ulp).
    const finer = v.toExponential(p);
    const tie = finer.charAt(finer.indexOf('e') - 1) === '5' && Number(finer) === v;
    if (tie && mantissa % 2 === 1 && Math.fround(Number(near(mantissa - 1))) === v) return near(mantissa - 1);
    return closest;
  }
  const away = near(mantissa + 1); // the next p-digit decimal away from zero
  return Math.fround(Number(away)) === v ? away : undefined;
}

export const encodeDataTs: EncodeData = (data: TensorData, kind: Kind): string => {
  if (kind === Kind.BOOL) {
    let s = '';
    for (let i = 0; i < data.length; i++) s += `${i === 0 ? '' : ','}${data[i] ? 'true' : 'false'}`;
    return s;
  }
  if (kind === Kind.FP32) {
    let s = '';
    const d = data as Float32Array;
    for (let i = 0; i < d.length; i++) s += `${i === 0 ? '' : ','}${float32Text(d[i] as number)}`;
    return s;
  }
  // Integers, and FP64 (V8 prints the shortest round-trip double), -0 as "0": one native join.
  const text = (data as Float64Array).join(',');
  if (kind === Kind.FP64 && NON_FINITE_TEXT.test(text)) {
    return Array.from(data as Float64Array, (v) => (Number.isFinite(v) ? String(v) : 'null')).join(',');
  }
  return text;
};

export const binRowsTs: BinRows = (data, rows, cols, featureColumn, edges, edgeStart, out) => {
  let skipped = 0;
  const features = featureColumn.length;
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let f = 0; f < features; f++) {
      const idx = featureColumn[f] as number;
      const v = idx >= 0 && idx < cols ? (data[base + idx] ?? Number.NaN) : Number.NaN;
      const at = r * features + f;
      if (!(v - v === 0)) {
        out[at] = -1; // NaN, ±Infinity, past the end of data
        skipped++;
        continue;
      }
      const first = edgeStart[f] as number;
      let lo = first;
      let hi = edgeStart[f + 1] as number;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((edges[mid] as number) <= v) lo = mid + 1;
        else hi = mid;
      }
      out[at] = lo - first;
    }
  }
  return skipped;
};
