// Requests in the binary tensor data extension of the Open Inference Protocol (Triton's).
//
// Wire form: the first `Inference-Header-Content-Length` bytes of the body are the JSON inference
// request; every input whose `parameters.binary_data_size` is set has no `data` there, and its
// raw bytes follow the header, in the order the inputs appear in the header (little-endian,
// row-major, no padding; BOOL one byte 0/1). Inputs without binary_data_size carry JSON `data`.
// Raw form (`Inference-Header-Content-Length: 0`): the whole body is the bytes of the model's
// single input; its batch dim (when the model batches) is 1 and at most one other dim may be -1, which
// the byte count then determines. All outputs are then answered as binary, as Triton does.
//
// Contract: the result is an OIP request object for the model's compiled validator, with each
// binary input's `data` a typed array of its declared datatype that owns its ArrayBuffer exactly
// (never a view into `body`: batch buffers are transferred to workers). The header gets the same
// hardening as a JSON body (parseJsonBody). Everything the validator checks (names, datatypes
// against the model, shapes, batch) is left to it; this module checks only what it must to cut
// the bytes: the header length, both-or-neither of data and binary_data_size, each size against
// shape x element size (when the datatype and shape are usable), and that the sizes add up to
// exactly the bytes after the header.
//
// Perf: one memcpy per binary input (fromLittleEndian); no per-element work here.

import { SluiceError } from '../errors.js';
import { batchDimOf, type TensorSpec } from '../types.js';
import { fromLittleEndian, isDataType, LAYOUT } from '../util/dtype-layout.js';
import { parseJsonBody, type ParseJsonOptions } from './json-body.js';

/** What the raw form needs to know about the model. */
export interface BinaryRequestSignature {
  inputs: readonly TensorSpec[];
  /** 0: the model does not batch, its shapes are full shapes (no batch dim to set to 1). */
  maxBatchSize: number;
}

/**
 * Decodes a binary-extension body. `headerLength` is the parsed Inference-Header-Content-Length
 * (the transport passes NaN when the header is not a decimal integer); `sig` is required for the
 * raw form (headerLength 0). Throws SluiceError: SLUICE_ERR_BINARY_HEADER_LENGTH, the
 * SLUICE_ERR_JSON_* codes of the header, SLUICE_ERR_REQUEST_INVALID (inputs not an array of
 * objects), SLUICE_ERR_BINARY_INPUT_DATA, _BINARY_DATA_SIZE, _BINARY_DATA_LENGTH,
 * _BINARY_RAW_UNSUPPORTED.
 */
export function decodeBinaryRequest(
  body: Uint8Array,
  headerLength: number,
  sig?: BinaryRequestSignature,
  opts?: ParseJsonOptions,
): Record<string, unknown> {
  if (!Number.isSafeInteger(headerLength) || headerLength < 0 || headerLength > body.length) {
    throw new SluiceError('SLUICE_ERR_BINARY_HEADER_LENGTH', 'Inference-Header-Content-Length must be an integer from 0 to the body length', {
      details: [`Inference-Header-Content-Length: got ${String(headerLength).slice(0, 32)} for a body of ${body.length} bytes`],
    });
  }
  if (headerLength === 0) return decodeRaw(body, sig);

  const req = parseJsonBody(body.subarray(0, headerLength), opts);
  const inputs = req.inputs;
  if (!Array.isArray(inputs)) throw requestInvalid('/inputs: must be array');
  let at = headerLength;
  for (let i = 0; i < inputs.length; i++) {
    const input: unknown = inputs[i];
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw requestInvalid(`/inputs/${i}: must be object`);
    const t = input as Record<string, unknown>;
    const params = t.parameters;
    const size = typeof params === 'object' && params !== null ? (params as Record<string, unknown>).binary_data_size : undefined;
    const hasData = Object.hasOwn(t, 'data');
    if (size === undefined) {
      if (!hasData) {
        throw fail('SLUICE_ERR_BINARY_INPUT_DATA', 'an input has neither data nor parameters.binary_data_size',
          `/inputs/${i}: no data and no parameters.binary_data_size`);
      }
      continue;
    }
    if (hasData) {
      throw fail('SLUICE_ERR_BINARY_INPUT_DATA', 'an input has both data and parameters.binary_data_size',
        `/inputs/${i}: data and parameters.binary_data_size are exclusive`);
    }
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw fail('SLUICE_ERR_BINARY_DATA_SIZE', 'binary_data_size must be a non-negative integer',
        `/inputs/${i}/parameters/binary_data_size: expected a non-negative integer, got ${JSON.stringify(size)?.slice(0, 32)}`);
    }
    if (size > body.length - at) {
      throw fail('SLUICE_ERR_BINARY_DATA_LENGTH', 'the body ends before the binary data does',
        `/inputs/${i}/parameters/binary_data_size: ${size} bytes, but only ${body.length - at} remain after byte ${at}`);
    }
    const bytes = body.subarray(at, at + size);
    const { datatype, shape } = t;
    const count = isDataType(datatype) ? elementCountOf(shape) : undefined;
    if (isDataType(datatype) && count !== undefined) {
      const want = count * LAYOUT[datatype].bytes;
      if (size !== want) {
        throw fail('SLUICE_ERR_BINARY_DATA_SIZE', 'binary_data_size does not match the shape and datatype',
          `/inputs/${i}/parameters/binary_data_size: shape [${(shape as number[]).join(',')}] of ${datatype} is ${want} bytes, got ${size}`);
      }
      t.data = fromLittleEndian(datatype, bytes);
    } else {
      // Unusable datatype or shape: the validator refuses the input; still never keep a view.
      t.data = Uint8Array.prototype.slice.call(bytes);
    }
    at += size;
  }
  if (at !== body.length) {
    throw fail('SLUICE_ERR_BINARY_DATA_LENGTH', 'bytes left over after the binary inputs',
      `(body): ${body.length - at} bytes after the last binary input (header ${headerLength} bytes, binary ${at - headerLength} bytes declared)`);
  }
  return req;
}

/** The raw single-input form: the whole body is the model's only input. */
function decodeRaw(body: Uint8Array, sig: BinaryRequestSignature | undefined): Record<string, unknown> {
  if (sig === undefined) throw new SluiceError('SLUICE_ERR_SERVER_INTERNAL', 'raw binary request decoded without the model signature');
  const spec = sig.inputs[0];
  if (sig.inputs.length !== 1 || spec === undefined) {
    throw fail('SLUICE_ERR_BINARY_RAW_UNSUPPORTED', 'a raw binary body (Inference-Header-Content-Length: 0) needs a model with exactly one input',
      `(body): the model has ${sig.inputs.length} inputs`);
  }
  if (body.length === 0) {
    throw fail('SLUICE_ERR_BINARY_DATA_LENGTH', 'the raw binary body is empty', '(body): 0 bytes');
  }
  const size = LAYOUT[spec.datatype].bytes;
  const batchDim = sig.maxBatchSize > 0 ? batchDimOf(spec) : null;
  const shape = spec.shape.map((d, i) => (i === batchDim ? 1 : d));
  const variable = shape.flatMap((d, i) => (d === -1 ? [i] : []));
  if (variable.length > 1) {
    throw fail('SLUICE_ERR_BINARY_RAW_UNSUPPORTED', 'the input shape cannot be deduced from a raw binary body',
      `(body): input ${JSON.stringify(spec.name)} has ${variable.length} variable dims besides the batch dim [${spec.shape.join(',')}]`);
  }
  let fixedBytes = size;
  for (const d of shape) if (d !== -1) fixedBytes *= d;
  const v = variable[0];
  if (v === undefined ? body.length !== fixedBytes : fixedBytes === 0 || body.length % fixedBytes !== 0) {
    throw fail('SLUICE_ERR_BINARY_DATA_LENGTH', 'the raw binary body does not fit the input shape',
      `(body): ${body.length} bytes is not ${v === undefined ? '' : 'a multiple of '}${fixedBytes} (input ${JSON.stringify(spec.name)} [${spec.shape.join(',')}] ${spec.datatype}, batch 1)`);
  }
  if (v !== undefined) shape[v] = body.length / fixedBytes;
  return {
    inputs: [{ name: spec.name, shape, datatype: spec.datatype, data: fromLittleEndian(spec.datatype, body), parameters: { binary_data_size: body.length } }],
    parameters: { binary_data_output: true },
  };
}

/** product(shape) when shape is an array of non-negative safe integers, else undefined. */
function elementCountOf(shape: unknown): number | undefined {
  if (!Array.isArray(shape)) return undefined;
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return undefined;
    n *= d;
  }
  return Number.isSafeInteger(n) ? n : undefined;
}

function fail(code: 'SLUICE_ERR_BINARY_INPUT_DATA' | 'SLUICE_ERR_BINARY_DATA_SIZE' | 'SLUICE_ERR_BINARY_DATA_LENGTH' | 'SLUICE_ERR_BINARY_RAW_UNSUPPORTED', message: string, detail: string): SluiceError {
  return new SluiceError(code, message, { details: [detail] });
}

function requestInvalid(detail: string): SluiceError {
  return new SluiceError('SLUICE_ERR_REQUEST_INVALID', `invalid inference request: ${detail}`, { details: [detail] });
}
