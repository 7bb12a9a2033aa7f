// Tensor data lifted out of a JSON request body by the native core (src/native/kinds.ts,
// LiftData), put back into the parsed tree.
//
// Contract: a body parsed with lifting gives the validator what JSON.parse would have, up to the
// representation of `data`: a lifted array comes back as the typed array of its datatype only
// when the validator's rules for a JSON array (tensor-data.ts) would have taken it as is — flat
// with exactly product(shape) elements, or nested exactly as the shape — and then decodeTypedData
// accepts it without copying. Otherwise the array's own text is parsed with JSON.parse and the
// validator sees, and refuses, the plain array. Results and errors are the same either way.
//
// A plain body (kinds.ts, LiftData: only id and inputs of name, shape, datatype and data, all
// ASCII) comes back fully described: the tree is built here from the addon's meta and slices of
// the body, with no JSON.parse and no pre-scan, in the body's own key order, so it is the tree
// JSON.parse would give with `data` as typed arrays.
//
// Perf: the addon writes into two scratch arrays owned here (no N-API object per request); each
// lifted tensor is then one copy out of the scratch, onto a shared block when small (tensorAt).
// Bodies under LIFT_MIN_BYTES are lifted only when plain: otherwise the second JSON.parse (of the
// skeleton) costs about what V8 spends on the few numbers (measured, parse + validate: 64 small
// integers in 229 bytes 1.3x slower lifted, 16 floats in 370 bytes even, 30 floats in 619 bytes
// 1.2x faster, 1,024 floats 3.2x faster).

import { nativeCore } from '../native/core.js';
import { DATATYPE_OF_KIND, type Kind } from '../native/kinds.js';
import type { DataType, TensorData } from '../types.js';
import { copyRange } from '../util/copy-arena.js';
import { LAYOUT, viewsOf } from '../util/dtype-layout.js';

export const LIFT_MIN_BYTES = 512;
/** Scratch kept between requests; a body needing more gets a one-off scratch. */
const KEEP_SCRATCH_BYTES = 8 << 20;

const meta = new Float64Array(4096);
let scratch = new Uint8Array(64 << 10);
let views = viewsOf(scratch.buffer);

/** A lifted body that is not plain: the skeleton to parse, then where each lifted tensor goes. */
export class Lifted {
  constructor(
    readonly skeleton: string,
    /**
     * The addon's scan saw the whole body (strict JSON, no deeper than maxDepth) and no key
     * escaped or named __proto__, constructor or prototype: its parse needs neither pre-scan nor walk.
     */
    readonly keysClean: boolean,
    readonly spans: LiftedSpan[],
  ) {}
}

interface LiftedSpan {
  input: number;
  /** Owns its buffer exactly, or is a shared-block copy (decodeTypedData takes either without a copy). */
  data: TensorData;
  /** Length per nesting level, outermost first. */
  dims: number[];
  /** The array's bytes in the body, for JSON.parse when the validator must see it as text. */
  start: number;
  end: number;
}

/**
 * The parsed tree of a plain body (ASCII, so no UTF-8 check is needed); a Lifted for the skeleton
 * path; undefined when the body is left to JSON.parse (then, as for a Lifted, the caller checks UTF-8).
 */
export function liftData(buf: Buffer, maxDepth: number): Record<string, unknown> | Lifted | undefined {
  const lift = nativeCore().liftData;
  const plainOnly = buf.length < LIFT_MIN_BYTES;
  let into = views;
  let out = lift(buf, maxDepth, scratch, meta, plainOnly);
  if (typeof out === 'number') {
    const bigger = new Uint8Array(out);
    into = viewsOf(bigger.buffer);
    if (out <= KEEP_SCRATCH_BYTES) {
      scratch = bigger;
      views = into;
    }
    out = lift(buf, maxDepth, bigger, meta, plainOnly);
  }
  if (out === true) return plainTree(buf, into);
  if (typeof out !== 'string') return undefined;
  const spans: LiftedSpan[] = [];
  for (let k = 0, at = 2; k < (meta[0] as number); k++) {
    const dt = DATATYPE_OF_KIND[meta[at + 1] as Kind];
    const rank = meta[at + 6] as number;
    const dims = new Array<number>(rank);
    for (let i = 0; i < rank; i++) dims[i] = meta[at + 7 + i] as number;
    spans.push({
      input: meta[at] as number,
      data: tensorAt(into, dt, at + 2),
      dims,
      start: meta[at + 4] as number,
      end: meta[at + 5] as number,
    });
    at += 7 + rank;
  }
  return new Lifted(out, meta[1] === 0, spans);
}

/**
 * The lifted tensor whose [first, count] are at meta[at], meta[at + 1]: a copy of the scratch's,
 * on a shared block when small (copy-arena.ts: no ArrayBuffer of its own to allocate and sweep).
 */
function tensorAt(into: Record<DataType, TensorData>, dt: DataType, at: number): TensorData {
  const from = ((meta[at] as number) * 8) / LAYOUT[dt].bytes;
  return copyRange(into[dt], from, from + (meta[at + 1] as number));
}

const INPUT_KEYS = ['name', 'shape', 'datatype', 'data'] as const;
/** The key order of `{name, shape, datatype, data}` (tritonclient) and `{name, datatype, shape, data}`. */
const ORDER_NSTD = 0b00_01_10_11;
const ORDER_NTSD = 0b00_10_01_11;

/** The tree of a plain body from meta (layout: kinds.ts, LiftData). */
function plainTree(buf: Buffer, into: Record<DataType, TensorData>): Record<string, unknown> {
  const n = meta[0] as number;
  const inputs = new Array<Record<string, unknown>>(n);
  for (let k = 0, at = 5; k < n; k++) {
    const datatype = DATATYPE_OF_KIND[meta[at] as Kind];
    const data = tensorAt(into, datatype, at + 1);
    const name = buf.toString('latin1', meta[at + 3] as number, meta[at + 4] as number);
    const order = meta[at + 5] as number;
    const rank = meta[at + 6] as number;
    const shape = new Array<number>(rank);
    for (let i = 0; i < rank; i++) shape[i] = meta[at + 7 + i] as number;
    at += 7 + rank;
    if (order === ORDER_NSTD) inputs[k] = { name, shape, datatype, data };
    else if (order === ORDER_NTSD) inputs[k] = { name, datatype, shape, data };
    else inputs[k] = inOrder(order, [name, shape, datatype, data]);
  }
  if ((meta[2] as number) < 0) return { inputs };
  const id = buf.toString('latin1', meta[2] as number, meta[3] as number);
  return meta[4] === 1 ? { id, inputs } : { inputs, id };
}

/** An input object with its four keys in `order` (base-4 digits, first key most significant). */
function inOrder(order: number, values: unknown[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let shift = 6; shift >= 0; shift -= 2) {
    const key = (order >> shift) & 3;
    o[INPUT_KEYS[key]!] = values[key];
  }
  return o;
}

/** Puts each lifted array back into `tree` (JSON.parse of the skeleton). */
export function restoreData(tree: Record<string, unknown>, lifted: Lifted, buf: Buffer): void {
  const inputs = tree.inputs as Record<string, unknown>[];
  for (const s of lifted.spans) {
    const input = inputs[s.input] as Record<string, unknown>;
    input.data = takesAsIs(s.dims, input.shape) ? s.data : (JSON.parse(buf.toString('latin1', s.start, s.end)) as unknown[]);
  }
}

/** Whether tensor-data.ts would take a JSON array of these dims for `shape` without an error. */
function takesAsIs(dims: readonly number[], shape: unknown): boolean {
  if (!Array.isArray(shape)) return false;
  if (dims.length === 1) {
    let n = 1;
    for (const d of shape) {
      if (!Number.isSafeInteger(d) || (d as number) < 0) return false;
      n *= d as number;
    }
    return n === dims[0];
  }
  if (shape.length !== dims.length) return false;
  for (let i = 0; i < dims.length; i++) if (shape[i] !== dims[i]) return false;
  return true;
}
