// Validation of a parsed Open Inference Protocol request against one model version's signature,
// producing typed tensors.
//
// Contract: compileRequestValidator runs once per model version at load (it throws
// SLUICE_ERR_MODEL_CONFIG_INVALID for a signature it cannot serve); the function it returns is
// pure, keeps no state between calls and either returns a DecodedInfer or throws a SluiceError
// whose details name JSON paths. Its input must come from parseJsonBody (or a decoder with the
// same guarantees: no forbidden keys, bounded depth).
//
// Check order (each phase runs over every input, in request order, before the next phase, so the
// error a request gets does not depend on where in the body the fault sits):
//   1 envelope (ajv)            SLUICE_ERR_REQUEST_INVALID
//   2 names                     SLUICE_ERR_INPUT_UNKNOWN, _INPUT_DUPLICATE, then _INPUT_MISSING
//   3 datatypes                 SLUICE_ERR_INPUT_DATATYPE
//   4 shapes                    SLUICE_ERR_INPUT_SHAPE
//   5 batch dim                 SLUICE_ERR_BATCH_EMPTY, _BATCH_TOO_LARGE, then _BATCH_MISMATCH
//   6 data                      SLUICE_ERR_INPUT_DATA_LENGTH, _NON_FINITE, _DATA_TYPE, _OUT_OF_RANGE
//   7 requested outputs         SLUICE_ERR_OUTPUT_UNKNOWN, then _PARAMETER_INVALID (binary_data)
//   8 parameters                SLUICE_ERR_PARAMETER_INVALID (timeout_ms, binary_data_output)
//
// `data` may be a JSON array or, from a binary decoder, a typed array (tensor-data.ts). The
// binary tensor extension's output flags (per-output `parameters.binary_data`, request-level
// `parameters.binary_data_output`, the former overriding the latter) are resolved here into
// DecodedInfer.binaryOutputs; requests without them allocate nothing for it.

import { SluiceError, type ErrorCode } from '../errors.js';
import { batchDimOf, type Tensor, type TensorSpec } from '../types.js';
import { envelopeError, envelopeValidator, type Envelope, type EnvelopeInput } from './envelope.js';
import { decodeTensorData } from './tensor-data.js';
import { checkSignature } from './signature.js';

export interface ModelSignature {
  name: string;
  /** Declared inputs, full shapes; each input's batch dim per batchDimOf (ignored when maxBatchSize is 0). */
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Largest batch a request may carry; 0: the model does not batch and every request is one row. */
  maxBatchSize: number;
}

/** A validated request. Tensors are in the model's declared input order, whatever the request's. */
export interface DecodedInfer {
  id?: string;
  inputs: Tensor[];
  /** Requested output names, de-duplicated, request order; undefined (also for []) means all. */
  outputs?: string[];
  /** The batch dim's size, shared by every batched input; 1 for a model that does not batch. */
  rows: number;
  /** The request's top-level parameters, as sent. */
  parameters?: Record<string, unknown>;
  /** parameters.timeout_ms when given: positive, finite, at most MAX_TIMEOUT_MS. */
  timeoutMs?: number;
  /**
   * Outputs to answer as binary tensor data (binary tensor extension): 'all', or the declared
   * output names whose effective flag is true; undefined when none (answer plain JSON).
   */
  binaryOutputs?: ReadonlySet<string> | 'all';
}

export type RequestValidator = (body: Record<string, unknown>) => DecodedInfer;

export const MAX_TIMEOUT_MS = 600_000;

interface InputPlan {
  spec: TensorSpec;
  /** Index in the model's declared inputs. */
  slot: number;
}

/** Compiles the validator of one model version. Throws SLUICE_ERR_MODEL_CONFIG_INVALID. */
export function compileRequestValidator(sig: ModelSignature): RequestValidator {
  checkSignature(sig);
  const plans = new Map<string, InputPlan>(sig.inputs.map((spec, slot) => [spec.name, { spec, slot }]));
  const outputNames = new Set(sig.outputs.map((o) => o.name));
  const declaredOutputs = sig.outputs.map((o) => o.name);
  const declaredInputs = sig.inputs.slice(0, 10).map((s) => s.name).join(', ') + (sig.inputs.length > 10 ? ', …' : '');
  const { maxBatchSize } = sig;
  /** batchDims[slot]: the input's batch dim, or null (unbatched, or the model does not batch). */
  const batchDims = sig.inputs.map((s) => (maxBatchSize > 0 ? batchDimOf(s) : null));
  const model = quote(sig.name);
  const validEnvelope = envelopeValidator();

  return function validateRequest(body: Record<string, unknown>): DecodedInfer {
    if (!validEnvelope(body)) throw envelopeError(validEnvelope.errors);
    const req = body as unknown as Envelope;
    const given = req.inputs;

    // 2. names. slotOf[i] = declared slot of request input i; seen[slot] = request index + 1.
    const slotOf = new Array<number>(given.length);
    const seen = new Array<number>(sig.inputs.length).fill(0);
    for (let i = 0; i < given.length; i++) {
      const name = (given[i] as EnvelopeInput).name;
      const plan = plans.get(name);
      if (plan === undefined) {
        throw fail('SLUICE_ERR_INPUT_UNKNOWN', `unknown input ${quote(name)} for model ${model}`,
          `/inputs/${i}/name: ${quote(name)} is not an input of model ${model} (inputs: ${declaredInputs})`);
      }
      const prev = seen[plan.slot] ?? 0;
      if (prev !== 0) {
        throw fail('SLUICE_ERR_INPUT_DUPLICATE', `input ${quote(name)} given twice`,
          `/inputs/${i}/name: ${quote(name)} already given at /inputs/${prev - 1}`);
      }
      seen[plan.slot] = i + 1;
      slotOf[i] = plan.slot;
    }
    if (given.length !== sig.inputs.length) {
      const missing = sig.inputs.filter((_s, slot) => seen[slot] === 0).map((s) => s.name);
      throw new SluiceError('SLUICE_ERR_INPUT_MISSING', `missing input${missing.length === 1 ? '' : 's'} ${missing.map(quote).join(', ')}`, {
        details: missing.map((n) => `/inputs: declared input ${quote(n)} is missing`),
      });
    }

    // 3. datatypes
    for (let i = 0; i < given.length; i++) {
      const g = given[i] as EnvelopeInput;
      const spec = specAt(sig, slotOf[i]);
      if (g.datatype !== spec.datatype) {
        throw fail('SLUICE_ERR_INPUT_DATATYPE', `input ${quote(spec.name)}: datatype must be ${spec.datatype}`,
          `/inputs/${i}/datatype: expected ${spec.datatype}, got ${quote(g.datatype)}`);
      }
    }

    // 4. shapes
    for (let i = 0; i < given.length; i++) {
      checkShape((given[i] as EnvelopeInput).shape, specAt(sig, slotOf[i]), i);
    }

    // 5. batch dim: every batched input carries the same rows, 1..maxBatchSize
    for (let i = 0; i < given.length; i++) {
      const d = batchDims[slotOf[i] ?? 0];
      if (d === null || d === undefined) continue;
      const b = (given[i] as EnvelopeInput).shape[d] ?? 0;
      if (b === 0) throw fail('SLUICE_ERR_BATCH_EMPTY', 'batch dimension is 0', `/inputs/${i}/shape/${d}: batch must be at least 1`);
      if (b > maxBatchSize) {
        throw fail('SLUICE_ERR_BATCH_TOO_LARGE', `batch ${b} is over the model's maxBatchSize ${maxBatchSize}`,
          `/inputs/${i}/shape/${d}: expected at most ${maxBatchSize}, got ${b}`);
      }
    }
    let rows = 0;
    let rowsAt = '';
    for (let i = 0; i < given.length; i++) {
      const d = batchDims[slotOf[i] ?? 0];
      if (d === null || d === undefined) continue;
      const b = (given[i] as EnvelopeInput).shape[d] ?? 0;
      if (rows === 0) {
        rows = b;
        rowsAt = `/inputs/${i}/shape/${d}`;
      } else if (b !== rows) {
        throw fail('SLUICE_ERR_BATCH_MISMATCH', 'inputs disagree on the batch dimension',
          `/inputs/${i}/shape/${d}: expected ${rows} (as ${rowsAt}), got ${b}`);
      }
    }
    if (rows === 0) rows = 1; // a model that does not batch: each request is one row

    // 6. data
    const inputs = new Array<Tensor>(given.length);
    for (let i = 0; i < given.length; i++) {
      const g = given[i] as EnvelopeInput;
      const slot = slotOf[i] ?? 0;
      const spec = specAt(sig, slot);
      const data = decodeTensorData(spec.datatype, g.data, g.shape, `/inputs/${i}`);
      inputs[slot] = { name: spec.name, datatype: spec.datatype, shape: g.shape, data };
    }

    // 7. requested outputs
    let outputs: string[] | undefined;
    let binaryNamed: Map<string, boolean> | undefined;
    const asked = req.outputs;
    if (asked !== undefined && asked.length > 0) {
      outputs = [];
      for (let i = 0; i < asked.length; i++) {
        const name = (asked[i] as { name: string }).name;
        if (!outputNames.has(name)) {
          throw fail('SLUICE_ERR_OUTPUT_UNKNOWN', `unknown output ${quote(name)} for model ${model}`,
            `/outputs/${i}/name: ${quote(name)} is not an output of model ${model}`);
        }
        if (!outputs.includes(name)) outputs.push(name);
      }
      for (let i = 0; i < asked.length; i++) {
        const o = asked[i] as { name: string; parameters?: Record<string, unknown> };
        const flag = o.parameters?.binary_data;
        if (flag === undefined) continue;
        if (typeof flag !== 'boolean') {
          throw fail('SLUICE_ERR_PARAMETER_INVALID', 'parameters.binary_data must be true or false',
            `/outputs/${i}/parameters/binary_data: expected true or false, got ${jsonTypeOf(flag)}`);
        }
        (binaryNamed ??= new Map()).set(o.name, flag);
      }
    }

    // 8. parameters.timeout_ms
    let timeoutMs: number | undefined;
    const params = req.parameters;
    if (params !== undefined && params.timeout_ms !== undefined) {
      const t = params.timeout_ms;
      if (typeof t !== 'number' || !(t > 0 && t <= MAX_TIMEOUT_MS)) {
        throw fail('SLUICE_ERR_PARAMETER_INVALID', `parameters.timeout_ms must be a number in (0, ${MAX_TIMEOUT_MS}]`,
          `/parameters/timeout_ms: expected a number in (0, ${MAX_TIMEOUT_MS}], got ${typeof t === 'number' ? t : jsonTypeOf(t)}`);
      }
      timeoutMs = t;
    }
    let binaryAll = false;
    if (params !== undefined && params.binary_data_output !== undefined) {
      const b = params.binary_data_output;
      if (typeof b !== 'boolean') {
        throw fail('SLUICE_ERR_PARAMETER_INVALID', 'parameters.binary_data_output must be true or false',
          `/parameters/binary_data_output: expected true or false, got ${jsonTypeOf(b)}`);
      }
      binaryAll = b;
    }

    const decoded: DecodedInfer = { id: req.id, inputs, outputs, rows, parameters: params, timeoutMs };
    if (binaryAll || binaryNamed !== undefined) {
      const binary = binaryOutputsOf(binaryAll, binaryNamed, declaredOutputs);
      if (binary !== undefined) decoded.binaryOutputs = binary;
    }
    return decoded;
  };
}

/** Per-output binary_data overrides the request-level binary_data_output (binary tensor extension). */
function binaryOutputsOf(
  all: boolean,
  named: ReadonlyMap<string, boolean> | undefined,
  declared: readonly string[],
): ReadonlySet<string> | 'all' | undefined {
  if (named === undefined) return all ? 'all' : undefined;
  const set = new Set<string>();
  for (const name of declared) if (named.get(name) ?? all) set.add(name);
  if (set.size === 0) return undefined;
  return set.size === declared.length ? 'all' : set;
}

function checkShape(shape: number[], spec: TensorSpec, i: number): void {
  const want = spec.shape;
  if (shape.length !== want.length) {
    throw fail('SLUICE_ERR_INPUT_SHAPE', `input ${quote(spec.name)}: rank must be ${want.length}`,
      `/inputs/${i}/shape: expected rank ${want.length} [${want.join(',')}], got rank ${shape.length}`);
  }
  for (let d = 0; d < shape.length; d++) {
    const got = shape[d] as number;
    if (!Number.isSafeInteger(got) || got < 0) {
      throw fail('SLUICE_ERR_INPUT_SHAPE', `input ${quote(spec.name)}: dims must be non-negative integers`,
        `/inputs/${i}/shape/${d}: expected a non-negative integer, got ${got}`);
    }
    const w = want[d] as number;
    if (w !== -1 && got !== w) {
      throw fail('SLUICE_ERR_INPUT_SHAPE', `input ${quote(spec.name)}: shape must be [${want.join(',')}]`,
        `/inputs/${i}/shape/${d}: expected ${w}, got ${got}`);
    }
  }
}

function specAt(sig: ModelSignature, slot: number | undefined): TensorSpec {
  return sig.inputs[slot ?? 0] as TensorSpec;
}

function fail(code: ErrorCode, message: string, detail: string): SluiceError {
  return new SluiceError(code, message, { details: [detail] });
}

function jsonTypeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** Quotes a client-supplied string for a message, truncated so it cannot bloat the error body. */
function quote(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}
