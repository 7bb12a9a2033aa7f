// The TypeScript twin of the native addon (native/README.md): the same functions, the same bytes
// and results, used when the addon is missing or --disable-native is set. test/native-contract.test.ts
// runs one contract suite against both.

import type { TensorData } from '../types.js';
import { Kind, type BinRows, type EncodeData, type LiftData } from './kinds.js';

const NON_FINITE_TEXT = /[IN]/;

/**
 * FP32 text: the shortest decimal that reads back (double, then float32 rounding) as `v`, and of
 * those the closest (ties to the even digit, as std::to_chars), printed as Number::toString prints
 * it. toExponential(p - 1) is the closest p-digit decimal; at a power of two the gap below is half
 * the gap above, so when the closest one misses, the next p-digit decimal up can still hit.
 * Round-tripping is monotonic in p; most float32s need 8 or 9 digits, so the search starts there.
 */
function float32Text(v: number): string {
  if (!Number.isFinite(v)) return 'null';
  if (v === 0) return '0';
  // An integer a float32 holds exactly: its digits are the shortest text (the addon's short cut too).
  if (Number.isInteger(v) && v < 16777216 && v > -16777216) return String(v);
  let p: number;
  let text: string | undefined;
  if ((text = hit(v, 8)) === undefined) {
    p = 9;
    text = hit(v, 9) as string; // 9 significant digits always round-trip a float32
  } else {
    p = 8;
    for (let q = 7; q >= 1; q--) {
      const t = hit(v, q);
      if (t === undefined) break;
      p = q;
      text = t;
    }
  }
  return String(Number(evenTie(v, p, text)));
}

/** The p-digit decimal that reads back as the float32 `v`, or undefined when none does. */
function hit(v: number, p: number): string | undefined {
  const closest = v.toExponential(p - 1);
  if (Math.fround(Number(closest)) === v) return closest;
  const [m, exp] = splitExp(v, closest, p);
  const away = `${v < 0 ? -(m + 1) : m + 1}e${exp}`; // the next p-digit decimal away from zero
  return Math.fround(Number(away)) === v ? away : undefined;
}

/** |mantissa| as a p-digit integer (exact) and the exponent of its last digit. */
function splitExp(v: number, exponential: string, p: number): [number, number] {
  const e = exponential.indexOf('e');
  return [Math.abs(Number(exponential.slice(0, e).replace('.', ''))), Number(exponential.slice(e + 1)) - (p - 1)];
}

/**
 * At a tie (v exactly halfway between two p-digit decimals) toExponential takes the one away from
 * zero, std::to_chars the even one. It is a tie iff v's exact value is the p+1-digit decimal ending
 * in 5. `Number(finer) === v` is not enough: at large magnitudes a float32's exact value has more
 * digits than a double ulp resolves (0x70fa9200 is 6.20382045000000024e29, one double from
 * 6.20382045e29, and is not a tie), so a candidate that passes is checked exactly.
 */
function evenTie(v: number, p: number, text: string): string {
  if (text !== v.toExponential(p - 1)) return text;
  const finer = v.toExponential(p);
  if (finer.charAt(finer.indexOf('e') - 1) !== '5' || Number(finer) !== v || !isExactly(v, ...splitExp(v, finer, p + 1))) return text;
  const [m, exp] = splitExp(v, text, p);
  if (m % 2 === 0) return text;
  const even = `${v < 0 ? -(m - 1) : m - 1}e${exp}`;
  return Math.fround(Number(even)) === v ? even : text;
}

const F64 = new Float64Array(1);
const F64_BITS = new BigUint64Array(F64.buffer);

/** Whether the finite, non-zero double |v| is exactly digits · 10^exp10 (as splitExp gives them). */
function isExactly(v: number, digits: number, exp10: number): boolean {
  F64[0] = Math.abs(v);
  const bits = F64_BITS[0]!;
  const biased = Number(bits >> 52n);
  const fraction = bits & 0xfffffffffffffn;
  // |v| = mantissa · 2^exp2 (subnormals have no implicit bit).
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const exp2 = (biased === 0 ? 1 : biased) - 1075;
  // mantissa · 2^exp2 = digits · 10^exp10, every negative power moved to the other side.
  const left = mantissa * 2n ** BigInt(Math.max(exp2, 0)) * 10n ** BigInt(Math.max(-exp10, 0));
  const right = BigInt(digits) * 10n ** BigInt(Math.max(exp10, 0)) * 2n ** BigInt(Math.max(-exp2, 0));
  return left === right;
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

export const binRowsTs: BinRows<ArrayLike<number>> = (data, rows, cols, featureColumn, edges, edgeStart, out) => {
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
      // util/bins.ts binIndex, inlined over this feature's slice of one Float64Array: a call per
      // value costs more than the search itself.
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

/**
 * The fallback lifts nothing: JSON.parse and the validator's fill loops decode every body (an
 * interpreted twin of the scanner would be slower than JSON.parse, the thing it replaces).
 */
export const liftDataTs: LiftData = () => undefined;
