// JSON encoding of Open Inference Protocol inference responses.
//
// Perf (STYLE habit 8): everything that depends only on the model version — the quoted model
// name, model_version (a STRING on the wire, per OIP), and each output's name/datatype
// fragment — is built once by createResponseEncoder. Per response the encoder only
// concatenates: JSON.stringify(id), the shape digits, and the data text, which is one native
// TypedArray.prototype.join per output (V8 prints each element with the shortest round-trip
// repr of its float64 value, so an FP32 value parses back to the identical float32; a
// BigInt64Array joins as plain integer digits). Non-finite floats, which JSON cannot carry,
// are written as null like JSON.stringify does; that check is one scan of the joined text for
// 'I' or 'N' (only "Infinity" and "NaN" contain them) and the rewrite runs only when it hits.

import { SluiceError } from '../errors.js';
import type { Tensor, TensorData, TensorSpec } from '../types.js';

/**
 * Encodes one response. `outputs` are the tensors the model produced (any order; every declared
 * output that is sent must be present). `requested` filters the declared outputs (names not
 * declared are ignored: the request validator has already refused them); output order on the
 * wire is always the model's declared order. `parameters`, when given, is sent as-is.
 * Throws SLUICE_ERR_SERVER_INTERNAL when a tensor is missing or disagrees with its declaration.
 */
export type ResponseEncoder = (
  id: string,
  outputs: Tensor[],
  requested?: readonly string[],
  parameters?: Record<string, unknown>,
) => string;

interface OutputFragment {
  name: string;
  datatype: TensorSpec['datatype'];
  /** `{"name":...,"datatype":...,"shape":[` */
  open: string;
}

const NON_FINITE_TEXT = /[IN]/;

export function createResponseEncoder(modelName: string, version: number, outputSpecs: TensorSpec[]): ResponseEncoder {
  const head = `{"model_name":${JSON.stringify(modelName)},"model_version":${JSON.stringify(String(version))},"id":`;
  const fragments: OutputFragment[] = outputSpecs.map((s) => ({
    name: s.name,
    datatype: s.datatype,
    open: `{"name":${JSON.stringify(s.name)},"datatype":${JSON.stringify(s.datatype)},"shape":[`,
  }));

  return function encodeResponse(id, outputs, requested, parameters) {
    let json = head + JSON.stringify(id);
    if (parameters !== undefined) json += `,"parameters":${JSON.stringify(parameters)}`;
    json += ',"outputs":[';
    let first = true;
    for (let k = 0; k < fragments.length; k++) {
      const f = fragments[k] as OutputFragment;
      if (requested !== undefined && !requested.includes(f.name)) continue;
      const t = findOutput(outputs, k, f.name);
      if (t.datatype !== f.datatype) {
        throw new SluiceError('SLUICE_ERR_SERVER_INTERNAL', `output ${JSON.stringify(f.name)} is ${t.datatype}, declared ${f.datatype}`);
      }
      let count = 1;
      for (const d of t.shape) count *= d;
      if (count !== t.data.length) {
        throw new SluiceError('SLUICE_ERR_SERVER_INTERNAL', `output ${JSON.stringify(f.name)}: ${t.data.length} values for shape [${t.shape.join(',')}]`);
      }
      json += `${first ? '' : ','}${f.open}${t.shape.join(',')}],"data":[${dataText(t)}]}`;
      first = false;
    }
    return `${json}]}`;
  };
}

function findOutput(outputs: Tensor[], k: number, name: string): Tensor {
  const guess = outputs[k]; // the runtime normally returns outputs in declared order
  if (guess !== undefined && guess.name === name) return guess;
  const found = outputs.find((o) => o.name === name);
  if (found === undefined) throw new SluiceError('SLUICE_ERR_SERVER_INTERNAL', `model produced no output ${JSON.stringify(name)}`);
  return found;
}

/** Flat row-major data as the text between the brackets. */
function dataText(t: Tensor): string {
  const d = t.data;
  if (t.datatype === 'BOOL') return boolText(d);
  // TensorData is a union of typed arrays, each with its own native join.
  const text = (d as Float64Array).join(',');
  if ((t.datatype === 'FP32' || t.datatype === 'FP64') && NON_FINITE_TEXT.test(text)) {
    return Array.from(d as Float64Array, (v) => (Number.isFinite(v) ? String(v) : 'null')).join(',');
  }
  return text;
}

function boolText(d: TensorData): string {
  let s = '';
  for (let i = 0; i < d.length; i++) s += `${i === 0 ? '' : ','}${d[i] ? 'true' : 'false'}`;
  return s;
}

/** The error body: {"error": message, "code": ..., "details"?: [...]}. Never a stack. */
export function encodeErrorBody(err: SluiceError): string {
  return JSON.stringify(err.toWire());
}
