// Baseline: the code a Node user would write with fastify — its JSON body parser, one
// session.run per request on the main thread, the answer serialised by fastify. No batching,
// no workers, minimal validation. Started as its own process by the bench runner:
// `node naive-fastify.js PORT MODEL_NAME MODEL_PATH INPUT_NAME WIDTH`.
import Fastify from 'fastify';
import * as ort from 'onnxruntime-node';

const [portArg, modelName, modelPath, inputName, widthArg] = process.argv.slice(2);
const width = Number(widthArg);
// The same session options sluice's workers use, so only the serving architecture differs.
const session = await ort.InferenceSession.create(modelPath as string, {
  intraOpNumThreads: 1,
  extra: { session: { intra_op: { allow_spinning: '0' } } },
});

interface InferBody {
  id?: string;
  inputs: { name: string; shape: number[]; datatype: string; data: unknown[] }[];
}

const app = Fastify({ logger: false });
app.get('/v2/health/ready', async () => ({ ready: true }));
app.post<{ Body: InferBody }>('/v2/models/:model/infer', async (request) => {
  const input = request.body.inputs[0]!;
  const rows = input.shape[0]!;
  const data = Float32Array.from(input.data.flat(2) as number[]);
  const out = await session.run({ [inputName as string]: new ort.Tensor('float32', data, [rows, width]) });
  const outputs = Object.entries(out).map(([name, t]) => ({
    name,
    datatype: t.type === 'int64' ? 'INT64' : 'FP32',
    shape: t.dims,
    data: Array.from(t.data as ArrayLike<number | bigint>, Number),
  }));
  return { model_name: modelName, model_version: '1', id: request.body.id, outputs };
});
await app.listen({ host: '127.0.0.1', port: Number(portArg) });
process.stdout.write('listening\n');
