// Small typed-array copies from shared blocks (src/util/copy-arena.ts): copies, never views on
// their source, never overlapping one another, aligned for every element type.
import { describe, expect, it } from 'vitest';

import { BLOCK_BYTES, copyHead, copyRange, isSharedCopy } from '../src/util/copy-arena.js';

describe('copyHead', () => {
  it('copies: later writes to the source do not show, and the copy is no view on it', () => {
    const src = new Float32Array(100).map((_, i) => i);
    const small = copyHead(src.subarray(10), 64);
    const big = copyHead(src, 100);
    src.fill(-1);
    expect(Array.from(small)).toEqual(Array.from({ length: 64 }, (_, i) => i + 10));
    expect(Array.from(big)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(small.buffer).not.toBe(src.buffer);
    const b = copyHead(new BigInt64Array([1n, -2n, 3n]), 2);
    expect(b).toBeInstanceOf(BigInt64Array);
    expect(Array.from(b)).toEqual([1n, -2n]);
    expect(b.byteOffset % 8).toBe(0);
  });

  it('never lets two copies overlap', () => {
    const copies = Array.from({ length: 500 }, (_, i) => copyHead(new Uint8Array(1 + (i % 37)).fill(i % 251), 1 + (i % 37)));
    copies.forEach((c, i) => expect(c.every((v) => v === i % 251)).toBe(true));
  });

  it('gives a copy too big to share a buffer of its own', () => {
    const big = copyHead(new Float64Array(BLOCK_BYTES / 8), BLOCK_BYTES / 8);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(BLOCK_BYTES);
  });

  it('copyRange copies any range; its small copies are shared-block copies, its big ones buffers of their own', () => {
    const src = new Int16Array(2000).map((_, i) => i);
    const mid = copyRange(src, 500, 510);
    expect(Array.from(mid)).toEqual(Array.from({ length: 10 }, (_, i) => 500 + i));
    expect(isSharedCopy(mid)).toBe(true);
    const big = copyRange(src, 0, 2000);
    expect(isSharedCopy(big)).toBe(false);
    expect(big.byteLength).toBe(big.buffer.byteLength);
    expect(isSharedCopy(new Int16Array(4))).toBe(false);
    // Every block counts, not only the current one.
    const copies = Array.from({ length: 100 }, () => copyRange(src, 0, 1000));
    expect(new Set(copies.map((c) => c.buffer)).size).toBeGreaterThan(1);
    expect(copies.every(isSharedCopy)).toBe(true);
  });
});
