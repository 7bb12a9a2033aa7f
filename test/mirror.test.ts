// mirror() (dataplane/mirror.ts) with scripted copies: what each outcome of the copy and of the
// primary reports to the sink, and that nothing the copy does reaches the primary's promise.
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../src/errors.js';
import type { BatchOutcome } from '../src/batching/batcher.js';
import { mirror, type ShadowSink } from '../src/dataplane/mirror.js';
import type { Servable } from '../src/dataplane/servable.js';
import type { InferRequest, Tensor } from '../src/types.js';

const tensor = (v: number): Tensor => ({ name: 'y', datatype: 'FP32', shape: [1, 1], data: Float32Array.of(v) });
const outcome = (v: number, queueUs: number, computeUs: number): BatchOutcome => ({ outputs: [tensor(v)], batchId: 1, batchRows: 1, queueUs, computeUs }) as BatchOutcome;

interface Deferred<T> { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void }
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** A shadow servable whose copy is the returned deferred; records what it was submitted. */
function shadow(version: number) {
  const copy = deferred<BatchOutcome>();
  const submitted: unknown[] = [];
  const servable = { model: 'm', version, batcher: { submit: (r: unknown) => (submitted.push(r), copy.promise) } } as unknown as Servable;
  return { servable, copy, submitted };
}

function sink() {
  const calls: unknown[][] = [];
  const s: ShadowSink = {
    mirrored: (...a) => calls.push(['mirrored', ...a]),
    dropped: (...a) => calls.push(['dropped', ...a]),
    answered: (m, p, sh, x) => calls.push(['answered', m, p, sh, x.primary[0]!.data[0], x.shadow[0]!.data[0], x.primaryUs, x.shadowUs]),
  };
  return { s, calls };
}

const primaryServable = { model: 'm', version: 1 } as unknown as Servable;
const request = { id: 'r', inputs: [tensor(5)], rows: 1, deadlineUs: 99, receivedUs: 1 } as unknown as InferRequest;
const settle = () => new Promise((r) => setImmediate(r));

describe('mirror', () => {
  it('submits the primary inputs at low priority; compares once both answered, in either order', async () => {
    const { s, calls } = sink();
    const a = shadow(2);
    const b = shadow(3);
    const primary = deferred<BatchOutcome>();
    const heard: number[] = [];
    mirror(s, primaryServable, [a.servable, b.servable], request, primary.promise, (sh) => heard.push(sh.version));
    expect(a.submitted).toEqual([{ inputs: request.inputs, rows: 1, deadlineUs: 99, receivedUs: 1, priority: 1 }]);
    expect(calls).toEqual([['mirrored', 'm', '1', '2'], ['mirrored', 'm', '1', '3']]);
    a.copy.resolve(outcome(7, 10, 20)); // the shadow answers before the primary
    await settle();
    expect(heard).toEqual([2]);
    expect(calls).toHaveLength(2);
    primary.resolve(outcome(5, 1, 2));
    await settle();
    expect(calls[2]).toEqual(['answered', 'm', '1', '2', 5, 7, 3, 30]);
    b.copy.resolve(outcome(6, 0, 4)); // and after it
    await settle();
    expect(calls[3]).toEqual(['answered', 'm', '1', '3', 5, 6, 3, 4]);
    expect(heard).toEqual([2, 3]);
  });

  it('a failed copy is dropped by its reason at once, whatever the primary does; an answered copy of a failed primary is not compared', async () => {
    const { s, calls } = sink();
    const full = shadow(2);
    const late = shadow(3);
    const odd = shadow(4);
    const answered = shadow(5);
    const primary = deferred<BatchOutcome>();
    mirror(s, primaryServable, [full.servable, late.servable, odd.servable, answered.servable], request, primary.promise);
    full.copy.reject(new SluiceError('SLUICE_ERR_QUEUE_FULL', 'full'));
    late.copy.reject(new SluiceError('SLUICE_ERR_DEADLINE_EXCEEDED', 'late'));
    odd.copy.reject(new Error('worker died'));
    answered.copy.resolve(outcome(1, 0, 0));
    await settle();
    expect(calls.slice(4)).toEqual([['dropped', 'm', '1', '2', 'queue_full'], ['dropped', 'm', '1', '3', 'deadline'], ['dropped', 'm', '1', '4', 'error']]);
    const failed = primary.promise.catch(() => undefined);
    primary.reject(new SluiceError('SLUICE_ERR_DEADLINE_EXCEEDED', 'primary late'));
    await failed;
    await settle();
    expect(calls).toHaveLength(7); // version 5 answered, but there is no primary answer to compare with
  });
});
