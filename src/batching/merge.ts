// Pure merge and split of batch tensors along each tensor's own batch dim (TensorLayout), and the
// key that says which requests may share a batch. No clock, no I/O: the batcher calls these, and
// tests drive them directly. The one state is shapeKey's counter for keys no other request has.
//
// Layouts: batchDim 0 is plain concatenation; d > 0 interleaves (a recurrent state [2, N, 128]
// batched on dim 1); null is a tensor without a batch dim, shared by every request of a batch (an
// input such as a rank-0 sample rate) or, in a model that does not batch, passed through whole.

import { SluiceError } from '../errors.js';
import type { Tensor, TensorData } from '../types.js';
import type { TensorLayout } from './api.js';

type TypedArrayCtor = new (length: number) => TensorData;

/**
 * Largest unbatched input (bytes) whose data goes into shapeKey(), so that requests with equal
 * values (sr = 16000) share a batch. A larger one would cost a hex string of twice its size on
 * every submit; instead its request gets a key no other request has and runs in a batch of its
 * own: correct (it is never merged with different data), but unbatched.
 */
export const UNBATCHED_KEY_MAX_BYTES = 256;

/**
 * Merges `requests` into one tensor per entry of `inputs` (the layout), in that order.
 * - batchDim d: concatenation along dim d. Result dim d = the sum of the parts' dim d; for d > 0
 *   the parts interleave: for each index of the dims before d, each request's block in turn.
 * - batchDim null: every request carries the same shape and byte-identical data; the result is
 *   one copy of it.
 *
 * Contract: every request carries every layout name (in any order); a batched input has the same
 * datatype, typed-array class, rank and every dim except d in every request, and rank > d; an
 * unbatched one is equal in all requests. Upstream validation and shapeKey() grouping guarantee
 * it. A breach is a programming error and throws SluiceError SLUICE_ERR_SERVER_INTERNAL instead
 * of building a wrong batch.
 *
 * Ownership: allocates exactly ONE new typed array per input, exactly sized (byteOffset 0,
 * buffer.byteLength = data.byteLength), even for a single request or an unbatched input, so that
 * its `.buffer` can be moved to a worker thread in a transferList. Cost: one copy of the input
 * bytes per batch; a request's data may be a view into a larger body buffer, which must never be
 * transferred. The request tensors are only read.
 */
export function mergeInputs(requests: Tensor[][], inputs: readonly TensorLayout[]): Tensor[] {
  if (requests.length === 0) throw internal('mergeInputs: no requests');
  const merged: Tensor[] = [];
  for (const { name, batchDim } of inputs) {
    const parts: Tensor[] = [];
    for (const reqInputs of requests) {
      const t = findTensor(reqInputs, name);
      if (t === undefined) throw internal(`mergeInputs: a request lacks input "${name}"`);
      parts.push(t);
    }
    merged.push(batchDim === null ? mergeShared(name, parts) : concatAlong(name, parts, batchDim));
  }
  return merged;
}

/**
 * Splits batch outputs back per request, in the outputs' order; request i gets rowCounts[i] rows
 * at offset sum(rowCounts[0..i)) along each output's batch dim, found in `layout` by name.
 * - batchDim 0: subarray VIEWS of the batch outputs (no copy). They share the batch's buffer, so
 *   transferring or mutating one request's data affects its neighbours: copy (`data.slice()`)
 *   before handing a result's buffer to anything that takes ownership.
 * - batchDim d > 0: a fresh, exactly-sized copy per request (its rows are not contiguous).
 * - batchDim null: only for a batch of one request (a model that does not batch), which gets the
 *   output as it is, sharing its buffer; with more requests SLUICE_ERR_SERVER_INTERNAL.
 *
 * An output the layout does not name: SLUICE_ERR_SERVER_INTERNAL. An output whose batch dim or
 * data length does not fit the batch (a model that does not keep the batch dim): SluiceError
 * SLUICE_ERR_INFERENCE_FAILED naming the output.
 */
export function splitOutputs(outputs: Tensor[], rowCounts: number[], layout: readonly TensorLayout[]): Tensor[][] {
  let totalRows = 0;
  for (const rows of rowCounts) totalRows += rows;
  const perRequest: Tensor[][] = rowCounts.map(() => []);
  for (const out of outputs) {
    const d = batchDimOf(layout, out.name);
    if (d === undefined) throw internal(`splitOutputs: output "${out.name}" is not in the batch layout`);
    if (d === null) {
      if (rowCounts.length !== 1) {
        throw internal(`splitOutputs: output "${out.name}" has no batch dim, but the batch has ${rowCounts.length} requests`);
      }
      perRequest[0]!.push(out);
      continue;
    }
    const outer = dimProduct(out.shape, 0, d);
    const inner = dimProduct(out.shape, d + 1, out.shape.length);
    if (d >= out.shape.length || out.shape[d] !== totalRows || out.data.length !== outer * totalRows * inner) {
      throw new SluiceError(
        'SLUICE_ERR_INFERENCE_FAILED',
        `output "${out.name}" has shape [${out.shape.join(',')}], expected ${totalRows} rows in dim ${d}`,
      );
    }
    let offsetRows = 0;
    for (let i = 0; i < rowCounts.length; i++) {
      const rows = rowCounts[i] as number;
      const shape = out.shape.slice();
      shape[d] = rows;
      const data =
        d === 0
          ? out.data.subarray(offsetRows * inner, (offsetRows + rows) * inner)
          : gather(out.data, outer, totalRows * inner, offsetRows * inner, rows * inner);
      perRequest[i]!.push({ name: out.name, datatype: out.datatype, shape, data });
      offsetRows += rows;
    }
  }
  return perRequest;
}

/**
 * Key of one request's inputs: only requests with equal keys may share a batch. Per layout input,
 * in layout order (so the request's own order does not matter): "name:" and every dim except the
 * batch dim ("pixels:64", "a:3x4;b:10", "x:" for a rank-1 input); for an unbatched input "name="
 * its full shape and ":" its data bytes in hex ("sr=:803e0000"), or, over UNBATCHED_KEY_MAX_BYTES,
 * "!" and a counter no other key has. Unambiguous because every request of one model version has
 * the same layout; only dims and unbatched data vary.
 *
 * Hot: computed on every submit. One input with batch dim 0 (the common case) costs what the
 * dims-only key did. A request lacking a layout input throws SLUICE_ERR_SERVER_INTERNAL.
 */
export function shapeKey(inputs: Tensor[], layout: readonly TensorLayout[]): string {
  if (layout.length === 1 && inputs.length === 1) {
    const t = inputs[0]!;
    const l = layout[0]!;
    if (t.name === l.name && l.batchDim === 0) return batchedKey(t, 0);
  }
  let key = '';
  for (let i = 0; i < layout.length; i++) {
    const { name, batchDim } = layout[i]!;
    const t = findTensor(inputs, name);
    if (t === undefined) throw internal(`shapeKey: the request lacks input "${name}"`);
    key += (i === 0 ? '' : ';') + (batchDim === null ? sharedKey(t) : batchedKey(t, batchDim));
  }
  return key;
}

/** Counter behind keys that no other request has (see UNBATCHED_KEY_MAX_BYTES). */
let uniqueKeySeq = 0;

function batchedKey(t: Tensor, batchDim: number): string {
  let key = t.name + ':';
  let first = true;
  for (let d = 0; d < t.shape.length; d++) {
    if (d === batchDim) continue;
    key += (first ? '' : 'x') + String(t.shape[d]);
    first = false;
  }
  return key;
}

function sharedKey(t: Tensor): string {
  const key = t.name + '=' + t.shape.join('x');
  if (t.data.byteLength > UNBATCHED_KEY_MAX_BYTES) return key + '!' + String(++uniqueKeySeq);
  return key + ':' + Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex');
}

function findTensor(tensors: Tensor[], name: string): Tensor | undefined {
  for (const t of tensors) if (t.name === name) return t;
  return undefined;
}

function batchDimOf(layout: readonly TensorLayout[], name: string): number | null | undefined {
  for (const l of layout) if (l.name === name) return l.batchDim;
  return undefined;
}

/** Product of shape[from..to). */
function dimProduct(shape: number[], from: number, to: number): number {
  let n = 1;
  for (let d = from; d < to; d++) n *= shape[d] as number;
  return n;
}

function concatAlong(name: string, parts: Tensor[], d: number): Tensor {
  const first = parts[0]!;
  const ctor = first.data.constructor as TypedArrayCtor;
  const rank = first.shape.length;
  const outer = dimProduct(first.shape, 0, d);
  const inner = dimProduct(first.shape, d + 1, rank);
  let total = 0;
  for (const p of parts) {
    const rows = p.shape[d] ?? 0;
    if (
      d >= rank ||
      p.data.constructor !== ctor ||
      p.datatype !== first.datatype ||
      p.shape.length !== rank ||
      p.data.length !== outer * rows * inner ||
      !sameDimsExcept(p.shape, first.shape, d)
    ) {
      throw internal(`mergeInputs: input "${name}" differs in datatype or in dims other than batch dim ${d}`);
    }
    total += rows;
  }
  const data = new ctor(outer * total * inner);
  if (outer === 1) {
    // Batch dim 0 (or only 1s before it): the parts are contiguous, one set() each.
    let offset = 0;
    for (const p of parts) {
      copyInto(data, p.data, offset);
      offset += p.data.length;
    }
  } else {
    let offset = 0;
    for (let o = 0; o < outer; o++) {
      for (const p of parts) {
        const block = (p.shape[d] as number) * inner;
        copyRange(data, offset, p.data, o * block, block);
        offset += block;
      }
    }
  }
  const shape = first.shape.slice();
  shape[d] = total;
  return { name, datatype: first.datatype, shape, data };
}

/** The one value of an unbatched input, checked equal in every request, copied once. */
function mergeShared(name: string, parts: Tensor[]): Tensor {
  const first = parts[0]!;
  const ctor = first.data.constructor as TypedArrayCtor;
  if (first.data.length !== dimProduct(first.shape, 0, first.shape.length)) {
    throw internal(`mergeInputs: unbatched input "${name}" has data that does not fit its shape`);
  }
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i]!;
    if (
      p.data.constructor !== ctor ||
      p.datatype !== first.datatype ||
      p.shape.length !== first.shape.length ||
      !sameDimsExcept(p.shape, first.shape, -1) ||
      !sameBytes(p.data, first.data)
    ) {
      throw internal(`mergeInputs: unbatched input "${name}" differs between the requests of a batch`);
    }
  }
  const data = new ctor(first.data.length);
  copyInto(data, first.data, 0);
  return { name, datatype: first.datatype, shape: first.shape.slice(), data };
}

/** `outer` runs of `n` elements, taken every `stride` elements from `start`, into one new array. */
function gather(src: TensorData, outer: number, stride: number, start: number, n: number): TensorData {
  const dst = new (src.constructor as TypedArrayCtor)(outer * n);
  for (let o = 0; o < outer; o++) copyRange(dst, o * n, src, o * stride + start, n);
  return dst;
}

/** a and b (same rank) agree on every dim but `skip` (-1: on every dim). */
function sameDimsExcept(a: number[], b: number[], skip: number): boolean {
  for (let d = 0; d < a.length; d++) if (d !== skip && a[d] !== b[d]) return false;
  return true;
}

function sameBytes(a: TensorData, b: TensorData): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * TypedArray.set across the TensorData union: TypeScript cannot type a call on the union, but
 * every caller has checked that `dst` and `src` share a constructor, so the native set() is exact.
 */
function copyInto(dst: TensorData, src: TensorData, offset: number): void {
  (dst as Uint8Array).set(src as unknown as Uint8Array, offset);
}

/**
 * Copies src[srcStart, srcStart + n) to dst at dstStart (same constructor). A short run is copied
 * element by element: a subarray() + set() pair allocates a view, which costs more than the copy
 * when a batch dim is last and every block is a few elements. The element copy is exact for every
 * TensorData class, BigInt64Array included (the casts only quiet the union).
 */
function copyRange(dst: TensorData, dstStart: number, src: TensorData, srcStart: number, n: number): void {
  if (n >= 64) {
    copyInto(dst, src.subarray(srcStart, srcStart + n), dstStart);
    return;
  }
  const to = dst as Float64Array;
  const from = src as Float64Array;
  for (let k = 0; k < n; k++) to[dstStart + k] = from[srcStart + k]!;
}

function internal(message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_SERVER_INTERNAL', message);
}
