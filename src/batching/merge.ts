// Pure merge and split of batch tensors. No state, no clock, no I/O: the batcher calls these,
// and tests drive them directly.

import { SluiceError } from '../errors.js';
import type { Tensor, TensorData } from '../types.js';

type TypedArrayCtor = new (length: number) => TensorData;

/**
 * Concatenates each input across `requests` along dim 0 and returns one tensor per name in
 * `inputOrder`, in that order.
 *
 * Contract: every request carries every name of `inputOrder` (in any order), and a given input
 * has the same datatype, typed-array class and trailing dims (shape[1..]) in every request;
 * validation upstream and shapeKey() grouping guarantee it. A breach is a programming error and
 * throws SluiceError SLUICE_ERR_SERVER_INTERNAL instead of building a corrupt batch.
 *
 * Ownership: allocates exactly ONE new typed array per input, exactly sized (byteOffset 0,
 * buffer.byteLength = data.byteLength), even for a single request, so that its `.buffer` can be
 * moved to a worker thread in a transferList. Cost: one copy of the input bytes per batch; a
 * request's data may be a view into a larger body buffer, which must never be transferred.
 * The request tensors are only read.
 */
export function mergeInputs(requests: Tensor[][], inputOrder: string[]): Tensor[] {
  if (requests.length === 0) throw internal('mergeInputs: no requests');
  const merged: Tensor[] = [];
  for (const name of inputOrder) {
    const parts: Tensor[] = [];
    for (const inputs of requests) {
      const t = findInput(inputs, name);
      if (t === undefined) throw internal(`mergeInputs: a request lacks input "${name}"`);
      parts.push(t);
    }
    merged.push(concatRows(name, parts));
  }
  return merged;
}

/**
 * Splits batch outputs back per request: output k must have shape[0] = sum(rowCounts); request i
 * gets rows [offset_i, offset_i + rowCounts[i]) of every output, in the outputs' order.
 *
 * Returned data are subarray VIEWS of the batch outputs (no copy): they share the batch's
 * buffer, so transferring or mutating one request's data affects its neighbours. Copy
 * (`data.slice()`) before handing a result's buffer to anything that takes ownership.
 *
 * An output whose dim 0 or data length does not fit the batch (a model that does not keep the
 * batch dimension) throws SluiceError SLUICE_ERR_INFERENCE_FAILED.
 */
export function splitOutputs(outputs: Tensor[], rowCounts: number[]): Tensor[][] {
  let totalRows = 0;
  for (const rows of rowCounts) totalRows += rows;
  const perRequest: Tensor[][] = rowCounts.map(() => []);
  for (const out of outputs) {
    const rowElems = trailingElems(out.shape);
    if (out.shape[0] !== totalRows || out.data.length !== totalRows * rowElems) {
      throw new SluiceError(
        'SLUICE_ERR_INFERENCE_FAILED',
        `output "${out.name}" has shape [${out.shape.join(',')}], expected ${totalRows} rows`,
      );
    }
    const trailing = out.shape.slice(1);
    let offsetRows = 0;
    for (let i = 0; i < rowCounts.length; i++) {
      const rows = rowCounts[i] as number;
      perRequest[i]!.push({
        name: out.name,
        datatype: out.datatype,
        shape: [rows, ...trailing],
        data: out.data.subarray(offsetRows * rowElems, (offsetRows + rows) * rowElems),
      });
      offsetRows += rows;
    }
  }
  return perRequest;
}

/**
 * Key of the trailing dims of every input, independent of input order: "pixels:64",
 * "a:3x4;b:10", "x:" for a rank-1 input. Only requests with equal keys may share a batch.
 * Unambiguous because all requests of one model version carry the same input names; only the
 * numeric dims vary.
 */
export function shapeKey(inputs: Tensor[]): string {
  if (inputs.length === 1) return inputKey(inputs[0]!);
  const sorted = inputs.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let key = '';
  for (let i = 0; i < sorted.length; i++) key += (i === 0 ? '' : ';') + inputKey(sorted[i]!);
  return key;
}

function inputKey(t: Tensor): string {
  let key = t.name + ':';
  for (let d = 1; d < t.shape.length; d++) key += (d === 1 ? '' : 'x') + String(t.shape[d]);
  return key;
}

function findInput(inputs: Tensor[], name: string): Tensor | undefined {
  for (const t of inputs) if (t.name === name) return t;
  return undefined;
}

function trailingElems(shape: number[]): number {
  let n = 1;
  for (let d = 1; d < shape.length; d++) n *= shape[d] as number;
  return n;
}

function concatRows(name: string, parts: Tensor[]): Tensor {
  const first = parts[0]!;
  const ctor = first.data.constructor as TypedArrayCtor;
  const rowElems = trailingElems(first.shape);
  let totalRows = 0;
  for (const p of parts) {
    const rows = p.shape[0] ?? 0;
    if (
      p.data.constructor !== ctor ||
      p.datatype !== first.datatype ||
      p.shape.length !== first.shape.length ||
      p.data.length !== rows * rowElems ||
      !sameTrailingDims(p.shape, first.shape)
    ) {
      throw internal(`mergeInputs: input "${name}" differs in datatype or trailing dims`);
    }
    totalRows += rows;
  }
  const data = new ctor(totalRows * rowElems);
  let offset = 0;
  for (const p of parts) {
    copyInto(data, p.data, offset);
    offset += p.data.length;
  }
  return { name, datatype: first.datatype, shape: [totalRows, ...first.shape.slice(1)], data };
}

function sameTrailingDims(a: number[], b: number[]): boolean {
  for (let d = 1; d < a.length; d++) if (a[d] !== b[d]) return false;
  return true;
}

/**
 * TypedArray.set across the TensorData union: TypeScript cannot type a call on the union, but
 * concatRows has checked that `dst` and `src` share a constructor, so the native set() is exact.
 */
function copyInto(dst: TensorData, src: TensorData, offset: number): void {
  (dst as Uint8Array).set(src as unknown as Uint8Array, offset);
}

function internal(message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_SERVER_INTERNAL', message);
}
