// Versions sharing one pool take turns at freed workers: the pool rotates which idle
// listener hears first, so one busy version cannot starve another.
import path from 'node:path';
import { expect, it } from 'vitest';
import type * as PoolModule from '../src/inference/pool.js';
import { MODELS, ROOT } from './helpers/gateway.js';

const { InferencePool } = (await import(path.join(ROOT, 'dist/src/inference/pool.js'))) as typeof PoolModule;

it('rotates the first idle listener after every batch', async () => {
  const pool = new InferencePool({ device: 'cpu', threads: 1, intraOpThreads: 1, allowSpinning: false });
  const spec = pool.sessionSpec('digits@1', path.join(MODELS, 'digits/1/model.onnx'));
  await pool.load(spec, []);
  const firsts: string[] = [];
  let round: string[] = [];
  for (const name of ['a', 'b', 'c']) pool.onIdle(() => round.push(name));
  for (let i = 0; i < 6; i++) {
    round = [];
    await pool.run(spec, [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: new Float32Array(64) }], ['label']);
    expect(round).toHaveLength(3);
    firsts.push(round[0]!);
  }
  expect(firsts).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  await pool.close();
});
