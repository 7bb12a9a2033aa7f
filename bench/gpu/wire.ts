// The binary tensor extension as the GPU benchmark speaks it (docs/protocol.md): FP32 rows out as
// raw bytes after the JSON header, the named FP32 outputs back as raw bytes too, so neither side
// spends its time in JSON number text.

export type FloatOutputs = Record<string, Float32Array>;

export function encodeBinaryRequest(input: string, shape: readonly number[], data: Float32Array, outputs: readonly string[]): { body: Buffer; headerLength: number } {
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: input, datatype: 'FP32', shape, parameters: { binary_data_size: data.byteLength } }],
      outputs: outputs.map((name) => ({ name, parameters: { binary_data: true } })),
    }),
  );
  return { body: Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]), headerLength: header.length };
}

/** The binary outputs of an answer whose JSON part is `answer.headerLength` bytes long. */
export function decodeBinaryAnswer(answer: Buffer & { headerLength?: number }): FloatOutputs {
  const n = answer.headerLength;
  if (n === undefined || !Number.isInteger(n)) throw new Error('answer has no Inference-Header-Content-Length');
  const json = JSON.parse(answer.toString('utf8', 0, n)) as { outputs: { name: string; datatype: string; parameters?: { binary_data_size?: number } }[] };
  const out: FloatOutputs = {};
  let at = n;
  for (const o of json.outputs) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) continue;
    if (o.datatype === 'FP32') out[o.name] = new Float32Array(answer.buffer.slice(answer.byteOffset + at, answer.byteOffset + at + size));
    at += size;
  }
  return out;
}
