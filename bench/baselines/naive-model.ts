// What both naive baselines share, so that they differ only in their HTTP library: the
// command line, one session with the options sluice's workers use, and one session.run per
// request with the answer built from its outputs.
// Command line: `node <baseline>.js PORT MODEL_NAME MODEL_PATH INPUT_NAME WIDTH`.
import * as ort from 'onnxruntime-node';

export interface InferBody {
  id?: string;
  inputs: { name: string; shape: number[]; datatype: string; data: unknown[] }[];
}

export interface NaiveModel {
  port: number;
  /** One session.run on the body's first input; the OIP answer object. */
  infer(body: InferBody): Promise<object>;
}

export async function openNaiveModel(): Promise<NaiveModel> {
  const [portArg, modelName, modelPath, inputName, widthArg] = process.argv.slice(2);
  const width = Number(widthArg);
  // The same session options sluice's workers use, so only the serving architecture differs.
  const session = await ort.InferenceSession.create(modelPath as string, {
    intraOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  return {
    port: Number(portArg),
    async infer(body) {
      const input = body.inputs[0]!;
      const rows = input.shape[0]!;
      const data = Float32Array.from(input.data.flat(2) as number[]);
      const out = await session.run({ [inputName as string]: new ort.Tensor('float32', data, [rows, width]) });
      const outputs = Object.entries(out).map(([name, t]) => ({
        name,
        datatype: t.type === 'int64' ? 'INT64' : 'FP32',
        shape: t.dims,
        data: Array.from(t.data as ArrayLike<number | bigint>, Number),
      }));
      return { model_name: modelName, model_version: '1', id: body.id, outputs };
    },
  };
}
