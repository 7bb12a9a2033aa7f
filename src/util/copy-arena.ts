// Small typed-array copies carved from shared blocks. `TypedArray.slice` gives every copy its
// own ArrayBuffer, and V8 allocates each one off the heap: about 1.8 µs for 64 floats on a
// 2-vCPU EPYC, 20 times the cost of a view on a block (bench `predlog`, where every answer copies
// its tensors for the prediction log). The price is that a copy kept alive keeps its block alive:
// at most BLOCK_BYTES per kept copy, and never anything but other copies.

import type { TensorData } from '../types.js';

/** Copies up to this many bytes share blocks; bigger ones get an ArrayBuffer of their own. */
export const SHARED_MAX_BYTES = 2048;
/** Size of one shared block: the most memory one kept copy can hold on to. */
export const BLOCK_BYTES = 16 * 1024;

let block = new ArrayBuffer(BLOCK_BYTES);
let used = 0;
/** Every block handed out: a typed array on one of them is a private copy (isSharedCopy). */
const blocks = new WeakSet<ArrayBufferLike>([block]);

type TypedArrayOf<T extends TensorData> = { new (buffer: ArrayBuffer, byteOffset: number, length: number): T };

/** The first `n` elements of `data` (n ≤ data.length), copied; never a view on `data`'s buffer. */
export function copyHead<T extends TensorData>(data: T, n: number): T {
  return copyRange(data, 0, n);
}

/** Elements [from, to) of `data` (0 ≤ from ≤ to ≤ data.length), copied; never a view on `data`'s buffer. */
export function copyRange<T extends TensorData>(data: T, from: number, to: number): T {
  const n = to - from;
  const bytes = n * data.BYTES_PER_ELEMENT;
  if (bytes > SHARED_MAX_BYTES) return data.slice(from, to) as T;
  // 8-byte alignment suits every element type, BigInt64 included.
  const at = (used + 7) & ~7;
  if (at + bytes > BLOCK_BYTES) {
    block = new ArrayBuffer(BLOCK_BYTES);
    blocks.add(block);
    used = 0;
    return copyRange(data, from, to);
  }
  used = at + bytes;
  const copy = new (data.constructor as TypedArrayOf<T>)(block, at, n);
  copy.set((from === 0 && to === data.length ? data : data.subarray(from, to)) as never);
  return copy;
}

/**
 * True when `a` is a copy made here: its ArrayBuffer holds only other copies, none overlapping it,
 * so writing it touches no one else's data. It must never be transferred: that would detach them.
 */
export function isSharedCopy(a: ArrayBufferView): boolean {
  return blocks.has(a.buffer);
}
