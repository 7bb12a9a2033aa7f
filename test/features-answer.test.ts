// The /v1 answer: {"predictions": [...], "model_version": "1"}, one object per instance keyed by
// output name, with `class` from model.json `classes`.
import { describe, expect, it } from 'vitest';
import { createResponseEncoder } from '../src/codec/json-response.js';
import { encodePredictions } from '../src/features/index.js';
import type { Tensor } from '../src/types.js';
import { bundled } from './features-helpers.js';

const probs = (rows: number[][]): Tensor => ({ name: 'probabilities', datatype: 'FP32', shape: [rows.length, rows[0]?.length ?? 0], data: Float32Array.from(rows.flat()) });
const labels = (v: bigint[]): Tensor => ({ name: 'label', datatype: 'INT64', shape: [v.length], data: BigInt64Array.from(v) });

describe('encodePredictions', () => {
  it('one prediction per row, keyed by output name, label a number, class from classes', () => {
    const { classes } = bundled('breast-cancer');
    const answer = encodePredictions([probs([[0.25, 0.75], [0.875, 0.125]]), labels([1n, 0n])], 1, { classes });
    expect(answer).toEqual({
      predictions: [
        { probabilities: [0.25, 0.75], label: 1, class: 'benign' },
        { probabilities: [0.875, 0.125], label: 0, class: 'malignant' },
      ],
      model_version: '1',
    });
    expect(JSON.stringify(answer)).toBe(
      '{"predictions":[{"probabilities":[0.25,0.75],"label":1,"class":"benign"},{"probabilities":[0.875,0.125],"label":0,"class":"malignant"}],"model_version":"1"}',
    );
  });

  it('FP32 values are the float32 numbers the OIP path prints; no class without classes; id echoed', () => {
    const answer = encodePredictions([probs([[0.1, 0.9]]), labels([1n])], '3', { id: 'req-9' });
    // Each float32 as its shortest text, as the OIP JSON path writes it: 0.1, not 0.10000000149011612.
    expect(answer).toEqual({ predictions: [{ probabilities: [0.1, 0.9], label: 1 }], model_version: '3', id: 'req-9' });
    const oip = createResponseEncoder('m', 3, [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }])('x', [probs([[0.1, 0.9]])]);
    expect(JSON.stringify(answer.predictions[0]?.probabilities)).toBe(/"data":(\[[^\]]*\])/.exec(oip)![1]);
    expect(encodePredictions([probs([[NaN, 0.5]])], 1).predictions[0]?.probabilities).toEqual([null, 0.5]);
  });

  it('digits: ten classes named "0".."9"; a label outside the list gets no class', () => {
    const { classes } = bundled('digits');
    expect(classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const p = Array.from({ length: 10 }, (_, i) => (i === 7 ? 0.5 : 0.05));
    const out = encodePredictions([probs([p, p]), labels([7n, 12n])], 1, { classes }).predictions;
    expect(out[0]).toMatchObject({ label: 7, class: '7' });
    expect(out[0]?.probabilities).toHaveLength(10);
    expect(out[1]).toEqual({ probabilities: out[0]?.probabilities, label: 12 });
  });

  it('ranks above 2 nest, BOOL is boolean, NaN is null, INT64 beyond 2^53 is a string', () => {
    const answer = encodePredictions(
      [
        { name: 'grid', datatype: 'INT32', shape: [2, 2, 2], data: new Int32Array([1, 2, 3, 4, 5, 6, 7, 8]) },
        { name: 'flag', datatype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
        { name: 'score', datatype: 'FP64', shape: [2, 1], data: new Float64Array([Number.NaN, 2.5]) },
        { name: 'big', datatype: 'INT64', shape: [2], data: new BigInt64Array([2n ** 60n, -5n]) },
      ],
      2,
    );
    expect(answer.predictions).toEqual([
      { grid: [[1, 2], [3, 4]], flag: true, score: [null], big: '1152921504606846976' },
      { grid: [[5, 6], [7, 8]], flag: false, score: [2.5], big: -5 },
    ]);
  });

  it('refuses outputs that disagree on rows or whose data do not fit the shape', () => {
    expect(() => encodePredictions([probs([[0.5, 0.5]]), labels([1n, 0n])], 1)).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_SERVER_INTERNAL' }));
    const short: Tensor = { name: 'label', datatype: 'INT64', shape: [3], data: new BigInt64Array(2) };
    expect(() => encodePredictions([short], 1)).toThrow(expect.objectContaining({ code: 'SLUICE_ERR_SERVER_INTERNAL' }));
    expect(encodePredictions([], 1)).toEqual({ predictions: [], model_version: '1' });
  });
});
