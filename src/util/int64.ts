// Reading INT64 tensor data as numbers without making a BigInt per element: a BigInt64Array
// element read allocates a heap BigInt, and answers' INT64 labels are read on every request (the
// shadow comparison, the late-label store, drift's label histogram).

/** Which 32-bit half of an int64 comes first in memory: the low one on a little-endian machine. */
const LOW_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;

/** The 32-bit words of `data` (a view, no copy), for int64At. */
export function int64Words(data: BigInt64Array): Int32Array {
  return new Int32Array(data.buffer, data.byteOffset, data.length * 2);
}

/**
 * Element i of the int64 data whose words are `words`, as a number. hi·2^32 is exact and adding
 * the low half rounds once, so the value equals Number(data[i]) (exact below 2^53 in magnitude).
 */
export function int64At(words: Int32Array, i: number): number {
  return words[2 * i + 1 - LOW_WORD]! * 4294967296 + (words[2 * i + LOW_WORD]! >>> 0);
}

/** out[i] = Number(data[i]) for i < out.length (≤ data.length), read through int64At. */
export function int64Values<T extends { length: number; [i: number]: number }>(data: BigInt64Array, out: T): T {
  const words = int64Words(data);
  for (let i = 0; i < out.length; i++) out[i] = int64At(words, i);
  return out;
}
