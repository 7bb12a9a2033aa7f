import { describe, expect, it } from 'vitest';
import {
  mergeInputs,
  shapeKey,
  splitOutputs,
  takeBatch,
  UNBATCHED_KEY_MAX_BYTES,
  type Queued,
  type TensorLayout,
} from '../src/batching/index.js';
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

/** A layout batching every named tensor on dim 0 (the common case). */
function dim0(...names: string[]): TensorLayout[] {
  return names.map((name) => ({ name, batchDim: 0 }));
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
    expect(shapeKey([f32('pixels', 3, 64, 0)], dim0('pixels'))).toBe('pixels:64');
    const img: Tensor = { name: 'img', datatype: 'UINT8', shape: [2, 3, 4, 5], data: new Uint8Array(120) };
    expect(shapeKey([img], dim0('img'))).toBe('img:3x4x5');
    const vec: Tensor = { name: 'ids', datatype: 'INT32', shape: [7], data: new Int32Array(7) };
    expect(shapeKey([vec], dim0('ids'))).toBe('ids:');
    const a = f32('a', 1, 4, 0);
    const b = i64('b', 1, 10, 0n);
    expect(shapeKey([a, b], dim0('a', 'b'))).toBe('a:4;b:10');
    expect(shapeKey([b, a], dim0('a', 'b'))).toBe('a:4;b:10');
  });

  it('ignores the batch dim and tells different trailing dims apart', () => {
    expect(shapeKey([f32('x', 1, 8, 0)], dim0('x'))).toBe(shapeKey([f32('x', 5, 8, 0)], dim0('x')));
    expect(shapeKey([f32('x', 1, 8, 0)], dim0('x'))).not.toBe(shapeKey([f32('x', 1, 9, 0)], dim0('x')));
    const x34: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 3, 4], data: new Float32Array(12) };
    const x43: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 4, 3], data: new Float32Array(12) };
    expect(shapeKey([x34], dim0('x'))).not.toBe(shapeKey([x43], dim0('x')));
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

  it('concatenates each input along dim 0, in layout order, for FP32 and INT64', () => {
    const merged = mergeInputs(requests, dim0('b', 'a'));
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
    const merged = mergeInputs(requests, dim0('a', 'b'));
    const parts = splitOutputs(merged, rowCounts, dim0('a', 'b'));
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
      const names = reqs === single ? dim0('x') : dim0('a', 'b');
      for (const t of mergeInputs(reqs, names)) {
        expect(t.data.byteOffset).toBe(0);
        expect(t.data.buffer.byteLength).toBe(t.data.byteLength);
        for (const r of reqs) expect(t.data.buffer).not.toBe(r.find((i) => i.name === t.name)!.data.buffer);
      }
    }
    const [merged] = mergeInputs(single, dim0('x'));
    (merged!.data as Float32Array)[0] = 99;
    expect(view[0]).toBe(1); // a copy, not an alias
    expect(Array.from(merged!.data as Float32Array)).toEqual([99, 2, 3, 4]);
  });

  it('splits into views that share the batch buffer', () => {
    const out = f32('y', 6, 2, 0);
    const parts = splitOutputs([out], rowCounts, dim0('y'));
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
    expect(codeOf(() => splitOutputs([f32('y', 5, 2, 0)], rowCounts, dim0('y')))).toBe('SLUICE_ERR_INFERENCE_FAILED');
    const scalar: Tensor = { name: 's', datatype: 'FP32', shape: [], data: new Float32Array(1) };
    expect(codeOf(() => splitOutputs([scalar], [1], dim0('s')))).toBe('SLUICE_ERR_INFERENCE_FAILED');
    const short: Tensor = { name: 'y', datatype: 'FP32', shape: [6, 2], data: new Float32Array(11) };
    expect(codeOf(() => splitOutputs([short], rowCounts, dim0('y')))).toBe('SLUICE_ERR_INFERENCE_FAILED');
  });

  it('refuses to build a corrupt batch: missing input, other trailing dims, other datatype', () => {
    expect(codeOf(() => mergeInputs([[f32('a', 1, 2, 0)]], dim0('a', 'b')))).toBe('SLUICE_ERR_SERVER_INTERNAL');
    expect(codeOf(() => mergeInputs([[f32('a', 1, 2, 0)], [f32('a', 1, 3, 0)]], dim0('a')))).toBe('SLUICE_ERR_SERVER_INTERNAL');
    const asF64: Tensor = { name: 'a', datatype: 'FP64', shape: [1, 2], data: new Float64Array(2) };
    expect(codeOf(() => mergeInputs([[f32('a', 1, 2, 0)], [asF64]], dim0('a')))).toBe('SLUICE_ERR_SERVER_INTERNAL');
    expect(codeOf(() => mergeInputs([], dim0('a')))).toBe('SLUICE_ERR_SERVER_INTERNAL');
  });
});

/** Asserts the ownership contract: byteOffset 0, an exactly-sized buffer shared with none of `others`. */
function expectOwned(t: Tensor, others: Tensor[]): void {
  expect(t.data.byteOffset).toBe(0);
  expect(t.data.buffer.byteLength).toBe(t.data.byteLength);
  for (const o of others) expect(t.data.buffer).not.toBe(o.data.buffer);
}

/** Recurrent state "h" of shape [2, rows, width], batched on dim 1: value = id*1000 + layer*100 + row*10 + col. */
function state(id: number, rows: number, width = 4): Tensor {
  const data = new Float32Array(2 * rows * width);
  for (let l = 0; l < 2; l++) {
    for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) data[(l * rows + r) * width + c] = id * 1000 + l * 100 + r * 10 + c;
  }
  return { name: 'h', datatype: 'FP32', shape: [2, rows, width], data };
}

/** Rank-0 INT32 input "sr" (a sample rate), never batched. */
function sr(hz: number): Tensor {
  return { name: 'sr', datatype: 'INT32', shape: [], data: new Int32Array([hz]) };
}

const H1: TensorLayout[] = [{ name: 'h', batchDim: 1 }];

describe('batch dim 1 of a rank-3 state', () => {
  const requests = [[state(1, 1)], [state(2, 3)], [state(3, 2)]];
  const rowCounts = [1, 3, 2];

  it('merges [2,1,4] [2,3,4] [2,2,4] into [2,6,4], each layer interleaving the requests', () => {
    const [merged] = mergeInputs(requests, H1);
    expect(merged!.shape).toEqual([2, 6, 4]);
    const data = merged!.data as Float32Array;
    // Column 0 of each of the 6 rows, layer by layer: request 1's row, request 2's 3, request 3's 2.
    const col0 = (layer: number): number[] => Array.from({ length: 6 }, (_, r) => data[(layer * 6 + r) * 4]!);
    expect(col0(0)).toEqual([1000, 2000, 2010, 2020, 3000, 3010]);
    expect(col0(1)).toEqual([1100, 2100, 2110, 2120, 3100, 3110]);
    expect(Array.from(data.subarray(16, 24))).toEqual([3000, 3001, 3002, 3003, 3010, 3011, 3012, 3013]); // layer 0, rows 4-5
    expectOwned(merged!, requests.flat());
  });

  it('splits back into fresh, exactly-sized copies equal to the originals', () => {
    const merged = mergeInputs(requests, H1);
    const parts = splitOutputs(merged, rowCounts, H1);
    expect(parts).toHaveLength(3);
    parts.forEach((outs, i) => {
      expect(outs).toHaveLength(1);
      const [out] = outs;
      expect(out!.shape).toEqual(requests[i]![0]!.shape);
      expect(Array.from(out!.data as Float32Array)).toEqual(Array.from(requests[i]![0]!.data as Float32Array));
      expectOwned(out!, [merged[0]!, ...requests.flat()]);
    });
  });

  it('round-trips wide rows (the one-set()-per-block path) too', () => {
    const wide = [[state(1, 2, 128)], [state(2, 1, 128)]];
    const merged = mergeInputs(wide, H1);
    expect(merged[0]!.shape).toEqual([2, 3, 128]);
    // Layer 1, row 2 is request 2's row 0; column 127.
    expect((merged[0]!.data as Float32Array)[(1 * 3 + 2) * 128 + 127]).toBe(2000 + 100 + 127);
    const parts = splitOutputs(merged, [2, 1], H1);
    parts.forEach((outs, i) => {
      expect(Array.from(outs[0]!.data as Float32Array)).toEqual(Array.from(wide[i]![0]!.data as Float32Array));
    });
  });

  it('keys on every dim but the batch dim', () => {
    expect(shapeKey([state(1, 1)], H1)).toBe('h:2x4');
    expect(shapeKey([state(1, 3)], H1)).toBe(shapeKey([state(2, 1)], H1));
    expect(shapeKey([state(1, 1, 5)], H1)).not.toBe(shapeKey([state(1, 1)], H1));
  });

  it('refuses parts that differ in a dim other than the batch dim', () => {
    expect(codeOf(() => mergeInputs([[state(1, 1)], [state(2, 1, 5)]], H1))).toBe('SLUICE_ERR_SERVER_INTERNAL');
    const threeLayers: Tensor = { name: 'h', datatype: 'FP32', shape: [3, 1, 4], data: new Float32Array(12) };
    expect(codeOf(() => mergeInputs([[state(1, 1)], [threeLayers]], H1))).toBe('SLUICE_ERR_SERVER_INTERNAL');
    const rank2: Tensor = { name: 'h', datatype: 'FP32', shape: [2], data: new Float32Array(2) };
    expect(codeOf(() => mergeInputs([[rank2]], [{ name: 'h', batchDim: 2 }]))).toBe('SLUICE_ERR_SERVER_INTERNAL');
  });

  it('refuses an output whose batch dim is not the batch rows, naming it', () => {
    const wrong = state(9, 5);
    expect(() => splitOutputs([wrong], rowCounts, H1)).toThrowError(/output "h" has shape \[2,5,4\], expected 6 rows/);
    expect(codeOf(() => splitOutputs([wrong], rowCounts, H1))).toBe('SLUICE_ERR_INFERENCE_FAILED');
  });
});

describe('batch dim last (rank 2, dim 1)', () => {
  // INT64 [3, n]: three features, n rows in the last dim; values beyond 2^53.
  const col = (id: number, n: number): Tensor => {
    const data = new BigInt64Array(3 * n);
    for (let f = 0; f < 3; f++) for (let r = 0; r < n; r++) data[f * n + r] = (1n << 60n) + BigInt(id * 100 + f * 10 + r);
    return { name: 'v', datatype: 'INT64', shape: [3, n], data };
  };
  const last: TensorLayout[] = [{ name: 'v', batchDim: 1 }];

  it('merges [3,1] and [3,2] into [3,3] and splits them back exactly', () => {
    const requests = [[col(1, 1)], [col(2, 2)]];
    const merged = mergeInputs(requests, last);
    expect(merged[0]!.shape).toEqual([3, 3]);
    const big = 1n << 60n;
    // Feature by feature: request 1's row, then request 2's two rows.
    const values = Array.from(merged[0]!.data as BigInt64Array).map((v) => v - big);
    expect(values).toEqual([100n, 200n, 201n, 110n, 210n, 211n, 120n, 220n, 221n]);
    expectOwned(merged[0]!, requests.flat());
    const parts = splitOutputs(merged, [1, 2], last);
    parts.forEach((outs, i) => {
      expect(outs[0]!.shape).toEqual(requests[i]![0]!.shape);
      expect(Array.from(outs[0]!.data as BigInt64Array)).toEqual(Array.from(requests[i]![0]!.data as BigInt64Array));
      expectOwned(outs[0]!, [merged[0]!]);
    });
    expect(shapeKey([col(1, 1)], last)).toBe('v:3');
  });
});

describe('a rank-0 unbatched input shared by the requests', () => {
  const layout: TensorLayout[] = [
    { name: 'x', batchDim: 0 },
    { name: 'sr', batchDim: null },
  ];

  it('merges the batched input and the shared one once, each into a fresh buffer', () => {
    const requests = [
      [f32('x', 1, 2, 10), sr(16000)],
      [sr(16000), f32('x', 2, 2, 20)],
    ];
    const merged = mergeInputs(requests, layout);
    expect(merged.map((t) => [t.name, t.datatype, t.shape])).toEqual([
      ['x', 'FP32', [3, 2]],
      ['sr', 'INT32', []],
    ]);
    expect(Array.from(merged[0]!.data as Float32Array)).toEqual([10.25, 11.25, 20.25, 21.25, 22.25, 23.25]);
    expect(Array.from(merged[1]!.data as Int32Array)).toEqual([16000]);
    for (const t of merged) expectOwned(t, requests.flat());
  });

  it('keys on its value: equal rates share a key, different rates do not', () => {
    const key16k = shapeKey([f32('x', 1, 2, 0), sr(16000)], layout);
    expect(key16k).toBe('x:2;sr=:803e0000'); // 16000 = 0x3e80, little-endian
    expect(shapeKey([sr(16000), f32('x', 4, 2, 9)], layout)).toBe(key16k);
    expect(shapeKey([f32('x', 1, 2, 0), sr(8000)], layout)).not.toBe(key16k);
  });

  it('refuses to merge requests whose shared input differs', () => {
    const requests = [
      [f32('x', 1, 2, 0), sr(16000)],
      [f32('x', 1, 2, 0), sr(8000)],
    ];
    expect(codeOf(() => mergeInputs(requests, layout))).toBe('SLUICE_ERR_SERVER_INTERNAL');
    const vec: Tensor = { name: 'sr', datatype: 'INT32', shape: [1], data: new Int32Array([16000]) };
    expect(codeOf(() => mergeInputs([[f32('x', 1, 2, 0), sr(16000)], [f32('x', 1, 2, 0), vec]], layout))).toBe(
      'SLUICE_ERR_SERVER_INTERNAL',
    );
  });

  it(`gives a request whose shared input is over ${UNBATCHED_KEY_MAX_BYTES} bytes a key of its own`, () => {
    const table = (floats: number): Tensor => ({ name: 't', datatype: 'FP32', shape: [floats], data: new Float32Array(floats) });
    const shared: TensorLayout[] = [{ name: 't', batchDim: null }];
    const atLimit = UNBATCHED_KEY_MAX_BYTES / 4;
    expect(shapeKey([table(atLimit)], shared)).toBe(shapeKey([table(atLimit)], shared));
    const big = table(atLimit + 1);
    const keys = new Set([shapeKey([big], shared), shapeKey([big], shared), shapeKey([table(atLimit + 1)], shared)]);
    expect(keys.size).toBe(3);
    for (const k of keys) expect(k).not.toBe(shapeKey([table(atLimit)], shared));
  });

  it('refuses a request that lacks a layout input', () => {
    expect(codeOf(() => shapeKey([f32('x', 1, 2, 0)], layout))).toBe('SLUICE_ERR_SERVER_INTERNAL');
  });
});

describe('a model that does not batch (every batch dim null)', () => {
  const none: TensorLayout[] = [{ name: 'a', batchDim: null }];
  const out: TensorLayout[] = [{ name: 'y', batchDim: null }];

  it('merges one request into a copy it owns and gives it the whole output back', () => {
    const body = new ArrayBuffer(64);
    const view = new Float32Array(body, 8, 6);
    view.set([1, 2, 3, 4, 5, 6]);
    const a: Tensor = { name: 'a', datatype: 'FP32', shape: [2, 3], data: view };
    const [merged] = mergeInputs([[a]], none);
    expect(merged!.shape).toEqual([2, 3]);
    expect(Array.from(merged!.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expectOwned(merged!, [a]);
    const y: Tensor = { name: 'y', datatype: 'FP32', shape: [5], data: new Float32Array([9, 8, 7, 6, 5]) };
    const parts = splitOutputs([y], [1], out);
    expect(parts).toHaveLength(1);
    expect(parts[0]).toHaveLength(1);
    expect(parts[0]![0]).toBe(y);
  });

  it('refuses to split an output without a batch dim between two requests', () => {
    const y: Tensor = { name: 'y', datatype: 'FP32', shape: [5], data: new Float32Array(5) };
    expect(codeOf(() => splitOutputs([y], [1, 1], out))).toBe('SLUICE_ERR_SERVER_INTERNAL');
  });

  it('refuses an output the layout does not name', () => {
    const z: Tensor = { name: 'z', datatype: 'FP32', shape: [1], data: new Float32Array(1) };
    expect(codeOf(() => splitOutputs([z], [1], out))).toBe('SLUICE_ERR_SERVER_INTERNAL');
    expect(codeOf(() => splitOutputs([f32('y', 2, 2, 0)], [2], dim0('x')))).toBe('SLUICE_ERR_SERVER_INTERNAL');
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
