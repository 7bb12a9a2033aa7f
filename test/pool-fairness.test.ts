// Versions sharing one pool take turns at freed workers: the pool rotates which idle
// listener hears first, so one busy version cannot starve another; and every listener hears
// "primary work only" before any hears "anything", so primary batches of every version go
// before shadow batches of any.
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
  for (const name of ['a', 'b', 'c']) pool.onIdle((primaryOnly) => round.push(`${name}:${primaryOnly ? 'primary' : 'any'}`));
  for (let i = 0; i < 6; i++) {
    round = [];
    await pool.run(spec, [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: new Float32Array(64) }], ['label']);
    // Nobody took the worker: each listener heard twice, all "primary" calls first, same order.
    expect(round).toHaveLength(6);
    expect(round.slice(0, 3).every((r) => r.endsWith(':primary'))).toBe(true);
    expect(round.slice(3).map((r) => r.replace(':any', ''))).toEqual(round.slice(0, 3).map((r) => r.replace(':primary', '')));
    firsts.push(round[0]!.replace(':primary', ''));
  }
  expect(firsts).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  await pool.close();
});
