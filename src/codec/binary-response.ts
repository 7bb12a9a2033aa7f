// Responses in the binary tensor data extension of the Open Inference Protocol (Triton's):
// a JSON header, exactly the JSON response except that each binary output carries
// `"parameters":{"binary_data_size":<bytes>}` instead of `data`, followed by the raw bytes of the
// binary outputs in the header's output order (little-endian, row-major, no padding; BOOL one
// byte 0/1). The transport sends `Inference-Header-Content-Length: <headerLength>` and
// `Content-Type: application/octet-stream`.
//
// Perf: the header reuses the JSON encoder's fragments (built once per model version); the body is
// one allocation and one memcpy per binary output. When no sent output is binary the body is the
// JSON encoder's text byte for byte, and headerLength equals body.length.

import { SluiceError } from '../errors.js';
import type { Tensor, TensorSpec } from '../types.js';
import { toLittleEndian } from '../util/dtype-layout.js';
import { createResponseEncoder, jsonOutputFragments, jsonResponseHead, type OutputFragment } from './json-response.js';
import { dataText, sentOutput } from './response-parts.js';

export interface BinaryResponse {
  /** JSON header followed by the binary outputs' bytes. */
  body: Buffer;
  /** Bytes of the JSON header (the Inference-Header-Content-Length value); body.length when nothing is binary. */
  headerLength: number;
}

/**
 * Encodes one response. `binaryOutputs` (DecodedInfer.binaryOutputs) names the outputs sent as
 * binary ('all', a set of names, or undefined for none); `outputs`, `requested` and `parameters`
 * are as for the JSON ResponseEncoder, and output order is the model's declared order.
 * Throws SLUICE_ERR_SERVER_INTERNAL when a tensor is missing or disagrees with its declaration.
 */
export type BinaryResponseEncoder = (
  id: string,
  outputs: Tensor[],
  binaryOutputs: ReadonlySet<string> | 'all' | undefined,
  requested?: readonly string[],
  parameters?: Record<string, unknown>,
) => BinaryResponse;

export function createBinaryResponseEncoder(modelName: string, version: number, outputSpecs: TensorSpec[]): BinaryResponseEncoder {
  const jsonEncode = createResponseEncoder(modelName, version, outputSpecs);
  const head = jsonResponseHead(modelName, version);
  const fragments = jsonOutputFragments(outputSpecs);

  return function encodeBinaryResponse(id, outputs, binaryOutputs, requested, parameters) {
    const sent: { f: OutputFragment; t: Tensor; binary: boolean }[] = [];
    let anyBinary = false;
    for (let k = 0; k < fragments.length; k++) {
      const f = fragments[k] as OutputFragment;
      if (requested !== undefined && !requested.includes(f.name)) continue;
      const binary = binaryOutputs === 'all' || (binaryOutputs !== undefined && binaryOutputs.has(f.name));
      sent.push({ f, t: sentOutput(outputs, k, f), binary });
      anyBinary ||= binary;
    }
    if (!anyBinary) {
      const body = Buffer.from(jsonEncode(id, outputs, requested, parameters), 'utf8');
      return { body, headerLength: body.length };
    }

    let json = head + JSON.stringify(id);
    if (parameters !== undefined) json += `,"parameters":${JSON.stringify(parameters)}`;
    json += ',"outputs":[';
    let rawBytes = 0;
    for (let i = 0; i < sent.length; i++) {
      const { f, t, binary } = sent[i] as (typeof sent)[number];
      const tail = binary ? `"parameters":{"binary_data_size":${t.data.byteLength}}` : `"data":[${dataText(t)}]`;
      json += `${i === 0 ? '' : ','}${f.open}${t.shape.join(',')}],${tail}}`;
      if (binary) rawBytes += t.data.byteLength;
    }
    json += ']}';

    const headerLength = Buffer.byteLength(json, 'utf8');
    const body = Buffer.allocUnsafe(headerLength + rawBytes);
    body.write(json, 0, 'utf8');
    let at = headerLength;
    for (const { t, binary } of sent) {
      if (!binary) continue;
      if (t.datatype === 'BOOL') {
        const d = t.data as Uint8Array;
        for (let i = 0; i < d.length; i++) body[at + i] = d[i] ? 1 : 0;
      } else {
        body.set(toLittleEndian(t.datatype, t.data), at);
      }
      at += t.data.byteLength;
    }
    if (at !== body.length) throw new SluiceError('SLUICE_ERR_SERVER_INTERNAL', 'binary response size mismatch');
    return { body, headerLength };
  };
}
