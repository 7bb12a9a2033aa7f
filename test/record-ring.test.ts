// The shared ring that hands prediction records to the log's writer thread
// (src/predlog/record-ring.ts): every field comes back as it went in, in order, across wrap-arounds,
// and a full ring refuses a record without touching what it holds.
import { describe, expect, it } from 'vitest';

import type { TensorCopy } from '../src/dataplane/prediction-event.js';
import type { PredictionRecord } from '../src/predlog/record.js';
import { recordBytes, ringBuffers, RingReader, RingWriter } from '../src/predlog/record-ring.js';
import { predictionRecord, REFUSED_BEFORE_ROUTING } from './helpers/prediction-record.js';
import { prng } from './helpers/third-party.js';

const record = (seq: number, over: Partial<PredictionRecord> = {}): PredictionRecord => predictionRecord({ seq, id: `req-${seq}`, ...over });

const tensor = (name: string, datatype: TensorCopy['datatype'], data: TensorCopy['data'], shape = [data.length], extra: Partial<TensorCopy> = {}): TensorCopy => ({
  name,
  datatype,
  shape,
  data,
  truncated: false,
  ...extra,
});

function drainAll(reader: RingReader): { r: PredictionRecord; timeMs: number }[] {
  const out: { r: PredictionRecord; timeMs: number }[] = [];
  reader.drain((r, timeMs) => out.push({ r, timeMs }));
  return out;
}

describe('record ring', () => {
  it('gives back every field of every datatype, nulls, absent fields and any UTF-16 text as pushed', () => {
    const b = ringBuffers(1 << 16);
    const writer = new RingWriter(b);
    const reader = new RingReader(b);
    const full = record(1, {
      id: 'quote " é 😀 lone \ud800',
      primary_id: 'p\n1',
      client_id: 'client \u0001',
      shadow: true,
      ...REFUSED_BEFORE_ROUTING,
      outputs: [
        tensor('p', 'FP32', Float32Array.from([0.1, -0, Number.NaN, Number.POSITIVE_INFINITY]), [2, 2], { truncated: true }),
        tensor('d', 'FP64', Float64Array.from([1e-300, -1.5])),
        tensor('l', 'INT64', BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n])),
        tensor('i', 'INT32', Int32Array.from([-7, 2 ** 31 - 1])),
        tensor('s', 'INT16', Int16Array.from([-32768])),
        tensor('b', 'INT8', Int8Array.from([-128, 127])),
        tensor('u', 'UINT8', Uint8Array.from([0, 255])),
        tensor('t', 'BOOL', Uint8Array.from([1, 0])),
        tensor('e', 'FP32', new Float32Array(0), [0, 3]),
      ],
      inputs: [tensor('x', 'FP32', Float32Array.from([1, 0, 3, 0]), [2, 2], { nullColumns: [1] })],
    });
    const bare = record(2);
    expect(writer.push(full, 1_700_000_000_123)).toBe(true);
    expect(writer.push(bare, 1_700_000_000_124)).toBe(true);
    const got = drainAll(reader);
    expect(got.map((g) => g.timeMs)).toEqual([1_700_000_000_123, 1_700_000_000_124]);
    expect(got[0]!.r).toEqual(full);
    expect(Object.is((got[0]!.r.outputs[0]!.data as Float32Array)[1], -0)).toBe(true);
    expect(got[0]!.r.outputs.map((t) => t.data.constructor)).toEqual(full.outputs.map((t) => t.data.constructor));
    expect(got[1]!.r).toEqual(bare);
    expect(got[1]!.r.inputs).toBeUndefined();
    expect(reader.held()).toBe(0);
  });

  it('keeps order across many wrap-arounds with records of random sizes, and refuses what does not fit', () => {
    const b = ringBuffers(1 << 16);
    const writer = new RingWriter(b);
    const reader = new RingReader(b);
    const rnd = prng(7);
    let next = 0;
    let expected = 0;
    let refused = 0;
    for (let round = 0; round < 400; round++) {
      const pushes = 1 + Math.floor(rnd() * 12);
      for (let k = 0; k < pushes; k++) {
        const n = Math.floor(rnd() * 900);
        const r = record(next, { outputs: [tensor('y', 'FP32', Float32Array.from({ length: n }, (_, i) => next + i))] });
        if (writer.push(r, next)) next++;
        else refused++;
      }
      // The reader keeps up only now and then, so the writer meets a full ring and the wrap.
      if (rnd() < 0.5) {
        for (const { r, timeMs } of drainAll(reader)) {
          expect(r.seq).toBe(expected);
          expect(timeMs).toBe(expected);
          const d = r.outputs[0]!.data as Float32Array;
          if (d.length > 0) expect([d[0], d[d.length - 1]]).toEqual([expected, expected + d.length - 1]);
          expected++;
        }
      }
    }
    for (const { r } of drainAll(reader)) expect(r.seq).toBe(expected++);
    expect(expected).toBe(next);
    expect(refused).toBeGreaterThan(0);
    expect(next).toBeGreaterThan(1000);
  });

  it('keeps one slot free at both boundaries, so a full ring never reads as empty', () => {
    const b = ringBuffers(1 << 16);
    const writer = new RingWriter(b);
    const reader = new RingReader(b);
    const base = recordBytes(record(0, { outputs: [tensor('y', 'FP32', new Float32Array(0))] }));
    const sized = (seq: number, bytes: number): PredictionRecord => record(seq, { outputs: [tensor('y', 'FP32', new Float32Array((bytes - base) / 4))] });
    expect(recordBytes(sized(0, 4096))).toBe(4096);
    let seq = 0;
    const pushes = (bytes: number, n: number): boolean[] => Array.from({ length: n }, () => writer.push(sized(seq, bytes), seq++));
    const seqs = (): number[] => drainAll(reader).map((g) => g.r.seq);
    // Reader at 0: 15 of 4 KiB fit; a 16th would end exactly at the end, making write == read.
    expect(pushes(4096, 16)).toEqual([...Array(15).fill(true), false]);
    expect(seqs()).toEqual(Array.from({ length: 15 }, (_, i) => i));
    // Reader at 61440: one fills the end exactly, the writer goes on at 0; then reader 0, writer 0.
    expect(pushes(4096, 1)).toEqual([true]);
    expect(seqs()).toEqual([16]);
    // Reader at 8192 (two drained), writer after 13 more at 61440.
    expect(pushes(4096, 2)).toEqual([true, true]);
    expect(seqs()).toEqual([17, 18]);
    expect(pushes(4096, 13)).toEqual(Array(13).fill(true));
    // 8 KiB fits neither at the end nor before the reader: refused (wrapping would make write == read).
    expect(pushes(8192, 1)).toEqual([false]);
    // 4 KiB fills the end; then before the reader one fits and the next would reach it.
    expect(pushes(4096, 3)).toEqual([true, true, false]);
    expect(seqs()).toEqual([...Array.from({ length: 13 }, (_, i) => 19 + i), 33, 34]);
    expect(reader.held()).toBe(0);
  });

  it('refuses a record bigger than the ring, and sizes records as recordBytes says', () => {
    const b = ringBuffers(1 << 16);
    const writer = new RingWriter(b);
    const huge = record(0, { outputs: [tensor('y', 'FP64', new Float64Array(9000))] });
    expect(recordBytes(huge)).toBeGreaterThan(1 << 16);
    expect(writer.push(huge, 0)).toBe(false);
    expect(writer.held()).toBe(0);
    const small = record(1);
    expect(writer.push(small, 0)).toBe(true);
    expect(writer.held()).toBe(recordBytes(small));
  });
});
