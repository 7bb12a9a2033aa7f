// The prediction log's line bytes (src/predlog/line-bytes.ts) against the definition it promises:
// exactly JSON.stringify of the line's fields in the published schema's order, tensor data as plain
// arrays with NaN, ±Infinity and redacted columns as null, every line valid under the published
// schema.
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';

import type { TensorCopy } from '../src/dataplane/prediction-event.js';
import { LineEncoder, lineBound } from '../src/predlog/line-bytes.js';
import { PREDICTION_RECORD_SCHEMA, type PredictionRecord } from '../src/predlog/record.js';
import type { DataType, TensorData } from '../src/types.js';
import { predictionRecord, REFUSED_BEFORE_ROUTING } from './helpers/prediction-record.js';

/** The line as its definition says: JSON.stringify of the fields in order. */
function expectedLine(r: PredictionRecord, time: string): string {
  const tensor = (t: TensorCopy): object => {
    const width = t.nullColumns !== undefined && t.shape.length === 2 ? t.shape[1]! : 0;
    const data = Array.from(t.data as ArrayLike<number | bigint>, (v, i) => {
      if (width > 0 && t.nullColumns!.includes(i % width)) return null;
      if (t.datatype === 'BOOL') return v !== 0;
      return typeof v === 'bigint' ? Number(v) : v; // the cases below keep BigInt64 values exact as numbers
    });
    return { name: t.name, datatype: t.datatype, shape: t.shape, data, truncated: t.truncated };
  };
  const fields: Record<string, unknown> = { ...r, level: 30, time, outputs: r.outputs.map(tensor), ...(r.inputs ? { inputs: r.inputs.map(tensor) } : {}) };
  // In the published schema's order, which is the line's.
  const line = Object.fromEntries(Object.keys(PREDICTION_RECORD_SCHEMA.properties).flatMap((k) => (fields[k] === undefined ? [] : [[k, fields[k]]])));
  return `${JSON.stringify(line)}\n`;
}

/** The line as the log writes it: in place at an offset of a buffer lineBound() sized, which it must not overrun. */
function encoded(r: PredictionRecord, time: string, encoder = new LineEncoder()): string {
  const at = 3;
  const bound = lineBound(r, time);
  const buf = Buffer.alloc(at + bound);
  const end = encoder.encodeInto(r, time, buf, at);
  expect(end - at).toBeLessThanOrEqual(bound);
  return buf.toString('utf8', at, end);
}

const record = predictionRecord;

const tensor = (datatype: DataType, data: TensorData, shape = [data.length], extra: Partial<TensorCopy> = {}): TensorCopy => ({ name: 'out', datatype, shape, data, truncated: false, ...extra });

const TIME = '2026-12-06T10:11:12.345Z';

describe('prediction log line bytes', () => {
  it('print every datatype as JSON.stringify prints the values', () => {
    const floats = new Float32Array([0.1, -0, 1e-45, 3.4028234663852886e38, 16, -7, 0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    const doubles = new Float64Array([0.1, 1e21, 123456789012345, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 5e-324, -1.7976931348623157e308]);
    const r = record({
      outputs: [
        tensor('FP32', floats, [2, 5]),
        tensor('FP64', doubles),
        tensor('INT64', new BigInt64Array([0n, -3n, 9007199254740991n])),
        tensor('INT32', new Int32Array([-2147483648, 2147483647, 0])),
        tensor('INT16', new Int16Array([-32768, 32767])),
        tensor('INT8', new Int8Array([-128, 127])),
        tensor('UINT8', new Uint8Array([0, 255])),
        tensor('BOOL', new Uint8Array([1, 0, 2])),
        tensor('FP32', new Float32Array(0), [0, 3]),
      ],
    });
    expect(encoded(r, TIME)).toBe(expectedLine(r, TIME));
  });

  it('null redacted columns of a 2-D input, of any datatype, and only there', () => {
    const r = record({
      inputs: [
        tensor('FP32', new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3], { nullColumns: [0, 2], name: 'features' }),
        tensor('BOOL', new Uint8Array([1, 1, 0, 0]), [2, 2], { nullColumns: [1], name: 'flags' }),
        tensor('FP32', new Float32Array([1, 2, 3]), [3], { nullColumns: [0], name: 'one-d' }),
      ],
    });
    const line = encoded(r, TIME);
    expect(line).toBe(expectedLine({ ...r, inputs: [r.inputs![0]!, r.inputs![1]!, { ...r.inputs![2]!, nullColumns: undefined }] }, TIME));
    expect(JSON.parse(line).inputs[0].data).toEqual([null, 2, null, null, 5, null]);
  });

  it('escape strings as JSON.stringify does, and null the missing fields', () => {
    const r = record({
      id: 'quote " back \\ tab \t é 😀 lone \ud800',
      model: 'm/../"x"',
      ...REFUSED_BEFORE_ROUTING,
      shadow: true,
      primary_id: 'p\n1',
      client_id: 'client \u0001',
      outputs: [tensor('FP32', new Float32Array([1]), [1], { name: 'naïve "name"', truncated: true })],
    });
    expect(encoded(r, TIME)).toBe(expectedLine(r, TIME));
  });

  it('agree with the definition on random records, one encoder reused, big tensors within the bound', () => {
    const encoder = new LineEncoder();
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true, formats: { 'date-time': true } });
    const valid = ajv.compile(PREDICTION_RECORD_SCHEMA);
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 300; i++) {
      const n = i === 299 ? 40_000 : Math.floor(rand() * 80);
      const floats = Float32Array.from({ length: n }, () => (rand() < 0.3 ? Math.round(rand() * 16) : (rand() - 0.5) * 10 ** Math.floor(rand() * 20 - 10)));
      const labels = BigInt64Array.from({ length: Math.max(1, n >> 3) }, () => BigInt(Math.floor((rand() - 0.5) * 2 ** 40)));
      const r = record({
        seq: i * 1_000_003,
        total_us: Math.floor(rand() * 2 ** 33),
        outputs: [tensor('FP32', floats, [1, n]), tensor('INT64', labels)],
        ...(rand() < 0.5 ? { inputs: [tensor('FP64', Float64Array.from(floats), [1, n], { name: 'x', truncated: rand() < 0.5 })] } : {}),
      });
      const line = encoded(r, TIME, encoder);
      expect(line).toBe(expectedLine(r, TIME));
      expect(valid(JSON.parse(line)), JSON.stringify(valid.errors)).toBe(true);
    }
  });
});
