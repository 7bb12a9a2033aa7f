// What observers get (DESIGN §8): one PredictionEvent per answered request — success or
// refusal — and one per shadow answer. Built from a request's trace after its answer was
// written, with bounded copies of the tensors: an observer may keep an event as long as it likes
// (a log buffer does) without pinning a request body or a batch's output buffers (a kept small
// copy holds at most its 16 KiB block of other copies: util/copy-arena.ts).
import { cohortPoint } from '../routing/index.js';
import type { DataType, StageTimings, Tensor, TensorData } from '../types.js';
import { copyHead } from '../util/copy-arena.js';

export type { StageTimings } from '../types.js';
import type { Protocol, RequestTrace } from './trace.js';

/**
 * A tensor's first `maxValues` elements, copied into a typed array of its own (cheap to copy and
 * to post to a worker; JSON is made where it is written).
 */
export interface TensorCopy {
  readonly name: string;
  readonly datatype: DataType;
  readonly shape: readonly number[];
  readonly data: TensorData;
  /** True when the tensor had more elements than were copied. */
  readonly truncated: boolean;
  /** Redacted columns of a 2-D tensor (named features): their values are to be written as null. */
  readonly nullColumns?: readonly number[];
}

export interface PredictionEvent {
  /** Wall-clock ms when the answer was written (shadows: when the shadow answered). */
  readonly timeMs: number;
  /** The request id; for a shadow answer, the primary request's id (also `primaryId`). */
  readonly id: string | null;
  readonly shadow: boolean;
  readonly primaryId?: string;
  readonly model: string;
  /** True when `model` names a model the repository knows (metrics make series only then). */
  readonly modelKnown: boolean;
  /** The version that answered; null when none was routed (unknown model, refused early). */
  readonly version: number | null;
  readonly sha256: string | null;
  readonly protocol: Protocol;
  /** HTTP status of the answer (WebSocket: the status the same refusal has over HTTP). */
  readonly status: number;
  /** "OK" or the SLUICE_ERR_* code of the refusal. */
  readonly code: string;
  readonly clientId?: string;
  /** Method and path as the transport received them (trace.ts); shadows: the primary's. */
  readonly target: string;
  readonly batchId: number | null;
  readonly batchRows: number | null;
  /** Rows of this request; null when it was refused before decoding. */
  readonly rows: number | null;
  /**
   * The predicted class per row, from the whole answer (DataPlaneDeps.predictedLabels): what a
   * late label joins. Null for a refusal, an answer with no class decision, or an event without tensors.
   */
  readonly predicted: readonly number[] | null;
  readonly timings: StageTimings;
  readonly outputs: readonly TensorCopy[];
  /** Sampled (EventPolicy.inputSampleRate), redacted inputs; absent when not sampled. */
  readonly inputs?: readonly TensorCopy[];
  /**
   * EventPolicy.trackInput's tensor of every successful answer, whole and unredacted (up to
   * MAX_TRACKED_VALUES): what the drift monitor bins. Observers other than drift must not log it.
   */
  readonly tracked?: TensorCopy;
}

/** Most elements of a tracked input copied (a batch of 64 rows of 16k features). */
export const MAX_TRACKED_VALUES = 1 << 20;

/** Per model: what events copy. */
export interface EventPolicy {
  /** Share of requests (0..1, by a hash of the request id) whose inputs are copied. */
  readonly inputSampleRate: number;
  /** Input tensors never copied. */
  readonly redact: readonly string[];
  /** Columns (named features) of a 2-D input copied as null: tensor name → column indices. */
  readonly redactColumns?: ReadonlyMap<string, readonly number[]>;
  /** Most elements copied per tensor. */
  readonly maxValues: number;
  /** The input copied whole into every successful event's `tracked` (drift tracking). */
  readonly trackInput?: string;
}

export const DEFAULT_EVENT_POLICY: EventPolicy = Object.freeze({ inputSampleRate: 0, redact: [], maxValues: 1024 });

/** The first `maxValues` elements of `t`, copied (never a view on `t`; small copies share blocks, copy-arena.ts). */
export function copyTensor(t: Tensor, maxValues: number): TensorCopy {
  const n = Math.min(t.data.length, Math.max(0, maxValues));
  return { name: t.name, datatype: t.datatype, shape: [...t.shape], data: copyHead(t.data, n), truncated: n < t.data.length };
}

/** Is request `id` in the sampled share? Stable per id (the routing step's cohort hash). */
export function sampled(id: string, rate: number): boolean {
  return rate >= 1 || (rate > 0 && cohortPoint(id) < rate * 100); // every cohort point is below 100
}

function copyInputs(inputs: readonly Tensor[], policy: EventPolicy): TensorCopy[] {
  return inputs.filter((t) => !policy.redact.includes(t.name)).map((t) => {
    const copy = copyTensor(t, policy.maxValues);
    const columns = policy.redactColumns?.get(t.name);
    if (columns === undefined || t.shape.length !== 2) return copy;
    // The values are zeroed here too, so no copy of the event holds them.
    const width = t.shape[1]!;
    const data = copy.data;
    for (let row = 0; row * width < data.length; row++) for (const c of columns) if (row * width + c < data.length) data[row * width + c] = data instanceof BigInt64Array ? 0n : 0;
    return { ...copy, nullColumns: columns };
  });
}

export interface AnsweredFacts {
  readonly model: string;
  readonly modelKnown: boolean;
  readonly status: number;
  readonly code: string;
  readonly nowUs: number;
  readonly timeMs: number;
  readonly predicted: readonly number[] | null;
}

/**
 * Which tensors an event copies: 'all'; 'tracked', only the tracked input and, when there is one,
 * the outputs (no observer reads the tensors of other events); 'none'.
 */
export type EventTensors = 'all' | 'tracked' | 'none';

/**
 * The event of a primary request's answer (success or refusal), from its trace. `tensors` says
 * which tensors are copied (EventTensors); those not copied are absent (outputs empty).
 *
 * Every event has every field, an absent optional one undefined: one object shape for the
 * observers' reads, and no conditional spreads to build it (both cost on every answer).
 */
export function primaryEvent(trace: RequestTrace, facts: AnsweredFacts, policy: EventPolicy, tensors: EventTensors = 'all'): PredictionEvent {
  const o = trace.outcome;
  const ok = facts.code === 'OK';
  const id = trace.id ?? null;
  const inputs = tensors === 'all' && trace.inputs !== undefined && id !== null && sampled(id, policy.inputSampleRate) ? copyInputs(trace.inputs, policy) : undefined;
  const tracked = tensors !== 'none' && ok ? trackedCopy(trace.inputs, policy, inputs) : undefined;
  const withOutputs = ok && o !== undefined && (tensors === 'all' || (tensors === 'tracked' && tracked !== undefined));
  return {
    timeMs: facts.timeMs,
    id,
    shadow: false,
    model: facts.model,
    modelKnown: facts.modelKnown,
    version: trace.served?.version ?? null,
    sha256: trace.served?.sha256 ?? null,
    protocol: trace.protocol,
    status: facts.status,
    code: facts.code,
    primaryId: undefined,
    clientId: trace.clientId,
    target: trace.target,
    batchId: o?.batchId ?? null,
    batchRows: o?.batchRows ?? null,
    rows: trace.rows ?? null,
    predicted: facts.predicted,
    timings: {
      decodeUs: trace.decodeUs ?? null,
      validateUs: trace.validateUs ?? null,
      queueUs: o?.queueUs ?? null,
      computeUs: o?.computeUs ?? null,
      encodeUs: trace.encodeUs ?? null,
      totalUs: facts.nowUs - trace.receivedUs,
    },
    outputs: withOutputs ? o.outputs.map((t) => copyTensor(t, policy.maxValues)) : [],
    inputs,
    tracked,
  };
}

/**
 * The tracked input's whole copy; the sampled inputs' copy of it when that one is whole and
 * unredacted (the same values: one copy serves both).
 */
function trackedCopy(inputs: readonly Tensor[] | undefined, policy: EventPolicy, copied: readonly TensorCopy[] | undefined): TensorCopy | undefined {
  if (policy.trackInput === undefined || inputs === undefined) return undefined;
  const same = copied?.find((c) => c.name === policy.trackInput);
  if (same !== undefined && !same.truncated && same.nullColumns === undefined) return same;
  const t = inputs.find((i) => i.name === policy.trackInput);
  return t === undefined ? undefined : copyTensor(t, MAX_TRACKED_VALUES);
}

export interface ShadowFacts {
  readonly model: string;
  readonly version: number;
  readonly sha256: string;
  readonly primaryId: string;
  readonly protocol: Protocol;
  readonly clientId?: string;
  readonly target: string;
  readonly rows: number;
  readonly timeMs: number;
  readonly predicted: readonly number[] | null;
}

/** The event of a shadow's answer to a mirrored request (inputs: the primary's, sampled alike). */
export function shadowEvent(
  facts: ShadowFacts,
  inputs: readonly Tensor[],
  outcome: { outputs: Tensor[]; batchId: number; batchRows: number; queueUs: number; computeUs: number },
  policy: EventPolicy,
  withTensors = true,
): PredictionEvent {
  const copiedInputs = withTensors && sampled(facts.primaryId, policy.inputSampleRate) ? copyInputs(inputs, policy) : undefined;
  return {
    timeMs: facts.timeMs,
    id: facts.primaryId,
    shadow: true,
    primaryId: facts.primaryId,
    model: facts.model,
    modelKnown: true,
    version: facts.version,
    sha256: facts.sha256,
    protocol: facts.protocol,
    status: 200,
    code: 'OK',
    clientId: facts.clientId,
    target: facts.target,
    batchId: outcome.batchId,
    batchRows: outcome.batchRows,
    rows: facts.rows,
    predicted: facts.predicted,
    timings: { decodeUs: null, validateUs: null, queueUs: outcome.queueUs, computeUs: outcome.computeUs, encodeUs: null, totalUs: outcome.queueUs + outcome.computeUs },
    outputs: withTensors ? outcome.outputs.map((t) => copyTensor(t, policy.maxValues)) : [],
    inputs: copiedInputs,
    tracked: withTensors ? trackedCopy(inputs, policy, copiedInputs) : undefined,
  };
}
