import { describe, expect, it } from 'vitest';
import { mergeInputs, shapeKey, splitOutputs, takeBatch, type Queued } from '../src/batching/index.js';
import { SluiceError } from '../src/errors.js';
import type { Tensor } from '../src/types.js';

function f32(name: string, rows: number, width: number, base: number): Tensor {
  const data = new Float32Array(rows * width);
  for (let i = 0; i < data.length; i++) data[i] = base + i + 0.25;
  return { name, datatype: 'FP32', shape: [rows, width], data };
}

function i64(name: string, rows: number, width: number, base: bigint): Tensor {
  const data = new BigInt64Array(rows * width);
  // Values beyond 2^53 prove that nothing goes through a JS number.
  for (let i = 0; i < data.length; i++) data[i] = (1n << 60n) + base + BigInt(i);
  return { name, datatype: 'INT64', shape: [rows, width], data };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SluiceError ? err.code : 'not a SluiceError';
  }
  return undefined;
}

describe('shapeKey', () => {
  it('names the trailing dims of every input, independent of input order', () => {
    expect(shapeKey([f32('pixels', 3, 64, 0)])).toBe('pixels:64');
    const img: Tensor = { name: 'img', datatype: 'UINT8', shape: [2, 3, 4, 5], data: new Uint8Array(120) };
    expect(shapeKey([img])).toBe('img:3x4x5');
    const vec: Tensor = { name: 'ids', datatype: 'INT32', shape: [7], data: new Int32Array(7) };
    expect(shapeKey([vec])).toBe('ids:');
    const a = f32('a', 1, 4, 0);
    const b = i64('b', 1, 10, 0n);
    expect(shapeKey([a, b])).toBe('a:4;b:10');
    expect(shapeKey([b, a])).toBe('a:4;b:10');
  });

  it('ignores the batch dim and tells different trailing dims apart', () => {
    expect(shapeKey([f32('x', 1, 8, 0)])).toBe(shapeKey([f32('x', 5, 8, 0)]));
    expect(shapeKey([f32('x', 1, 8, 0)])).not.toBe(shapeKey([f32('x', 1, 9, 0)]));
    const x34: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 3, 4], data: new Float32Array(12) };
    const x43: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 4, 3], data: new Float32Array(12) };
    expect(shapeKey([x34])).not.toBe(shapeKey([x43]));
  });
});

describe('mergeInputs / splitOutputs', () => {
  // Three requests of 1, 3 and 2 rows; request 2 lists its inputs in the other order.
  const requests: Tensor[][] = [
    [f32('a', 1, 2, 100), i64('b', 1, 3, 100n)],
    [i64('b', 3, 3, 200n), f32('a', 3, 2, 200)],
    [f32('a', 2, 2, 300), i64('b', 2, 3, 300n)],
  ];
  const rowCounts = [1, 3, 2];
  const byName = (inputs: Tensor[], name: string): Tensor => inputs.find((t) => t.name === name)!;

  it('concatenates each input along dim 0, in inputOrder, for FP32 and INT64', () => {
    const merged = mergeInputs(requests, ['b', 'a']);
    expect(merged.map((t) => [t.name, t.datatype, t.shape])).toEqual([
      ['b', 'INT64', [6, 3]],
      ['a', 'FP32', [6, 2]],
    ]);
    expect(merged[0]!.data).toBeInstanceOf(BigInt64Array);
    expect(merged[1]!.data).toBeInstanceOf(Float32Array);
    const expectB = requests.flatMap((r) => Array.from(byName(r, 'b').data as BigInt64Array));
    const expectA = requests.flatMap((r) => Array.from(byName(r, 'a').data as Float32Array));
    expect(Array.from(merged[0]!.data as BigInt64Array)).toEqual(expectB);
    expect(Array.from(merged[1]!.data as Float32Array)).toEqual(expectA);
  });

  it('round-trips: splitting the merged batch gives every request its own rows back', () => {
    const merged = mergeInputs(requests, ['a', 'b']);
    const parts = splitOutputs(merged, rowCounts);
    expect(parts).toHaveLength(3);
    parts.forEach((outs, i) => {
      expect(outs.map((t) => t.name)).toEqual(['a', 'b']);
      for (const out of outs) {
        const orig = byName(requests[i]!, out.name);
        expect(out.shape).toEqual(orig.shape);
        expect(out.datatype).toBe(orig.datatype);
        expect(out.data.constructor).toBe(orig.data.constructor);
        expect(Array.from(out.data as ArrayLike<unknown>)).toEqual(Array.from(orig.data as ArrayLike<unknown>));
      }
    });
  });

  it('allocates one fresh, exactly-sized buffer per input, even from views and for one request', () => {
    const big = new ArrayBuffer(64);
    const view = new Float32Array(big, 8, 4); // a view into a larger body buffer
    view.set([1, 2, 3, 4]);
    const single: Tensor[][] = [[{ name: 'x', datatype: 'FP32', shape: [2, 2], data: view }]];
    for (const reqs of [single, requests]) {
      const names = reqs === single ? ['x'] : ['a', 'b'];
      for (const t of mergeInputs(reqs, names)) {
        expect(t.data.byteOffset).toBe(0);
        expect(t.data.buffer.byteLength).toBe(t.data.byteLength);
        for (const r of reqs) expect(t.data.buffer).not.toBe(r.find((i) => i.name === t.name)!.data.buffer);
      }
    }
    const [merged] = mergeInputs(single, ['x']);
    (merged!.data as Float32Array)[0] = 99;
    expect(view[0]).toBe(1); // a copy, not an alias
    expect(Array.from(merged!.data as Float32Array)).toEqual([99, 2, 3, 4]);
  });

  it('splits into views that share the batch buffer', () => {
    const out = f32('y', 6, 2, 0);
    const parts = splitOutputs([out], rowCounts);
    expect(parts.map((p) => p[0]!.shape)).toEqual([
      [1, 2],
      [3, 2],
      [2, 2],
    ]);
    expect(parts.map((p) => p[0]!.data.byteOffset)).toEqual([0, 8, 32]);
    for (const p of parts) expect(p[0]!.data.buffer).toBe(out.data.buffer);
    (out.data as Float32Array)[2] = -1;
    expect((parts[1]![0]!.data as Float32Array)[0]).toBe(-1);
  });

  it('refuses outputs whose dim 0 is not the batch rows', () => {
    expect(codeOf(() => splitOutputs([f32('y', 5, 2, 0)], rowCounts))).toBe('SLUICE_ERR_INFERENCE_FAILED');
    const scalar: Tensor = { name: 's', datatype: 'FP32', shape: [], data: new Float32Array(1) };
    expect(codeOf(() => splitOutputs([scalar], [1]))).toBe('SLUICE_ERR_INFERENCE_FAILED');
    const short: Tensor = { name: 'y', datatype: 'FP32', shape: [6, 2], data: new Float32Array(11) };
    expect(codeOf(() => splitOutputs([short], rowCounts))).toBe('SLUICE_ERR_INFERENCE_FAILED');
  });

  it('refuses to build a corrupt batch: missing input, other trailing dims, other datatype', () => {
    expect(codeOf(() => mergeInputs([[f32('a', 1, 2, 0)]], ['a', 'b']))).toBe('SLUICE_ERR_SERVER_INTERNAL');
    expect(codeOf(() => mergeInputs([[f32('a', 1, 2, 0)], [f32('a', 1, 3, 0)]], ['a']))).toBe('SLUICE_ERR_SERVER_INTERNAL');
    const asF64: Tensor = { name: 'a', datatype: 'FP64', shape: [1, 2], data: new Float64Array(2) };
    expect(codeOf(() => mergeInputs([[f32('a', 1, 2, 0)], [asF64]], ['a']))).toBe('SLUICE_ERR_SERVER_INTERNAL');
    expect(codeOf(() => mergeInputs([], ['a']))).toBe('SLUICE_ERR_SERVER_INTERNAL');
  });
});

describe('takeBatch', () => {
  interface Q extends Queued {
    id: number;
  }
  const q = (id: number, key: string, rows = 1, deadlineUs = Infinity): Q => ({ id, key, rows, deadlineUs });
  const opts = { maxBatchSize: 4, preferredBatchSizes: [] as number[], cutAtPreferred: true, nowUs: 100 };

  it('takes the first key FIFO and leaves other keys in place', () => {
    const lane = [q(1, 'a'), q(2, 'b'), q(3, 'a'), q(4, 'b'), q(5, 'a')];
    const formed = takeBatch(lane, opts);
    expect(formed.batch.map((e) => e.id)).toEqual([1, 3, 5]);
    expect(formed.rows).toBe(3);
    expect(lane.map((e) => e.id)).toEqual([2, 4]);
  });

  it('removes expired requests it meets and reports them apart', () => {
    const lane = [q(1, 'a', 1, 100), q(2, 'b', 1, 50), q(3, 'b'), q(4, 'a', 1, 99), q(5, 'b'), q(6, 'a', 1, 10)];
    const formed = takeBatch(lane, opts);
    // 1 is expired (key not fixed yet), 2 too; 3 fixes key b; 4 and 6 have key a: not met.
    expect(formed.expired.map((e) => e.id)).toEqual([1, 2]);
    expect(formed.batch.map((e) => e.id)).toEqual([3, 5]);
    expect(lane.map((e) => e.id)).toEqual([4, 6]);
  });

  it('returns an empty batch when only expired requests were met, still shrinking the lane', () => {
    const lane = [q(1, 'a', 1, 0), q(2, 'a', 1, 0)];
    const formed = takeBatch(lane, opts);
    expect(formed.batch).toEqual([]);
    expect(formed.expired.map((e) => e.id)).toEqual([1, 2]);
    expect(lane).toEqual([]);
  });

  it('cuts at a preferred size only on a request boundary and only when asked', () => {
    const mk = (): Q[] => [q(1, 'a', 1), q(2, 'a', 1), q(3, 'a', 1)];
    const cut = { ...opts, preferredBatchSizes: [2] };
    let lane = mk();
    expect(takeBatch(lane, cut).batch.map((e) => e.id)).toEqual([1, 2]);
    expect(lane.map((e) => e.id)).toEqual([3]);
    lane = mk();
    expect(takeBatch(lane, { ...cut, cutAtPreferred: false }).batch.map((e) => e.id)).toEqual([1, 2, 3]);
    lane = [q(1, 'a', 3)];
    expect(takeBatch(lane, cut).batch.map((e) => e.id)).toEqual([1]); // a lone request is never cut
  });
});
