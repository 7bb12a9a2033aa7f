// JSON encoding of Open Inference Protocol inference responses.
//
// Perf (STYLE habit 8): everything that depends only on the model version — the quoted model
// name, model_version (a STRING on the wire, per OIP), and each output's name/datatype
// fragment — is built once by createResponseEncoder. Per response the encoder only
// concatenates: JSON.stringify(id), the shape digits, and the data text, one call of the native
// core's encodeData per output (src/native/: the shortest text that round-trips in the tensor's
// own type, so an FP32 0.1 is written 0.1; non-finite floats, which JSON cannot carry, as null).

import { SluiceError } from '../errors.js';
import type { Tensor, TensorSpec } from '../types.js';
import { dataText, sentOutput } from './response-parts.js';

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

export interface OutputFragment {
  name: string;
  datatype: TensorSpec['datatype'];
  /** `{"name":...,"datatype":...,"shape":[` */
  open: string;
}

/** `{"model_name":...,"model_version":"<v>","id":` — everything before the id. */
export function jsonResponseHead(modelName: string, version: number): string {
  return `{"model_name":${JSON.stringify(modelName)},"model_version":${JSON.stringify(String(version))},"id":`;
}

export function jsonOutputFragments(outputSpecs: readonly TensorSpec[]): OutputFragment[] {
  return outputSpecs.map((s) => ({
    name: s.name,
    datatype: s.datatype,
    open: `{"name":${JSON.stringify(s.name)},"datatype":${JSON.stringify(s.datatype)},"shape":[`,
  }));
}

export function createResponseEncoder(modelName: string, version: number, outputSpecs: TensorSpec[]): ResponseEncoder {
  const head = jsonResponseHead(modelName, version);
  const fragments = jsonOutputFragments(outputSpecs);

  return function encodeResponse(id, outputs, requested, parameters) {
    let json = head + JSON.stringify(id);
    if (parameters !== undefined) json += `,"parameters":${JSON.stringify(parameters)}`;
    json += ',"outputs":[';
    let first = true;
    for (let k = 0; k < fragments.length; k++) {
      const f = fragments[k] as OutputFragment;
      if (requested !== undefined && !requested.includes(f.name)) continue;
      const t = sentOutput(outputs, k, f);
      json += `${first ? '' : ','}${f.open}${t.shape.join(',')}],"data":[${dataText(t)}]}`;
      first = false;
    }
    return `${json}]}`;
  };
}

/** The error body: {"error": message, "code": ..., "details"?: [...]}. Never a stack. */
export function encodeErrorBody(err: SluiceError): string {
  return JSON.stringify(err.toWire());
}
