// The executor of one version decides where each batch runs: inline on the main thread only while
// its runner is free, the batch fits the runner's maxRows and the pool is idle; in a worker
// otherwise. Fake pool and runner: no threads, no ONNX.
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../src/errors.js';
import { VersionExecutor, type ExecutorPool } from '../src/inference/executor.js';
import type { InlineRunner } from '../src/inference/inline.js';
import type { SessionSpec } from '../src/inference/messages.js';
import type { Tensor } from '../src/types.js';

const spec: SessionSpec = { key: 'm@1#abc', modelPath: '/m.onnx', device: 'cpu', intraOpThreads: 1, allowSpinning: false };
const out = (tag: string): Tensor[] => [{ name: tag, datatype: 'FP32', shape: [1], data: new Float32Array(1) }];
const batch = (rows: number): Tensor[] => [{ name: 'x', datatype: 'FP32', shape: [rows, 2], data: new Float32Array(rows * 2) }];

function fakePool(opts: { idle?: boolean } = {}) {
  const calls = { run: [] as { inputs: Tensor[]; outputNames: string[]; notAfterEpochMs: number | undefined }[], unload: [] as string[] };
  let idle = opts.idle ?? true;
  const pool: ExecutorPool = {
    threads: 3,
    hasIdleWorker: () => true,
    canQueueBatch: () => true,
    isIdle: () => idle,
    onIdle: () => () => {},
    run: async (s, inputs, outputNames, notAfterEpochMs) => {
      expect(s).toBe(spec);
      calls.run.push({ inputs, outputNames, notAfterEpochMs });
      return out('worker');
    },
    unload: async (key) => {
      calls.unload.push(key);
    },
  };
  return { pool, calls, setIdle: (v: boolean) => (idle = v) };
}

function fakeRunner(maxRows: number, result: () => Promise<Tensor[]> = async () => out('inline')) {
  const runner = {
    maxRows,
    batch1Us: 42,
    busy: false,
    runs: 0,
    released: 0,
    run: async (_inputs: Tensor[], _names: string[]) => {
      runner.runs++;
      runner.busy = true;
      try {
        return await result();
      } finally {
        runner.busy = false;
      }
    },
    release: async () => {
      runner.released++;
    },
  };
  return runner satisfies InlineRunner;
}

describe('VersionExecutor', () => {
  it('runs a batch inline when the runner is free, the batch fits maxRows and the pool is idle', async () => {
    const { pool, calls } = fakePool();
    const runner = fakeRunner(4);
    const ex = new VersionExecutor(pool, spec, ['y'], runner);
    const r = ex.run(batch(4), 4, 123);
    expect(r.where).toBe('inline');
    expect(await r.outputs).toEqual(out('inline'));
    expect(calls.run).toHaveLength(0);
    expect(ex.inline).toEqual({ maxRows: 4, batch1Us: 42 });
    expect(ex.parallelism).toBe(3);
  });

  it('sends the batch to a worker, with its deadline, when it is larger than maxRows', async () => {
    const { pool, calls } = fakePool();
    const ex = new VersionExecutor(pool, spec, ['y'], fakeRunner(4));
    const r = ex.run(batch(5), 5, 123);
    expect(r.where).toBe('worker');
    expect(await r.outputs).toEqual(out('worker'));
    expect(calls.run).toEqual([{ inputs: batch(5), outputNames: ['y'], notAfterEpochMs: 123 }]);
  });

  it('sends the batch to a worker while the pool holds any batch', async () => {
    const { pool, calls, setIdle } = fakePool({ idle: false });
    const runner = fakeRunner(4);
    const ex = new VersionExecutor(pool, spec, ['y'], runner);
    expect(ex.run(batch(1), 1, undefined).where).toBe('worker');
    setIdle(true);
    expect(ex.run(batch(1), 1, undefined).where).toBe('inline');
    expect(calls.run.map((c) => c.notAfterEpochMs)).toEqual([undefined]);
    expect(runner.runs).toBe(1);
  });

  it('runs one inline batch at a time: the next goes to a worker until the runner is free', async () => {
    const { pool } = fakePool();
    let finish!: (t: Tensor[]) => void;
    const runner = fakeRunner(4, () => new Promise<Tensor[]>((r) => (finish = r)));
    const ex = new VersionExecutor(pool, spec, ['y'], runner);
    const first = ex.run(batch(1), 1, undefined);
    expect(first.where).toBe('inline');
    expect(ex.run(batch(1), 1, undefined).where).toBe('worker');
    finish(out('inline'));
    await first.outputs;
    expect(ex.run(batch(1), 1, undefined).where).toBe('inline');
  });

  it('without a runner every batch goes to a worker', () => {
    const { pool } = fakePool();
    const ex = new VersionExecutor(pool, spec, ['y'], undefined);
    expect(ex.run(batch(1), 1, undefined).where).toBe('worker');
    expect(ex.inline).toEqual({ maxRows: 0, batch1Us: 0 });
  });

  it('an inline failure rejects with the runner error, unchanged, and says where it ran', async () => {
    const { pool } = fakePool();
    const err = new SluiceError('SLUICE_ERR_INPUT_REJECTED', 'the model refused the input: no');
    const ex = new VersionExecutor(pool, spec, ['y'], fakeRunner(4, async () => Promise.reject(err)));
    const r = ex.run(batch(1), 1, undefined);
    expect(r.where).toBe('inline');
    await expect(r.outputs).rejects.toBe(err);
  });

  it('release() unloads the version from the pool and releases the inline session', async () => {
    const { pool, calls } = fakePool();
    const runner = fakeRunner(4);
    await new VersionExecutor(pool, spec, ['y'], runner).release();
    expect(calls.unload).toEqual([spec.key]);
    expect(runner.released).toBe(1);
  });
});
