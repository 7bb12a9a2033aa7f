// Baseline: what a Node user would write with uWebSockets.js — parse the OIP JSON body and
// call session.run once per request on the main thread. No batching, no workers, minimal
// validation. Started as its own process by the bench runner:
// `node naive-uws.js PORT MODEL_NAME MODEL_PATH INPUT_NAME WIDTH`.
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';

const uws = createRequire(import.meta.url)('uWebSockets.js') as typeof import('uWebSockets.js');
const [portArg, modelName, modelPath, inputName, widthArg] = process.argv.slice(2);
const width = Number(widthArg);
// The same session options sluice's workers use, so only the serving architecture differs.
const session = await ort.InferenceSession.create(modelPath as string, {
  intraOpNumThreads: 1,
  extra: { session: { intra_op: { allow_spinning: '0' } } },
});

const app = uws.App();
app.get('/v2/health/ready', (res) => {
  res.end('{"ready":true}');
});
app.post('/v2/models/:model/infer', (res) => {
  let aborted = false;
  res.onAborted(() => (aborted = true));
  const chunks: Buffer[] = [];
  res.onData((chunk, isLast) => {
    chunks.push(Buffer.from(chunk.slice(0)));
    if (!isLast) return;
    void (async () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString());
        const input = body.inputs[0];
        const rows = input.shape[0];
        const data = Float32Array.from((input.data as unknown[]).flat(2) as number[]);
        const out = await session.run({ [inputName as string]: new ort.Tensor('float32', data, [rows, width]) });
        const outputs = Object.entries(out).map(([name, t]) => ({
          name,
          datatype: t.type === 'int64' ? 'INT64' : 'FP32',
          shape: t.dims,
          data: Array.from(t.data as ArrayLike<number | bigint>, Number),
        }));
        const json = JSON.stringify({ model_name: modelName, model_version: '1', id: body.id, outputs });
        if (!aborted) res.cork(() => res.writeHeader('content-type', 'application/json').end(json));
      } catch (err) {
        if (!aborted) res.cork(() => res.writeStatus('400 Bad Request').end(JSON.stringify({ error: String(err) })));
      }
    })();
  });
});
app.listen('127.0.0.1', Number(portArg), (token) => {
  if (!token) process.exit(1);
  process.stdout.write('listening\n');
});
