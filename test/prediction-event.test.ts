// The prediction events observers get (src/dataplane/prediction-event.ts): copies, never views on
// a request's buffers; the drift monitor's tracked input whole and unredacted, shared with the
// sampled inputs' copy only when that copy holds exactly the same values.
import { describe, expect, it } from 'vitest';

import { primaryEvent, shadowEvent, type EventPolicy } from '../src/dataplane/prediction-event.js';
import { newTrace, type RequestTrace } from '../src/dataplane/trace.js';
import type { Tensor } from '../src/types.js';

const FACTS = { model: 'digits', modelKnown: true, status: 200, code: 'OK', nowUs: 1_500, timeMs: 1_700_000_000_000, predicted: [3] };

function pixels(n = 8): Tensor {
  // A view into a bigger buffer, as a decoded request body's tensor is.
  const body = new Float32Array(n + 4).map((_, i) => i);
  return { name: 'pixels', datatype: 'FP32', shape: [1, n], data: body.subarray(2, 2 + n) };
}

function trace(inputs: Tensor[]): RequestTrace {
  const t = newTrace('http_json', 1_000, 'POST /v2/models/digits/infer');
  t.id = 'req-1';
  t.served = { version: 1, sha256: 'a'.repeat(64) };
  t.rows = 1;
  t.inputs = inputs;
  t.outcome = { outputs: [{ name: 'label', datatype: 'INT64', shape: [1], data: BigInt64Array.from([3n]) }], batchId: 4, batchRows: 2, queueUs: 10, computeUs: 20 };
  return t;
}

const policy = (over: Partial<EventPolicy> = {}): EventPolicy => ({ inputSampleRate: 1, redact: [], maxValues: 1024, trackInput: 'pixels', ...over });

describe('prediction events', () => {
  it('copy inputs and outputs (no view on the request), and share one copy for the sampled and the tracked input', () => {
    const input = pixels();
    const e = primaryEvent(trace([input]), FACTS, policy());
    expect(Array.from(e.inputs![0]!.data as Float32Array)).toEqual(Array.from(input.data as Float32Array));
    expect(e.inputs![0]!.data.buffer).not.toBe(input.data.buffer);
    expect(e.tracked).toBe(e.inputs![0]);
    expect(e.outputs[0]!.data).toEqual(BigInt64Array.from([3n]));
    expect(e).toMatchObject({ id: 'req-1', version: 1, batchId: 4, batchRows: 2, shadow: false, clientId: undefined, primaryId: undefined });
  });

  it('track the whole, true values when the logged copy is truncated or has redacted columns', () => {
    const input = pixels(8);
    const truncated = primaryEvent(trace([input]), FACTS, policy({ maxValues: 3 }));
    expect(truncated.inputs![0]).toMatchObject({ truncated: true });
    expect(truncated.inputs![0]!.data).toHaveLength(3);
    expect(Array.from(truncated.tracked!.data as Float32Array)).toEqual(Array.from(input.data as Float32Array));

    const redacted = primaryEvent(trace([input]), FACTS, policy({ redactColumns: new Map([['pixels', [1]]]) }));
    expect(redacted.inputs![0]!.nullColumns).toEqual([1]);
    expect(redacted.inputs![0]!.data[1]).toBe(0);
    expect(redacted.tracked).not.toBe(redacted.inputs![0]);
    expect(Array.from(redacted.tracked!.data as Float32Array)).toEqual(Array.from(input.data as Float32Array));

    const dropped = primaryEvent(trace([input]), FACTS, policy({ redact: ['pixels'] }));
    expect(dropped.inputs).toEqual([]);
    expect(Array.from(dropped.tracked!.data as Float32Array)).toEqual(Array.from(input.data as Float32Array));
  });

  it('leave inputs out when not sampled, and tensors out of refusals', () => {
    const unsampled = primaryEvent(trace([pixels()]), FACTS, policy({ inputSampleRate: 0 }));
    expect(unsampled.inputs).toBeUndefined();
    expect(unsampled.tracked?.data).toHaveLength(8);
    const refused = primaryEvent(trace([pixels()]), { ...FACTS, status: 429, code: 'SLUICE_ERR_QUEUE_FULL' }, policy());
    expect(refused.outputs).toEqual([]);
    expect(refused.tracked).toBeUndefined();
  });

  it("copy for 'tracked' observers only the tracked input and, with it, the outputs; for 'none' nothing", () => {
    const tracked = primaryEvent(trace([pixels()]), FACTS, policy(), 'tracked');
    expect(tracked.inputs).toBeUndefined(); // sampled, but no observer logs inputs
    expect(tracked.tracked?.data).toHaveLength(8);
    expect(tracked.outputs[0]!.data).toEqual(BigInt64Array.from([3n]));
    const untracked = primaryEvent(trace([pixels()]), FACTS, policy({ trackInput: undefined }), 'tracked');
    expect(untracked.tracked).toBeUndefined();
    expect(untracked.outputs).toEqual([]);
    expect(untracked.predicted).toEqual(FACTS.predicted); // the label join still has its answer
    const none = primaryEvent(trace([pixels()]), FACTS, policy(), 'none');
    expect([none.inputs, none.tracked, none.outputs]).toEqual([undefined, undefined, []]);
  });

  it('give a shadow answer the primary id, and the same sharing rule', () => {
    const input = pixels();
    const facts = { model: 'digits', version: 2, sha256: 'b'.repeat(64), primaryId: 'req-1', protocol: 'http_json' as const, target: 'POST /x', rows: 1, timeMs: 1, predicted: [7] };
    const outcome = { outputs: [{ name: 'label', datatype: 'INT64' as const, shape: [1], data: BigInt64Array.from([5n]) }], batchId: 9, batchRows: 1, queueUs: 1, computeUs: 2 };
    const e = shadowEvent(facts, [input], outcome, policy());
    expect(e).toMatchObject({ shadow: true, id: 'req-1', primaryId: 'req-1', version: 2 });
    expect(e.tracked).toBe(e.inputs![0]);
    expect(e.inputs![0]!.data.buffer).not.toBe(input.data.buffer);
  });
});
