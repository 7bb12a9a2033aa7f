// Shared by the native decode tests: one body's outcome with the addon and with the fallback,
// and the random bodies of their fuzz passes.
import { parseJsonBody } from '../../src/codec/json-body.js';
import { SluiceError } from '../../src/errors.js';
import { selectNativeCore } from '../../src/native/core.js';
import type { DataType } from '../../src/types.js';
import { compileRequestValidator, type ModelSignature } from '../../src/validation/request-validator.js';

export const DATATYPES: DataType[] = ['BOOL', 'UINT8', 'INT8', 'INT16', 'INT32', 'INT64', 'FP32', 'FP64'];

export function signature(datatype: DataType, shape: number[]): ModelSignature {
  return {
    name: 'm',
    inputs: [{ name: 'x', datatype, shape }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
    maxBatchSize: 0,
  };
}

/** What a body decodes to: the request with data as typed-array name + exact element texts, or the error. */
export function outcome(body: Buffer, sig: ModelSignature): unknown {
  try {
    const req = compileRequestValidator(sig)(parseJsonBody(body));
    return {
      ...req,
      inputs: req.inputs.map((t) => ({
        ...t,
        data: `${t.data.constructor.name}:${Array.from(t.data as ArrayLike<number>, (v) => (Object.is(v, -0) ? '-0' : String(v))).join(',')}`,
      })),
    };
  } catch (err) {
    if (!(err instanceof SluiceError)) throw err;
    return { code: err.code, message: err.message, details: err.details };
  }
}

/** Both implementations' outcomes; and whether the addon lifted (data came back typed). */
export function both(body: Buffer, sig: ModelSignature): { addon: unknown; fallback: unknown; lifted: boolean } {
  selectNativeCore(false);
  let lifted = false;
  try {
    const tree = parseJsonBody(body) as { inputs?: { data?: unknown }[] };
    lifted = Array.isArray(tree.inputs) && tree.inputs.some((i) => ArrayBuffer.isView(i?.data));
  } catch {
    lifted = false;
  }
  const addon = outcome(body, sig);
  selectNativeCore(true);
  return { addon, fallback: outcome(body, sig), lifted };
}

export function chunk<T>(xs: T[], width: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += width) out.push(xs.slice(i, i + width));
  return out;
}

/** `[a,b,c,d,e,f]` → `[[a,b,c],[d,e,f]]`, keeping each element's text. */
export function rebuild(data: string, width: number): string {
  const parts = data.slice(1, -1).split(',');
  return `[${chunk(parts, width).map((row) => `[${row.join(',')}]`).join(',')}]`;
}

/** Mostly valid values for the datatype, now and then one at or past a limit, or of another type. */
export function element(dt: DataType, rnd: () => number): unknown {
  const r = rnd();
  if (r < 0.02) return null;
  if (r < 0.03) return 'x';
  if (dt === 'BOOL') return r < 0.05 ? 1 : rnd() < 0.5;
  const limits: Partial<Record<DataType, number>> = { UINT8: 255, INT8: 127, INT16: 32767, INT32: 2147483647, INT64: 2 ** 53 };
  const lim = limits[dt];
  if (lim === undefined) {
    if (r < 0.05) return dt === 'FP32' ? 3.5e38 : 1.7e308;
    const v = (rnd() - 0.5) * 10 ** Math.floor(rnd() * 12 - 6);
    return dt === 'FP32' ? Math.fround(v) : v;
  }
  if (r < 0.05) return lim + 1;
  if (r < 0.06) return 0.5;
  return Math.floor((rnd() - 0.5) * 2 * Math.min(lim, 1e6));
}

/**
 * A random input for a fuzz pass: its datatype, a shape of [1..flat] or [1..rows, 1..cols], and
 * data from element() (mostly valid, now and then a bad one), flat or, half the time for rank 2,
 * nested as the shape.
 */
export function randomInput(rnd: () => number, bounds: { flat: number; rows: number; cols: number }): { dt: DataType; shape: number[]; data: unknown[] } {
  const dt = DATATYPES[Math.floor(rnd() * DATATYPES.length)] as DataType;
  const shape = rnd() < 0.5 ? [1 + Math.floor(rnd() * bounds.flat)] : [1 + Math.floor(rnd() * bounds.rows), 1 + Math.floor(rnd() * bounds.cols)];
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: n }, () => element(dt, rnd));
  return { dt, shape, data: shape.length > 1 && rnd() < 0.5 ? chunk(values, shape[1] as number) : values };
}

/** A few random edits with the characters JSON cares about. */
export function mutate(text: string, rnd: () => number): string {
  const alphabet = '[]{},:"-+.eE0123456789 \\ntfu';
  let out = text;
  const edits = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rnd() * out.length);
    const c = alphabet[Math.floor(rnd() * alphabet.length)] as string;
    const op = rnd();
    out = op < 0.33 ? out.slice(0, at) + c + out.slice(at) : op < 0.66 ? out.slice(0, at) + out.slice(at + 1) : out.slice(0, at) + c + out.slice(at + 1);
  }
  return out;
}
